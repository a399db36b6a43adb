// status, console, migrate: read (or, for migrate, move) what a driver has running.
import { UserError } from '../diagnostics.js';
import type { DriverStatus } from '../drivers/driver.js';
import { renderSummary } from '../render/plan.js';
import { openSession, requireArg, type Command } from '../cli/command.js';
import { out } from '../cli/output.js';

function table(rows: (string | number)[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => '  ' + r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd());
}

function renderStatus(st: DriverStatus): string[] {
  const lines = ['Hosts:', ...table([['NAME', 'MEMORY', 'USED', 'FREE'], ...st.hosts.map((h) => [h.name, h.memory, h.used, h.free])])];
  lines.push('Domains:', ...table([
    ['ID', 'NAME', 'HOST', 'STATE', 'MEM', 'VIFS'],
    ...st.domains.map((d) => [d.id ?? '-', d.name, d.host, d.state, d.memory, d.vifs.join(',')]),
  ]));
  if (st.services.length) {
    lines.push('Services:', ...table([
      ['ADDRESS', 'GUEST', 'STATE', 'PID', 'DETAIL'],
      ...st.services.map((s) => [s.address, s.guest, s.state, s.pid ?? '-', s.detail ?? '']),
    ]));
  }
  return lines;
}

export const statusCmd: Command = async (args, flags) => {
  const s = openSession(args, flags);
  try {
    const state = s.readState();
    if (!state || Object.keys(state.resources).length === 0) {
      out(flags.json ? JSON.stringify({ cell: s.spec.cell, applied: false }) : `Cell ${s.spec.cell}: nothing applied (no state in ${s.store.dir}).`);
      return 0;
    }
    const driver = await s.driver(s.driverName(state), state);
    const st = await driver.status();
    const drift = s.plan(state);
    if (flags.json) {
      out(JSON.stringify({
        cell: s.spec.cell, driver: state.driver, serial: state.serial, ...st,
        drift: drift.changes.map((c) => ({ address: c.address, action: c.action, changed: c.changed, reason: c.reason ?? null })),
      }, null, 2));
      return 0;
    }
    out(`Cell ${s.spec.cell} (realm ${s.spec.realm}), driver ${state.driver}, state serial ${state.serial}`);
    for (const l of renderStatus(st)) out(l);
    if (drift.changes.length === 0) out('Drift: none; the file matches the recorded state.');
    else {
      out('Drift between the file and the recorded state:');
      for (const c of drift.changes) out(`  ${c.action} ${c.address}${c.changed.length ? ` (${c.changed.join(', ')})` : ''}${c.reason ? `: ${c.reason}` : ''}`);
      out(`  ${renderSummary(drift)}`);
    }
    return 0;
  } finally {
    await s.close();
  }
};

export const consoleCmd: Command = async (args, flags) => {
  const s = openSession(args, flags);
  try {
    const state = s.readState();
    if (!state) throw new UserError(`cell ${s.spec.cell} is not applied: nothing to show`);
    const guests = args[1] ? [args[1]] : Object.keys(s.spec.guests);
    for (const g of guests) {
      if (!state.resources[`guest.${g}`]) throw new UserError(`no guest '${g}' is applied in cell ${s.spec.cell}`);
    }
    const driver = await s.driver(s.driverName(state), state);
    for (const g of guests) {
      if (guests.length > 1) out(`==> ${g} <==`);
      out(await driver.console(g));
    }
    return 0;
  } finally {
    await s.close();
  }
};

export const migrateCmd: Command = async (args, flags) => {
  const s = openSession(args, flags);
  const guest = requireArg(args, 1, 'guest to migrate (cellctl migrate CELL.yaml GUEST --to HOST)');
  const to = flags.to;
  if (!to) throw new UserError('missing --to HOST');
  if (!s.spec.hosts[to]) throw new UserError(`unknown host '${to}' (hosts: ${Object.keys(s.spec.hosts).join(', ')})`);
  s.lockState('migrate');
  try {
    const state = s.readState();
    const rec = state?.resources[`guest.${guest}`];
    if (!state || !rec) throw new UserError(`guest '${guest}' is not running in cell ${s.spec.cell}`);
    const driver = await s.driver(s.driverName(state), state);
    const from = rec.attrs.host as string;
    const outputs = await driver.migrate(guest, to);
    rec.attrs = { ...rec.attrs, host: to };
    rec.outputs = { ...(rec.outputs ?? {}), ...(outputs ?? {}) };
    state.driverData = driver.snapshot();
    s.store.write(state);
    out(`Migrated ${guest} from ${from} to ${to}${outputs && 'domid' in outputs ? ` (domain id ${outputs.domid})` : ''}.`);
    if (s.spec.guests[guest]?.host !== to) out(`Note: the cell file still says host: ${s.spec.guests[guest]?.host}; update it, or the next apply moves ${guest} back.`);
    return 0;
  } finally {
    await s.close();
  }
};
