// The desired graph: every resource the cell file asks for, with stable addresses and dependencies.
import type { Catalog } from '../catalog/types.js';
import type { CellSpec } from '../config/types.js';
import { guestModules } from '../kmod/resolve.js';
import { addr, address, names } from './addrs.js';
import type { AttrsByType, Resource, ResourceOf, ResourceType } from './resources.js';

/** The principals made AFS administrators: those with an `admin` instance, else the first one. */
export function adminPrincipals(principals: string[]): Set<string> {
  const admins = principals.filter((p) => p.endsWith('/admin'));
  return new Set(admins.length > 0 ? admins : principals.slice(0, 1));
}

/** AES keys for afs/<cell>: what OpenAFS 1.8's rxkad-k5 takes and Debian's KDC issues. */
const SERVICE_KEY_ENCTYPES = ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96'];

export function desiredResources(spec: CellSpec, catalog: Catalog): Resource[] {
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

  const krb = spec.kerberos;
  const master = krb?.kdcs[0];
  if (krb && master) {
    for (const k of krb.kdcs) {
      const deps = [addr.guest(k)];
      if (k !== master) deps.push(addr.kdc(master));
      add('kdc', k, {
        guest: k, realm: spec.realm, role: k === master ? 'master' : 'replica', master, software: krb.software, kdcs: krb.kdcs,
      }, deps);
    }
    for (const p of krb.principals) add('principal', p, { realm: spec.realm, principal: p, kdc: master }, [addr.kdc(master)]);
    if (spec.afs) {
      add('service-key', names.serviceKey(spec.cell), {
        principal: `afs/${spec.cell}@${spec.realm}`, realm: spec.realm, cell: spec.cell, kdc: master, enctypes: SERVICE_KEY_ENCTYPES,
      }, [addr.kdc(master)]);
    }
  }

  const afs = spec.afs;
  if (afs) {
    const keyDeps = krb && master ? [addr.serviceKey(spec.cell)] : [];
    const dbAddrs = afs.dbservers.map((d) =>
      add('afs-db', d, { guest: d, cell: spec.cell, software: afs.software, dbservers: afs.dbservers }, [addr.guest(d), ...keyDeps]).address);
    for (const [fs, parts] of Object.entries(afs.fileservers)) {
      const server = add('afs-fs', fs, {
        guest: fs, cell: spec.cell, software: afs.software, partitions: parts, dbservers: afs.dbservers,
      }, [addr.guest(fs), ...keyDeps, ...dbAddrs]);
      for (const p of parts) add('partition', names.partition(fs, p), { guest: fs, path: p }, [server.address]);
    }
    const volumes = new Map(afs.volumes.map((v) => [v.name,
      add('volume', v.name, { volume: v.name, server: v.server, partition: v.partition }, [addr.partition(v.server, v.partition)]).address]));
    // A client mounts /afs from root.afs and the cell from root.cell; other volumes are reached through them.
    const clientVolumes = ['root.afs', 'root.cell'].flatMap((v) => volumes.get(v) ?? []);
    if (krb) {
      const admins = adminPrincipals(krb.principals);
      for (const p of krb.principals) {
        const user = names.ptsUser(p);
        add('pts-user', user, { user, principal: p, admin: admins.has(p) }, [...dbAddrs, addr.principal(p)]);
      }
    }
    for (const [client, software] of Object.entries(afs.clients)) {
      const clientMods = new Set(Object.values(catalog.software.get(software)?.client_modules ?? {}));
      const mod = (modulesOf.get(client) ?? []).find((r) => clientMods.has(r.attrs.module));
      add('afs-client', client, {
        guest: client, cell: spec.cell, software, module: mod ? mod.attrs.module : null, dbservers: afs.dbservers,
      }, [addr.guest(client), ...(mod ? [mod.address] : []), ...dbAddrs, ...clientVolumes]);
    }
  }
  return out;
}

/**
 * The resources a driver realizes and the addresses of the rest: what plan shows as "not managed
 * by <driver>". A dependency on an unmanaged resource is replaced by that resource's own
 * dependencies (transitively), so the order between managed ones survives: a partition still
 * waits for its guest when the fileserver between them is not managed.
 */
export function splitManaged(desired: Resource[], realizes: ReadonlySet<ResourceType>): { managed: Resource[]; unmanaged: string[] } {
  const managed = desired.filter((r) => realizes.has(r.type));
  if (managed.length === desired.length) return { managed, unmanaged: [] };
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
  };
}
