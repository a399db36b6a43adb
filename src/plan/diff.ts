// Desired graph vs recorded state (refreshed: what the driver found) -> ordered changes. Linear in
// the number of resources.
import type { Finding } from '../compat/types.js';
import type { CellState, ResourceState } from '../state/types.js';
import { addr } from './addrs.js';
import { topoOrder } from './dag.js';
import { livesOn, replaceReason, SERVER_SOFTWARE } from './lifecycle.js';
import type { Attrs, Json, Resource } from './resources.js';
import type { Change, Observed, Plan } from './types.js';

/** Deep equality of JSON values, without building strings (the diff's hot path). */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (!(k in b) || !sameJson(a[k], b[k])) return false;
  return true;
}

function changedAttrs(before: Attrs, after: Attrs): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !sameJson(before[k], after[k])).sort();
}

/** What refresh found, for the resources it did not find as recorded (a missing entry: present). */
export type Refreshed = ReadonlyMap<string, Observed>;

/** The change that repairs a drifted resource whose attributes still match the file, or undefined. */
function repair(r: Resource, prior: ResourceState, seen: Observed | undefined): Change | undefined {
  if (!seen || seen.state === 'present' || seen.state === 'unknown') return undefined;
  const action = seen.state === 'absent' ? 'replace' : seen.repair;
  return { address: r.address, type: r.type, action, before: prior.attrs, after: r.attrs, changed: [], reason: seen.reason, drift: true, deps: r.deps };
}

export function diff(spec: { cell: string; file: string }, desired: Resource[], state: CellState | undefined, findings: Finding[], refreshed?: Refreshed): Plan {
  const recorded: Record<string, ResourceState> = state?.resources ?? {};
  const byAddr = new Map(desired.map((r) => [r.address, r]));
  const changes = new Map<string, Change>();

  for (const r of desired) {
    const prior = recorded[r.address];
    if (!prior) {
      changes.set(r.address, { address: r.address, type: r.type, action: 'create', after: r.attrs, changed: [], deps: r.deps });
      continue;
    }
    const fix = repair(r, prior, refreshed?.get(r.address));
    if (sameJson(prior.attrs, r.attrs)) {
      if (fix) changes.set(r.address, fix);
      continue;
    }
    const changed = changedAttrs(prior.attrs, r.attrs);
    if (changed.length === 0) {
      if (fix) changes.set(r.address, fix);
      continue;
    }
    const reason = prior.type !== r.type ? 'resource type changed' : replaceReason(r.type, changed, prior.attrs, r.attrs);
    const action = reason || fix?.action === 'replace' ? 'replace' : 'update';
    changes.set(r.address, {
      address: r.address, type: r.type, action, before: prior.attrs, after: r.attrs, changed,
      reason: [fix?.reason, reason].filter(Boolean).join('; ') || undefined, ...(fix ? { drift: true } : {}), deps: r.deps,
    });
  }

  // What runs inside a replaced resource goes with it: dependents of a replacement are replaced too.
  const dependents = new Map<string, string[]>();
  for (const r of desired) for (const d of r.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(r.address);
  const queue = [...changes.values()].filter((c) => c.action === 'replace').map((c) => c.address);
  for (let i = 0; i < queue.length; i++) {
    for (const dep of dependents.get(queue[i]) ?? []) {
      const c = changes.get(dep);
      if (c && (c.action === 'replace' || c.action === 'create')) continue;
      const r = byAddr.get(dep)!;
      changes.set(dep, {
        address: dep, type: r.type, action: 'replace', before: recorded[dep].attrs, after: r.attrs,
        changed: c?.changed ?? [], reason: `${queue[i]} is replaced`, deps: r.deps,
      });
      queue.push(dep);
    }
  }

  rollingUpgrade(changes);

  const deletes: Change[] = [];
  for (const [address, prior] of Object.entries(recorded)) {
    if (!byAddr.has(address)) {
      const seen = refreshed?.get(address);
      deletes.push({
        address, type: prior.type, action: 'delete', before: prior.attrs, changed: [], deps: prior.deps,
        ...(seen?.state === 'absent' ? { reason: `already gone: ${seen.reason}` } : {}),
      });
    }
  }
  markMoot([...deletes, ...changes.values()], recorded);
  const deleteOrder = topoOrder(deletes).reverse();
  const deleteByAddr = new Map(deletes.map((c) => [c.address, c]));
  const forward = topoOrder(desired).filter((a) => changes.has(a));

  const ordered = [...deleteOrder.map((a) => deleteByAddr.get(a)!), ...forward.map((a) => changes.get(a)!)];
  const count = (pred: (c: Change) => boolean) => ordered.filter(pred).length;
  const unknown = [...(refreshed ?? [])].filter(([a, o]) => o.state === 'unknown' && recorded[a]).map(([address, o]) => ({ address, reason: (o as { reason: string }).reason }));
  return {
    cell: spec.cell,
    file: spec.file,
    changes: ordered,
    unchanged: desired.length - forward.length,
    findings,
    desired,
    ...(unknown.length ? { unknown } : {}),
    ...(refreshed ? { refreshed: true } : {}),
    summary: {
      add: count((c) => c.action === 'create' || c.action === 'replace'),
      change: count((c) => c.action === 'update'),
      destroy: count((c) => c.action === 'delete' || c.action === 'replace'),
    },
  };
}

/**
 * New server software on several database servers is a rolling upgrade: one db server at a time,
 * in the cell file's order, each after the one before is back (the driver's update returns once
 * the quorum has a sync site again), so a majority keeps serving throughout.
 */
function rollingUpgrade(changes: Map<string, Change>): void {
  const steps = [...changes.values()].filter((c) => c.type === 'afs-db' && c.action === 'update' && c.changed.some((a) => SERVER_SOFTWARE.includes(a)));
  if (steps.length < 2) return;
  const order = (steps[0].after?.dbservers as string[] | undefined) ?? [];
  steps.sort((a, b) => order.indexOf(String(a.after?.guest)) - order.indexOf(String(b.after?.guest)));
  steps.forEach((c, i) => {
    const prev = steps[i - 1];
    if (prev) c.deps = [...c.deps, prev.address];
    const step = `rolling upgrade ${i + 1}/${steps.length}: ${prev ? `after ${prev.address} is back in the quorum` : 'first'}, restarted from the new software while the other db servers keep quorum`;
    c.reason = [c.reason, step].filter(Boolean).join('; ');
  });
}

/**
 * Deleting a guest takes down what runs on it: the delete of a resource that lives only on guests
 * deleted (or replaced) in the same plan is moot. It needs no step of its own, so a teardown never
 * waits on, say, a ubik quorum for `pts delete` on database servers that are about to go.
 */
function markMoot(changes: Change[], recorded: Record<string, ResourceState>): void {
  const going = new Set(changes.filter((c) => c.type === 'guest' && (c.action === 'delete' || c.action === 'replace')).map((c) => c.address));
  if (going.size === 0) return;
  const cache: Partial<Record<'kdc' | 'afs-db', string[]>> = {};
  const guestsOf = (type: 'kdc' | 'afs-db') =>
    (cache[type] ??= Object.values(recorded).filter((x) => x.type === type).map((x) => String((x.attrs as { guest?: unknown }).guest)));
  for (const c of changes) {
    if ((c.action !== 'delete' && c.action !== 'replace') || !recorded[c.address]) continue;
    const on = livesOn(recorded[c.address], guestsOf);
    if (on?.length && on.every((g) => going.has(addr.guest(g)))) c.moot = `goes with ${[...new Set(on)].sort().map((g) => addr.guest(g)).join(', ')}`;
  }
}
