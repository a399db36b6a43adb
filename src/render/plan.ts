// Plans for people (terraform-style) and for machines (--json, a documented, stable shape).
import type { Attrs, Json } from '../plan/resources.js';
import { renderFinding } from './findings.js';
import type { Change, Plan } from '../plan/types.js';

const SYMBOL: Record<Change['action'], string> = { create: '+', update: '~', replace: '-/+', delete: '-' };
const VERB: Record<Change['action'], string> = {
  create: 'will be created', update: 'will be updated in place', replace: 'must be replaced', delete: 'will be destroyed',
};
// Attributes whose values are secret are never recorded; say so where people expect them.
const SENSITIVE_NOTE: Partial<Record<Change['type'], string>> = {
  principal: 'password = (sensitive value)',
  kdc: 'master_password = (sensitive value)',
  'service-key': 'keys = (sensitive value)',
};

function show(v: Json | undefined): string {
  return v === undefined ? '(none)' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v).replace(/,/g, ', ');
}

function attrLines(c: Change): string[] {
  const lines: string[] = [];
  if (c.action === 'create') {
    for (const [k, v] of Object.entries(c.after as Attrs)) lines.push(`      + ${k} = ${show(v)}`);
  } else if (c.action === 'update' || c.action === 'replace') {
    for (const k of c.changed) lines.push(`      ~ ${k}: ${show(c.before?.[k])} -> ${show(c.after?.[k])}`);
  }
  const note = SENSITIVE_NOTE[c.type];
  if (note && c.action === 'create') lines.push(`      + ${note}`);
  return lines;
}

export function renderSummary(p: Plan): string {
  if (p.changes.length === 0) {
    if (p.unknown?.length) return `No changes found; ${p.unknown.length} recorded resource(s) could not be read back (see above), so the cell may differ.`;
    return p.refreshed ? 'No changes. The live cell matches the file.' : 'No changes. The cell matches the recorded state.';
  }
  return `Plan: ${p.summary.add} to add, ${p.summary.change} to change, ${p.summary.destroy} to destroy.`;
}

/** The human plan. `detail` prints every attribute of created resources (the default for small plans). */
export function renderPlan(p: Plan, detail = p.changes.length <= 200): string {
  const out: string[] = [];
  if (p.changes.length > 0) {
    out.push(`cellctl will perform the following actions on cell ${p.cell}:`, '');
    for (const c of p.changes) {
      const why = (c.action === 'delete' && c.moot) || c.reason; // a moot delete: what it goes with
      if (detail) {
        out.push(`  # ${c.address} ${VERB[c.action]}${why ? ` (${why})` : ''}`);
        out.push(`  ${SYMBOL[c.action]} ${c.address}`, ...attrLines(c), '');
      } else {
        // Compact: one line each; what changes (and why a replacement, or what refresh found) still shown.
        out.push(`  ${SYMBOL[c.action].padStart(3)} ${c.address}${why ? `  # ${why}` : ''}`);
        if (c.action !== 'create') out.push(...attrLines(c));
      }
    }
    if (!detail) out.push('');
  }
  out.push(...unmanagedLines(p), ...unknownLines(p));
  for (const f of p.findings) out.push(renderFinding(f));
  if (p.findings.length > 0) out.push('');
  out.push(renderSummary(p));
  return out.join('\n');
}

/** Resources of the cell the driver does not realize: said, so nobody takes them for created. */
export function unmanagedLines(p: Plan): string[] {
  const u = p.unmanaged;
  if (!u) return [];
  const shown = u.addresses.slice(0, 8).join(', ') + (u.addresses.length > 8 ? `, ... (${u.addresses.length - 8} more)` : '');
  return [`Not managed by ${u.driver} (${u.addresses.length} resources${u.reason ? `; ${u.reason}` : ''}): ${shown}`, ''];
}

/** Recorded resources the driver could not read back: said, so "No changes" is not taken for "all is well". */
export function unknownLines(p: Plan): string[] {
  if (!p.unknown?.length) return [];
  return [`Cannot tell whether these still run (left as they are):`, ...p.unknown.map((u) => `  ? ${u.address}  # ${u.reason}`), ''];
}

/** --json: { format_version, cell, file, summary, actions[], unmanaged, unknown, findings[], errors } — documented in README. */
export function planJson(p: Plan): object {
  return {
    format_version: '1',
    cell: p.cell,
    file: p.file,
    summary: { ...p.summary, unchanged: p.unchanged },
    actions: p.changes.map((c) => ({
      address: c.address, type: c.type, action: c.action, reason: c.reason ?? null, drift: c.drift ?? false, moot: c.moot ?? null,
      changed: c.changed, before: c.before ?? null, after: c.after ?? null,
    })),
    unmanaged: p.unmanaged ?? null,
    unknown: p.unknown ?? [],
    findings: p.findings.map((f) => ({ ...f, pos: f.pos ?? null, fix: f.fix ?? null })),
    errors: p.findings.filter((f) => f.severity === 'error').length,
  };
}
