// After a kill: steps a run had started but not recorded. Half-done creates are undone and
// deletes finished, so the driver's world matches the recorded resources again. An interrupted
// update is simply planned again (updates converge). A step the driver cannot undo stays pending,
// and its resource stays recorded: nothing real is ever forgotten.
import type { Driver } from '../drivers/driver.js';
import type { CellState } from '../state/types.js';
import { asApplied } from './execute.js';

export interface RecoveryResult {
  recovered: number;
  /** Pending steps the driver could not undo or finish: still pending, with the driver's error. */
  failed: { address: string; action: string; message: string }[];
}

export async function recoverInterrupted(state: CellState, driver: Driver, print: (l: string) => void): Promise<RecoveryResult> {
  const pending = state.pending ?? {};
  const out: RecoveryResult = { recovered: 0, failed: [] };
  for (const [address, p] of Object.entries(pending)) {
    if (p.action !== 'update') {
      try {
        // Drivers' deletes are idempotent: a create that never got far has nothing to undo.
        await driver.delete(asApplied(address, p.resource));
        print(`${address}: cleaned up after an interrupted ${p.action}`);
      } catch (e) {
        out.failed.push({ address, action: p.action, message: (e as Error).message });
        continue;
      }
      if (p.action === 'delete') delete state.resources[address];
    }
    delete pending[address];
    out.recovered++;
  }
  if (Object.keys(pending).length === 0) delete state.pending;
  return out;
}
