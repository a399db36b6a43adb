// Plans for people (terraform-style) and for machines (--json, a documented, stable shape).
import type { Attrs, Json } from '../plan/resources.js';
import { SENSITIVE_ATTRS } from '../plan/sensitive.js';
import { renderFinding } from './findings.js';
import { wrapText } from './wrap.js';
import type { Change, Plan } from '../plan/types.js';

const SYMBOL: Record<Change['action'], string> = { create: '+', update: '~', replace: '-/+', delete: '-' };
const VERB: Record<Change['action'], string> = {
  create: 'will be created', update: 'will be updated in place', replace: 'must be replaced', delete: 'will be destroyed',
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
  if (c.action === 'create') for (const k of SENSITIVE_ATTRS[c.type] ?? []) lines.push(`      + ${k} = (sensitive value)`);
  return lines;
}

export function renderSummary(p: Plan): string {
  if (p.changes.length === 0) {
    if (p.unknown?.length) return `No changes found; ${p.unknown.length} recorded resource(s) could not be read back (see above), so the cell may differ.`;
    return p.refreshed ? 'No changes. The live cell matches the file.' : 'No changes. The cell matches the recorded state.';
  }
  return `Plan: ${p.summary.add} to add, ${p.summary.change} to change, ${p.summary.destroy} to destroy.`;
}

/** What a change line explains: why a replacement, what refresh found, or what a moot delete goes with. */
const why = (c: Change): string | undefined => (c.action === 'delete' && c.moot) || c.reason;

/**
 * The human plan. `detail` prints every attribute of created resources (the default for small
 * plans); findings are wrapped at `width` (a terminal's) when given.
 */
export function renderPlan(p: Plan, detail = p.changes.length <= 200, width?: number): string {
  const out: string[] = [];
  if (p.changes.length > 0) {
    out.push(`cellctl will perform the following actions on cell ${p.cell}:`, '');
    for (const c of p.changes) {
      if (detail) {
        out.push(`  # ${c.address} ${VERB[c.action]}${why(c) ? ` (${why(c)})` : ''}`);
        out.push(`  ${SYMBOL[c.action]} ${c.address}`, ...attrLines(c), '');
      } else {
        // Compact: one line each; what changes (and why a replacement) still shown.
        out.push(`  ${SYMBOL[c.action].padStart(3)} ${c.address}${why(c) ? `  # ${why(c)}` : ''}`);
        if (c.action !== 'create') out.push(...attrLines(c));
      }
    }
    if (!detail) out.push('');
  }
  out.push(...unmanagedLines(p), ...unknownLines(p), ...targetLines(p));
  for (const f of p.findings) out.push(wrapText(renderFinding(f), width));
  if (p.findings.length > 0) out.push('');
  out.push(renderSummary(p));
  return out.join('\n');
}

/** Resources of the cell the driver does not realize: said, so nobody takes them for created. */
export function unmanagedLines(p: Plan): string[] {
  const u = p.unmanaged;
  if (!u) return [];
  const list = (as: string[]) => as.slice(0, 8).join(', ') + (as.length > 8 ? `, ... (${as.length - 8} more)` : '');
  const declined = u.declined ?? {};
  const byType = u.addresses.filter((a) => !Object.hasOwn(declined, a));
  const byReason = new Map<string, string[]>();
  for (const [a, why] of Object.entries(declined)) (byReason.get(why) ?? byReason.set(why, []).get(why)!).push(a);
  const head = `Not managed by ${u.driver} (${u.addresses.length} resources${u.reason && byType.length ? `; ${u.reason}` : ''})`;
  return [
    byType.length ? `${head}: ${list(byType)}` : `${head}:`,
    ...[...byReason].map(([why, as]) => `  ${list(as)}: ${why}`),
    '',
  ];
}

/** Recorded resources the driver could not read back: said, so "No changes" is not taken for "all is well". */
export function unknownLines(p: Plan): string[] {
  if (!p.unknown?.length) return [];
  return ['Cannot tell whether these still run (left as they are):', ...p.unknown.map((u) => `  ? ${u.address}  # ${u.reason}`), ''];
}

/** --target in effect: said, like terraform, so nobody takes a partial plan for the whole. */
export function targetLines(p: Plan): string[] {
  if (!p.targets?.length) return [];
  return [
    `Warning: resource targeting is in effect (--target ${p.targets.join(', ')}): ${p.untargeted?.length ?? 0} other change(s) are left out of this plan.`,
    'Use it for exceptional cases (recovering from a mistake, working around a limitation), not routinely.',
    '',
  ];
}

const ACTIONS: Record<Change['action'], string[]> = { create: ['create'], update: ['update'], replace: ['delete', 'create'], delete: ['delete'] };

function sensitive(type: Change['type'], present: boolean): Record<string, boolean> {
  return present ? Object.fromEntries((SENSITIVE_ATTRS[type] ?? []).map((k) => [k, true])) : {};
}

/**
 * --json (format_version 2, documented in README): every resource with terraform's change shape
 * (`actions` array, before/after, after_sensitive), changes first in execution order, then no-ops.
 */
export function planJson(p: Plan, state?: { serial: number; lineage?: string } | null): object {
  const changed = new Set([...p.changes.map((c) => c.address), ...(p.untargeted ?? [])]);
  const nameOf = (address: string, type: string) => address.slice(type.length + 1);
  return {
    format_version: '2',
    cell: p.cell,
    file: p.file,
    state: state ? { serial: state.serial, lineage: state.lineage ?? null } : null,
    summary: { ...p.summary, unchanged: p.unchanged },
    targets: p.targets ?? null,
    untargeted: p.untargeted ?? [],
    resource_changes: [
      ...p.changes.map((c) => ({
        address: c.address, type: c.type, name: nameOf(c.address, c.type), dependencies: c.deps,
        change: {
          actions: ACTIONS[c.action], before: c.before ?? null, after: c.after ?? null,
          before_sensitive: sensitive(c.type, c.before !== undefined), after_sensitive: sensitive(c.type, c.after !== undefined),
          changed: c.changed, reason: c.reason ?? null, drift: c.drift ?? false, moot: c.moot ?? null,
        },
      })),
      ...p.desired.filter((r) => !changed.has(r.address)).map((r) => ({
        address: r.address, type: r.type, name: r.name, dependencies: r.deps,
        change: {
          actions: ['no-op'], before: r.attrs, after: r.attrs,
          before_sensitive: sensitive(r.type, true), after_sensitive: sensitive(r.type, true), changed: [], reason: null,
        },
      })),
    ],
    unmanaged: p.unmanaged ?? null,
    unknown: p.unknown ?? [],
    findings: p.findings.map((f) => ({ ...f, pos: f.pos ?? null, fix: f.fix ?? null })),
    errors: p.findings.filter((f) => f.severity === 'error').length,
  };
}
