// The desired graph: every resource the cell file asks for, with stable addresses and dependencies.
import type { Catalog } from '../catalog/types.js';
import { guestModules } from '../kmod/resolve.js';
import type { CellSpec } from '../config/types.js';
import type { Attrs, Resource, ResourceType } from './types.js';

/** kula/admin -> kula.admin (pts names use a dot where Kerberos v5 uses a slash). */
export function ptsName(principal: string): string {
  return principal.replace('/', '.');
}

/** The principals made AFS administrators: those with an `admin` instance, else the first one. */
export function adminPrincipals(principals: string[]): Set<string> {
  const admins = principals.filter((p) => p.endsWith('/admin'));
  return new Set(admins.length > 0 ? admins : principals.slice(0, 1));
}

export function serviceKeyAddress(cell: string): string {
  return `service-key.afs/${cell}`;
}

export function desiredResources(spec: CellSpec, catalog: Catalog): Resource[] {
  const out: Resource[] = [];
  const add = (type: ResourceType, name: string, attrs: object, deps: string[]): string => {
    const address = `${type}.${name}`;
    out.push({ address, type, name, attrs: attrs as Attrs, deps });
    return address;
  };

  for (const h of Object.values(spec.hosts)) {
    add('host', h.name, {
      os: h.os, xen: h.xen, memory: h.memory, dom0_memory: h.dom0_memory ?? 0, cpus: h.cpus,
      cpu_features: h.cpu_features, bridges: h.bridges, devices: h.devices,
      shared_storage: h.shared_storage, uri: h.uri ?? null,
    }, []);
  }

  const moduleAddrs = new Map<string, string[]>(); // guest -> module addresses
  for (const g of Object.values(spec.guests)) {
    const kernel = 'catalog' in g.kernel ? g.kernel.catalog : g.kernel.symvers;
    const guestAddr = add('guest', g.name, {
      host: g.host, os: g.os, kernel, kernel_image: g.kernel_image, type: g.type,
      memory: g.memory, maxmem: g.maxmem, vcpus: g.vcpus, vifs: g.vifs, disks: g.disks, root: g.root ?? null,
    }, [`host.${g.host}`]);
    const mods = guestModules(spec, g.name, catalog).map((m) =>
      add('module', `${g.name}.${m.name}`, { guest: g.name, module: m.id, name: m.name }, [guestAddr]),
    );
    moduleAddrs.set(g.name, mods);
  }

  const krb = spec.kerberos;
  const master = krb?.kdcs[0];
  const keyAddr = serviceKeyAddress(spec.cell);
  if (krb && master) {
    for (const k of krb.kdcs) {
      const deps = [`guest.${k}`];
      if (k !== master) deps.push(`kdc.${master}`);
      add('kdc', k, {
        guest: k, realm: spec.realm, role: k === master ? 'master' : 'replica', master,
        software: krb.software, kdcs: krb.kdcs,
      }, deps);
    }
    for (const p of krb.principals) add('principal', p, { realm: spec.realm, principal: p, kdc: master }, [`kdc.${master}`]);
    if (spec.afs) {
      add('service-key', `afs/${spec.cell}`, {
        principal: `afs/${spec.cell}@${spec.realm}`, realm: spec.realm, cell: spec.cell, kdc: master,
        enctypes: ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96'],
      }, [`kdc.${master}`]);
    }
  }

  const afs = spec.afs;
  if (afs) {
    const keyDeps = krb && master ? [keyAddr] : [];
    const dbAddrs = afs.dbservers.map((d) =>
      add('afs-db', d, { guest: d, cell: spec.cell, software: afs.software, dbservers: afs.dbservers }, [`guest.${d}`, ...keyDeps]),
    );
    const partitionAddr = (server: string, path: string) => `partition.${server}.${path}`;
    for (const [fs, parts] of Object.entries(afs.fileservers)) {
      const fsAddr = add('afs-fs', fs, {
        guest: fs, cell: spec.cell, software: afs.software, partitions: parts, dbservers: afs.dbservers,
      }, [`guest.${fs}`, ...keyDeps, ...dbAddrs]);
      for (const p of parts) add('partition', `${fs}.${p}`, { guest: fs, path: p }, [fsAddr]);
    }
    const volAddrs = new Map(afs.volumes.map((v) => [v.name,
      add('volume', v.name, { volume: v.name, server: v.server, partition: v.partition }, [partitionAddr(v.server, v.partition)])]));
    // A client mounts /afs from root.afs and the cell from root.cell; other volumes are reached through them.
    const clientVolumes = ['root.afs', 'root.cell'].flatMap((v) => volAddrs.get(v) ?? []);
    if (krb) {
      const admins = adminPrincipals(krb.principals);
      for (const p of krb.principals) {
        add('pts-user', ptsName(p), { user: ptsName(p), principal: p, admin: admins.has(p) }, [...dbAddrs, `principal.${p}`]);
      }
    }
    const byAddr = new Map(out.map((r) => [r.address, r]));
    for (const [client, software] of Object.entries(afs.clients)) {
      const clientMods = new Set(Object.values(catalog.software.get(software)?.client_modules ?? {}));
      const mod = (moduleAddrs.get(client) ?? []).map((a) => byAddr.get(a)!).find((r) => clientMods.has(r.attrs.module as string));
      add('afs-client', client, {
        guest: client, cell: spec.cell, software, module: mod ? (mod.attrs.module as string) : null, dbservers: afs.dbservers,
      }, [`guest.${client}`, ...(mod ? [mod.address] : []), ...dbAddrs, ...clientVolumes]);
    }
  }
  return out;
}
