// After a kill: steps a run had started but not recorded. Half-done creates are undone and
// deletes finished, so the driver's world matches the recorded resources again. An interrupted
// update is simply planned again (updates converge).
import type { Driver } from '../drivers/driver.js';
import type { CellState } from '../state/types.js';
import { asApplied } from './execute.js';

export async function recoverInterrupted(state: CellState, driver: Driver, print: (l: string) => void): Promise<number> {
  const pending = Object.entries(state.pending ?? {});
  for (const [address, p] of pending) {
    if (p.action === 'update') continue;
    try {
      await driver.delete(asApplied(address, p.resource));
      print(`${address}: cleaned up after an interrupted ${p.action}`);
    } catch {
      // The driver never got that far: nothing to undo.
    }
    if (p.action === 'delete') delete state.resources[address];
  }
  delete state.pending;
  return pending.length;
}
