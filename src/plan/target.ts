// --target ADDR, as terraform: a plan cut down to the targets and what they need (destroy: the
// targets and what depends on them). Whatever a kept delete or replace takes down goes with it.
import { suggest } from '../config/suggest.js';
import { UserError } from '../diagnostics.js';
import type { ResourceState } from '../state/types.js';
import type { Change, Plan } from './types.js';

const removes = (c: Change | undefined) => c !== undefined && (c.action === 'delete' || c.action === 'replace');

export function targetPlan(p: Plan, targets: string[], recorded: Record<string, ResourceState>, destroy: boolean): Plan {
  const desiredDeps = new Map(p.desired.map((r) => [r.address, r.deps]));
  const known = [...new Set([...desiredDeps.keys(), ...Object.keys(recorded)])];
  const knownSet = new Set(known);
  for (const t of targets) {
    if (knownSet.has(t)) continue;
    const near = suggest(t, known);
    throw new UserError([{ message: `--target ${t}: no such resource in cell ${p.cell}`, hint: near ? `did you mean ${near}?` : 'cellctl state list or cellctl plan shows the addresses' }]);
  }
  const byAddr = new Map(p.changes.map((c) => [c.address, c]));
  const dependents = new Map<string, string[]>();
  for (const [a, r] of Object.entries(recorded)) for (const d of r.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(a);

  const keep = new Set<string>();
  // Destroy walks to what depends on a target; anything else walks to what a target needs.
  const add = (start: string) => {
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const a = queue[i];
      if (keep.has(a)) continue;
      keep.add(a);
      queue.push(...(destroy ? (dependents.get(a) ?? []) : (desiredDeps.get(a) ?? [])));
    }
  };
  for (const t of targets) add(t);
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of p.changes) {
      if (keep.has(c.address) || !removes(c)) continue;
      if ((recorded[c.address]?.deps ?? []).some((d) => keep.has(d) && removes(byAddr.get(d)))) {
        add(c.address);
        grew = true;
      }
    }
  }
  const changes = p.changes.filter((c) => keep.has(c.address));
  const count = (pred: (c: Change) => boolean) => changes.filter(pred).length;
  return {
    ...p,
    changes,
    targets,
    untargeted: p.changes.filter((c) => !keep.has(c.address)).map((c) => c.address),
    summary: {
      add: count((c) => c.action === 'create' || c.action === 'replace'),
      change: count((c) => c.action === 'update'),
      destroy: count((c) => c.action === 'delete' || c.action === 'replace'),
    },
  };
}
