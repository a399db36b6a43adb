// `cellctl status` for people: hosts, domains, services, drift.
import type { DriverStatus } from '../drivers/driver.js';
import type { StatusReport } from '../ops/status.js';
import { renderSummary } from './plan.js';

export function table(rows: (string | number)[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => '  ' + r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd());
}

function driverLines(st: DriverStatus): string[] {
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

export function renderStatus(r: StatusReport): string[] {
  const lines = [`Cell ${r.cell} (realm ${r.realm}), driver ${r.driver}, state serial ${r.serial}`, ...driverLines(r.status)];
  const against = r.drift.refreshed ? 'the live cell' : 'the recorded state (not refreshed)';
  const unknown = r.drift.unknown ?? [];
  if (r.drift.changes.length === 0 && unknown.length) lines.push(`Drift: unknown for ${unknown.length} resource(s) (below); none found in the rest.`);
  else if (r.drift.changes.length === 0) lines.push(`Drift: none; the file matches ${against}.`);
  else {
    lines.push(`Drift between the file and ${against}:`);
    for (const c of r.drift.changes) lines.push(`  ${c.action} ${c.address}${c.changed.length ? ` (${c.changed.join(', ')})` : ''}${c.reason ? `: ${c.reason}` : ''}`);
    lines.push(`  ${renderSummary(r.drift)}`);
  }
  for (const u of unknown) lines.push(`Cannot tell: ${u.address}: ${u.reason}`);
  return lines;
}

export function statusJson(r: StatusReport): object {
  return {
    cell: r.cell, driver: r.driver, serial: r.serial, ...r.status,
    drift: r.drift.changes.map((c) => ({ address: c.address, action: c.action, changed: c.changed, reason: c.reason ?? null, found: c.drift ?? false })),
    refreshed: r.drift.refreshed ?? false,
    unknown: r.drift.unknown ?? [],
  };
}
