// Derived indexes over the world's domains, so that admitting one guest costs the same whatever the
// size of the cell: per host, the domains placed on it, the memory its live domains hold and which
// live domains use each disk target. Built once from the plain-JSON world (at driver construction,
// or on first use) and kept in step by track() wherever a domain is added or removed or changes
// host, id, memory or disks. Never saved: the world stays plain JSON, a loaded world is indexed anew.
import { own, type SimDomain, type World } from './world.js';

export interface HostIndex {
  domains: Set<string>; // every domain placed on the host, live or shut down
  memory: number; // MiB held by its live domains (with a domain id: running, blocked, paused or crashed)
  disks: Map<string, Map<string, string[]>>; // target -> live domain -> the modes it attaches the target with
}

/** What one domain is counted for in its host's entry (so it can be taken out again exactly). */
interface Held {
  host: string;
  memory: number;
  disks: { target: string; mode: string }[];
}

export interface WorldIndex {
  hosts: Map<string, HostIndex>;
  held: Map<string, Held>; // by domain name
}

const indexes = new WeakMap<World, WorldIndex>();

/** The world's indexes, built on first use. */
export function indexOf(w: World): WorldIndex {
  let idx = indexes.get(w);
  if (!idx) {
    idx = buildIndex(w);
    indexes.set(w, idx);
  }
  return idx;
}

/** A full count from the world as it is now. */
export function buildIndex(w: World): WorldIndex {
  const idx: WorldIndex = { hosts: new Map(), held: new Map() };
  for (const d of Object.values(w.domains)) add(idx, d);
  return idx;
}

function add(idx: WorldIndex, d: SimDomain): void {
  const live = d.domid !== null;
  const held: Held = {
    host: d.host,
    memory: live ? d.memory : 0,
    disks: live ? d.disks.map((x) => ({ target: x.target, mode: x.mode })) : [],
  };
  let h = idx.hosts.get(d.host);
  if (!h) {
    h = { domains: new Set(), memory: 0, disks: new Map() };
    idx.hosts.set(d.host, h);
  }
  h.domains.add(d.name);
  h.memory += held.memory;
  for (const x of held.disks) {
    let users = h.disks.get(x.target);
    if (!users) {
      users = new Map();
      h.disks.set(x.target, users);
    }
    const modes = users.get(d.name);
    if (modes) modes.push(x.mode);
    else users.set(d.name, [x.mode]);
  }
  idx.held.set(d.name, held);
}

function remove(idx: WorldIndex, name: string): void {
  const held = idx.held.get(name);
  if (!held) return;
  idx.held.delete(name);
  const h = idx.hosts.get(held.host)!;
  h.domains.delete(name);
  h.memory -= held.memory;
  for (const x of held.disks) {
    const users = h.disks.get(x.target);
    users?.delete(name);
    if (users?.size === 0) h.disks.delete(x.target);
  }
  if (h.domains.size === 0) idx.hosts.delete(held.host);
}

/** Bring the index in step with w.domains[name] after it was added, removed or changed. */
export function track(w: World, name: string): void {
  const idx = indexOf(w);
  remove(idx, name);
  const d = own(w.domains, name);
  if (d) add(idx, d);
}

/** MiB held by the host's live domains. */
export function heldMemory(w: World, host: string): number {
  return indexOf(w).hosts.get(host)?.memory ?? 0;
}

/** The domains placed on a host, live or not, in no particular order. */
export function domainsOn(w: World, host: string): SimDomain[] {
  return [...(indexOf(w).hosts.get(host)?.domains ?? [])].map((n) => w.domains[n]!);
}

/**
 * Would attaching `target` with `mode` clash with a live domain on the host other than `self`?
 * Shared read-only is fine; anything writable is exclusive (the block script's check_sharing).
 */
export function diskClash(w: World, host: string, self: string, target: string, mode: string): boolean {
  const users = indexOf(w).hosts.get(host)?.disks.get(target);
  if (!users) return false;
  for (const [name, modes] of users) if (name !== self && (mode === 'w' || modes.includes('w'))) return true;
  return false;
}

type Summary = Record<string, { domains: string[]; memory: number; disks: Record<string, Record<string, string[]>> }>;

/** The index as plain, sorted JSON (tests compare it with a recount). */
export function indexSummary(idx: WorldIndex): Summary {
  const sorted = <V>(m: Map<string, V>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(sorted(idx.hosts).map(([name, h]) => [name, {
    domains: [...h.domains].sort(),
    memory: h.memory,
    disks: Object.fromEntries(sorted(h.disks).map(([t, users]) => [t, Object.fromEntries(sorted(users).map(([u, modes]) => [u, [...modes].sort()]))])),
  }]));
}
