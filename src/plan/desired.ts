// The desired graph: every resource the cell file asks for, with stable addresses and dependencies.
// Hosts, guests and modules here; Kerberos in desired-krb.ts, AFS in desired-afs.ts.
import type { Catalog } from '../catalog/types.js';
import type { CellSpec } from '../config/types.js';
import { guestModules } from '../kmod/resolve.js';
import { addr, address, names } from './addrs.js';
import { afsResources } from './desired-afs.js';
import { kerberosResources, type Runs } from './desired-krb.js';
import type { AttrsByType, Resource, ResourceOf, ResourceType } from './resources.js';

/**
 * Every resource of the cell. `runs`: the software the plan is for: the catalog's (the simulator) or
 * what really runs in its place (the real drivers), which decides the afs/<cell> key's enctypes.
 */
export function desiredResources(spec: CellSpec, catalog: Catalog, runs: Runs = 'catalog'): Resource[] {
  const out: Resource[] = [];
  const add = <T extends ResourceType>(type: T, name: string, attrs: AttrsByType[T], deps: string[]): ResourceOf<T> => {
    const r = { address: address(type, name), type, name, attrs, deps } as ResourceOf<T>;
    out.push(r as Resource);
    return r;
  };

  for (const h of Object.values(spec.hosts)) {
    add('host', h.name, {
      os: h.os, xen: h.xen, memory: h.memory, dom0_memory: h.dom0_memory ?? 0, cpus: h.cpus,
      cpu_features: h.cpu_features, bridges: h.bridges, devices: h.devices,
      shared_storage: h.shared_storage, uri: h.uri ?? null,
    }, []);
  }

  const modulesOf = new Map<string, ResourceOf<'module'>[]>();
  for (const g of Object.values(spec.guests)) {
    const kernel = 'catalog' in g.kernel ? g.kernel.catalog : g.kernel.symvers;
    const guest = add('guest', g.name, {
      host: g.host, os: g.os, kernel, kernel_image: g.kernel_image, type: g.type,
      memory: g.memory, maxmem: g.maxmem, vcpus: g.vcpus, vifs: g.vifs, disks: g.disks, root: g.root ?? null,
    }, [addr.host(g.host)]);
    modulesOf.set(g.name, guestModules(spec, g.name, catalog).map((m) =>
      add('module', names.module(g.name, m.name), { guest: g.name, module: m.id, name: m.name }, [guest.address])));
  }

  kerberosResources(spec, catalog, add, runs);
  afsResources(spec, catalog, add, modulesOf);
  return out;
}

/** What splitManaged needs of a driver's capabilities (a set of types will do). */
export interface Realizes {
  realizes: ReadonlySet<ResourceType>;
  declines?(r: Resource, cell: { realm: string }): string | undefined;
}

/**
 * The resources a driver realizes and the addresses of the rest: what plan shows as "not managed
 * by <driver>". A dependency on an unmanaged resource is replaced by that resource's own
 * dependencies (transitively), so the order between managed ones survives: a partition still
 * waits for its guest when the fileserver between them is not managed. `declined`: why the driver
 * leaves a resource of a type it realizes.
 */
export function splitManaged(desired: Resource[], caps: Realizes | ReadonlySet<ResourceType>, cell: { realm: string } = { realm: '' }):
  { managed: Resource[]; unmanaged: string[]; declined: Record<string, string> } {
  const c: Realizes = caps instanceof Set ? { realizes: caps } : (caps as Realizes);
  const declined: Record<string, string> = {};
  const managed = desired.filter((r) => {
    if (!c.realizes.has(r.type)) return false;
    const why = c.declines?.(r, cell);
    if (why) declined[r.address] = why;
    return !why;
  });
  if (managed.length === desired.length) return { managed, unmanaged: [], declined };
  const keep = new Set(managed.map((r) => r.address));
  const depsOf = new Map(desired.map((r) => [r.address, r.deps]));
  const through = new Map<string, string[]>(); // unmanaged address -> the managed ones it stands for
  const resolve = (d: string, seen: Set<string>): string[] => {
    if (keep.has(d)) return [d];
    const known = through.get(d);
    if (known) return known;
    if (seen.has(d)) return [];
    seen.add(d);
    const out = [...new Set((depsOf.get(d) ?? []).flatMap((x) => resolve(x, seen)))];
    through.set(d, out);
    return out;
  };
  return {
    managed: managed.map((r) => ({ ...r, deps: [...new Set(r.deps.flatMap((d) => resolve(d, new Set())))] })),
    unmanaged: desired.filter((r) => !keep.has(r.address)).map((r) => r.address),
    declined,
  };
}

export { adminPrincipals } from './desired-afs.js';
export type { Runs } from './desired-krb.js';
