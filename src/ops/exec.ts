// exec: a command inside a guest of an applied cell, through its driver, with the cell's client files
// set up there; --as logs in first with the password the cell's secret store holds (kinit, aklog).
import { suggest } from '../config/suggest.js';
import { UserError } from '../diagnostics.js';
import type { ExecRequest } from '../drivers/driver.js';
import { addr } from '../plan/addrs.js';
import { principalEnvName } from '../state/secrets.js';
import type { Session } from './session.js';

/** Why a driver has no exec: said instead of running anything. */
const NO_WAY_IN: Record<string, string> = {
  libvirt: 'the libvirt driver defines and starts domains and has no agent inside them; use virsh console or ssh',
};

/** A principal of the cell as its address names it: kula, kula/admin; bob@OTHER.REALM for another realm's. */
function principalName(principal: string, realm: string): string {
  return principal.endsWith(`@${realm}`) ? principal.slice(0, -realm.length - 1) : principal;
}

export async function execIn(s: Session, guest: string, argv: string[], o: Omit<ExecRequest, 'guest' | 'argv' | 'as'> & { as?: string }): Promise<number> {
  s.lockState('exec'); // the simulator's guests keep what a command changes (files, tickets, tokens)
  try {
    const state = s.readState();
    if (!state || Object.keys(state.resources).length === 0) throw new UserError(`cell ${s.spec.cell} is not applied: nothing to exec in (cellctl apply first)`);
    if (!state.resources[addr.guest(guest)]) {
      const guests = Object.keys(state.resources).filter((a) => a.startsWith('guest.')).map((a) => a.slice('guest.'.length));
      const near = suggest(guest, guests);
      throw new UserError([{ message: `no guest '${guest}' is applied in cell ${s.spec.cell}`, hint: near ? `did you mean ${near}?` : `guests: ${guests.join(', ')}` }]);
    }
    const name = s.driverName(state);
    let as: ExecRequest['as'];
    if (o.as !== undefined) {
      const p = principalName(o.as, s.spec.realm);
      if (!state.resources[addr.principal(p)]) {
        const known = Object.keys(state.resources).filter((a) => a.startsWith('principal.')).map((a) => a.slice('principal.'.length));
        const near = suggest(p, known);
        throw new UserError([{ message: `--as ${o.as}: no principal ${p} in cell ${s.spec.cell}`, hint: near ? `did you mean ${near}?` : `principals: ${known.join(', ')}` }]);
      }
      const password = process.env[principalEnvName(p)] ?? s.secrets().peek(`principal:${p}`);
      if (password === undefined) throw new UserError(`--as ${o.as}: the cell's secret store has no password for ${p} (was the cell applied with this --state-dir?)`);
      as = { principal: p, password };
    }
    const d = await s.driver(name, state);
    if (!d.exec) throw new UserError(`cellctl exec: ${NO_WAY_IN[name] ?? `the ${name} driver has no way into a guest`}`);
    const before = JSON.stringify(state.driverData ?? null);
    const status = await d.exec({ guest, argv, ...(as ? { as } : {}), stdin: o.stdin, stdout: o.stdout, stderr: o.stderr });
    const world = d.snapshot();
    if (world !== undefined && JSON.stringify(world) !== before) {
      state.driverData = world;
      s.store.write(state);
    }
    return status;
  } finally {
    await s.close();
  }
}
