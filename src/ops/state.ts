// `cellctl state list|show`: what the state file records, read without a lock (nothing is written).
import { suggest } from '../config/suggest.js';
import { UserError } from '../diagnostics.js';
import { topoOrder } from '../plan/dag.js';
import type { ResourceState } from '../state/types.js';
import type { Session } from './session.js';

export interface RecordedResource { address: string; record: ResourceState }

function recorded(s: Session): Record<string, ResourceState> {
  const state = s.readState();
  if (!state) throw new UserError([{ message: `cell ${s.spec.cell} has no state in ${s.store.dir}`, hint: `nothing was applied there; cellctl apply ${s.spec.file} creates it` }]);
  return state.resources;
}

/** Addresses in dependency order, those equal to or starting with one of `prefixes` (all when none). */
export function stateList(s: Session, prefixes: string[] = []): string[] {
  const r = recorded(s);
  const all = topoOrder(Object.entries(r).map(([address, rec]) => ({ address, deps: rec.deps })));
  if (prefixes.length === 0) return all;
  const kept = all.filter((a) => prefixes.some((p) => a === p || a.startsWith(p.endsWith('.') ? p : `${p}.`)));
  if (kept.length === 0) {
    const near = suggest(prefixes[0], all);
    throw new UserError([{ message: `no recorded resource matches ${prefixes.join(', ')}`, hint: near ? `did you mean ${near}?` : undefined }]);
  }
  return kept;
}

export function stateShow(s: Session, address: string): RecordedResource {
  const r = recorded(s);
  const record = r[address];
  if (!record) {
    const near = suggest(address, Object.keys(r));
    throw new UserError([{ message: `no resource ${address} in the state of cell ${s.spec.cell}`, hint: near ? `did you mean ${near}?` : 'cellctl state list shows the addresses' }]);
  }
  return { address, record };
}
