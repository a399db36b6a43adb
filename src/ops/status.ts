// status and console: read what a driver has running (a read-only driver: nothing is written).
import { UserError } from '../diagnostics.js';
import type { DriverStatus } from '../drivers/driver.js';
import type { DriverName } from '../drivers/index.js';
import { addr } from '../plan/addrs.js';
import type { Plan } from '../plan/types.js';
import { readOnlyDriver, refresh } from './refresh.js';
import type { Session } from './session.js';

export interface StatusReport {
  cell: string;
  realm: string;
  driver: DriverName;
  serial: number;
  status: DriverStatus;
  drift: Plan; // what apply would change
}

/** undefined when nothing is applied. The drift is refreshed (what really runs) unless `refresh` is false. */
export async function status(s: Session, o: { refresh?: boolean } = {}): Promise<StatusReport | undefined> {
  try {
    const state = s.readState();
    if (!state || Object.keys(state.resources).length === 0) return undefined;
    const name = s.driverName(state);
    const driver = await readOnlyDriver(s, name, state);
    const refreshed = o.refresh === false ? undefined : await refresh(state, driver);
    return {
      cell: s.spec.cell, realm: s.spec.realm, driver: name, serial: state.serial, status: await driver.status(),
      drift: s.plan(state, { driver: name, ...(refreshed ? { refreshed } : {}) }),
    };
  } finally {
    await s.close();
  }
}

/** Each guest's boot console and kernel log (all guests when none is named). */
export async function consoles(s: Session, guest?: string): Promise<{ guest: string; text: string }[]> {
  try {
    const state = s.readState();
    if (!state) throw new UserError(`cell ${s.spec.cell} is not applied: nothing to show`);
    const guests = guest ? [guest] : Object.keys(s.spec.guests);
    for (const g of guests) {
      if (!state.resources[addr.guest(g)]) throw new UserError(`no guest '${g}' is applied in cell ${s.spec.cell}`);
    }
    const driver = await s.driver(s.driverName(state), state, { readOnly: true });
    const out: { guest: string; text: string }[] = [];
    for (const g of guests) out.push({ guest: g, text: await driver.console(g) });
    return out;
  } finally {
    await s.close();
  }
}
