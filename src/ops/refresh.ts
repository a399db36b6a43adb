// Refresh: ask the driver what is really there of every recorded resource, so plan, apply and
// status compare the cell file with the live cell, not with a record of what once ran.
import { UserError } from '../diagnostics.js';
import type { Driver } from '../drivers/driver.js';
import type { DriverName } from '../drivers/index.js';
import { asApplied } from '../engine/execute.js';
import type { Refreshed } from '../plan/diff.js';
import type { Observed, Plan } from '../plan/types.js';
import type { CellState } from '../state/types.js';
import type { Session } from './session.js';

const READS_AT_ONCE = 8; // real drivers probe daemons; a few at a time keeps a big cell's refresh short

/** What the driver found of each recorded resource; present ones are left out. */
export async function refresh(state: CellState, driver: Driver): Promise<Refreshed> {
  const found = new Map<string, Observed>();
  const entries = Object.entries(state.resources);
  for (let i = 0; i < entries.length; i += READS_AT_ONCE) {
    await Promise.all(entries.slice(i, i + READS_AT_ONCE).map(async ([address, r]) => {
      let seen: Observed;
      try {
        seen = await driver.read(asApplied(address, r));
      } catch (e) {
        seen = { state: 'unknown', reason: `could not be read: ${(e as Error).message}` };
      }
      if (seen.state !== 'present') found.set(address, seen);
    }));
  }
  return found;
}

/** Open the cell's driver read-only for a refresh; a driver that cannot open here says how to plan without it. */
export async function readOnlyDriver(s: Session, name: DriverName, state: CellState): Promise<Driver> {
  try {
    return await s.driver(name, state, { readOnly: true });
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${e.message} (to plan without looking at the live cell: --refresh=false)`);
    throw e;
  }
}

/** plan: the recorded state, refreshed unless `refresh` is false. */
export async function planNow(
  s: Session, o: { refresh: boolean; destroy?: boolean; targets?: string[] },
): Promise<{ plan: Plan; driver: DriverName; state: CellState | undefined }> {
  try {
    const state = s.readState();
    const driver = s.driverName(state);
    let refreshed: Refreshed | undefined;
    if (o.refresh && !o.destroy && state && Object.keys(state.resources).length > 0) {
      refreshed = await refresh(state, await readOnlyDriver(s, driver, state));
    }
    const p = s.plan(state, { driver, ...(o.destroy ? { destroy: true } : {}), ...(o.targets ? { targets: o.targets } : {}), ...(refreshed ? { refreshed } : {}) });
    return { plan: p, driver, state };
  } finally {
    await s.close();
  }
}
