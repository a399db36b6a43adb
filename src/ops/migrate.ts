// migrate: move a running guest to another host of the cell, and record where it now runs.
import { UserError } from '../diagnostics.js';
import { addr } from '../plan/addrs.js';
import type { Attrs } from '../plan/resources.js';
import type { Session } from './session.js';

export interface MigrateResult {
  from: string;
  to: string;
  outputs: Attrs | void;
  /** The cell file still names the old host: the next apply would move the guest back. */
  fileDisagrees: boolean;
}

export async function migrate(s: Session, guest: string, to: string, o: { cold?: boolean } = {}): Promise<MigrateResult> {
  if (!s.spec.hosts[to]) throw new UserError(`unknown host '${to}' (hosts: ${Object.keys(s.spec.hosts).join(', ')})`);
  s.lockState('migrate');
  try {
    const state = s.readState();
    const rec = state?.resources[addr.guest(guest)];
    if (!state || !rec || rec.type !== 'guest') throw new UserError(`guest '${guest}' is not running in cell ${s.spec.cell}`);
    const driver = await s.driver(s.driverName(state), state);
    if (o.cold && !driver.capabilities.coldMigration) throw new UserError(`--cold: the ${driver.name} driver moves guests live only (--driver xen moves them cold)`);
    const from = rec.attrs.host;
    const outputs = await driver.migrate(guest, to, o.cold ? { cold: true } : {});
    rec.attrs = { ...rec.attrs, host: to };
    // The guest now depends on its new host: destroy takes it down before that host.
    rec.deps = rec.deps.map((d) => (d === addr.host(from) ? addr.host(to) : d));
    rec.outputs = { ...(rec.outputs ?? {}), ...(outputs ?? {}) };
    state.driverData = driver.snapshot();
    s.store.write(state);
    return { from, to, outputs, fileDisagrees: s.spec.guests[guest]?.host !== to };
  } finally {
    await s.close();
  }
}
