// Validated cell data -> CellSpec, filling in the documented defaults.
import type { Catalog } from '../catalog/types.js';
import { cellPath, parseRights } from './afs.js';
import { readAfsTree } from './afs-tree.js';
import type { AfsFile, CellFile, GuestFile, HostFile, KeytabFile, RealmFile } from './cell-file.generated.js';
import { parseDisk } from './disk.js';
import { isModulePath, resolveFrom } from './refs.js';
import { isObj } from './semantic.js';
import type { SourceMap } from './yaml/source.js';
import type { AclSpec, AfsSpec, CellSpec, GroupSpec, GuestSpec, HostSpec, KerberosSpec, KernelRef, KeytabSpec, Path, RealmSpec } from './types.js';

/** dom0 memory when the dom0 OS's catalog entry gives no default. */
export const DEFAULT_DOM0_MEMORY = 256;

/**
 * YAML reads `xen: 3.1` as a number; versions are ids, so take the text as written ("3.0" stays
 * "3.0", not "3"). Runs before validation so every later stage sees strings.
 */
export function normaliseVersions(data: unknown, src: SourceMap): void {
  if (!isObj(data)) return;
  const fix = (obj: Record<string, unknown>, key: string, path: Path) => {
    const v = obj[key];
    if (typeof v === 'number') obj[key] = src.scalarSource(path) ?? String(v);
  };
  if (isObj(data.hosts)) for (const [name, h] of Object.entries(data.hosts)) if (isObj(h)) fix(h, 'xen', ['hosts', name, 'xen']);
  if (isObj(data.guests)) {
    for (const [name, g] of Object.entries(data.guests)) {
      if (!isObj(g) || !isObj(g.kernel)) continue;
      fix(g.kernel, 'xen', ['guests', name, 'kernel', 'xen']);
      fix(g.kernel, 'release', ['guests', name, 'kernel', 'release']);
    }
  }
}

function host(name: string, h: HostFile, catalog: Catalog): HostSpec {
  const out: HostSpec = {
    name,
    os: h.os,
    xen: String(h.xen), // normaliseVersions made it the text as written
    memory: h.memory,
    dom0_memory: h.dom0_memory ?? catalog.os.get(h.os)?.default_dom0_memory ?? DEFAULT_DOM0_MEMORY,
    cpus: h.cpus ?? 1,
    cpu_features: [...(h.cpu_features ?? [])],
    bridges: [...(h.bridges ?? [])],
    devices: [...(h.devices ?? [])],
    shared_storage: [...(h.shared_storage ?? [])],
  };
  if (h.uri !== undefined) out.uri = h.uri;
  return out;
}

function guest(name: string, g: GuestFile, cell: string, catalog: Catalog, baseDir: string): GuestSpec {
  let kernel: KernelRef;
  let image: string;
  if (typeof g.kernel === 'string') {
    kernel = { catalog: g.kernel };
    image = catalog.kernels.get(g.kernel)?.image ?? 'kernel';
  } else {
    const k = g.kernel;
    kernel = { symvers: resolveFrom(baseDir, k.symvers) };
    if (k.config !== undefined) kernel.config = resolveFrom(baseDir, k.config);
    if (k.release !== undefined) kernel.release = String(k.release);
    if (k.xen !== undefined) kernel.xen = String(k.xen);
    image = k.release !== undefined ? `vmlinuz-${k.release}` : 'vmlinuz';
  }
  const ownImage = typeof g.kernel === 'object' && g.kernel.image !== undefined ? resolveFrom(baseDir, g.kernel.image) : undefined;
  const out: GuestSpec = {
    name,
    host: g.host,
    os: g.os,
    kernel,
    type: g.type ?? 'pv',
    memory: g.memory,
    maxmem: g.maxmem ?? g.memory,
    vcpus: g.vcpus ?? 1,
    vifs: (g.vifs ?? []).map((v) => (v.ip === undefined ? { mac: v.mac, bridge: v.bridge } : { mac: v.mac, bridge: v.bridge, ip: v.ip })),
    disks: (g.disks ?? []).map(parseDisk),
    kernel_image: g.kernel_image ?? ownImage ?? `/local/xen/${name}.${cell}/${image}`,
    extra_modules: (g.extra_modules ?? []).map((m) => (isModulePath(m) ? resolveFrom(baseDir, m) : m)),
  };
  if (g.root !== undefined) out.root = g.root;
  return out;
}

const keytabs = (list: KeytabFile[] | undefined): KeytabSpec[] =>
  (list ?? []).map((k) => ({ principal: k.principal, ...(k.guest !== undefined ? { guest: k.guest } : {}), enctypes: [...k.enctypes] }));

/** A Set: the schema's uniqueItems cannot see a repeated '__proto__' (ajv counts items in a plain object). */
const unique = (list: string[] | undefined): string[] => [...new Set(list ?? [])];

function realmSpec(realm: string, r: RealmFile): RealmSpec {
  return { realm, software: r.software, kdcs: [...r.kdcs], principals: unique(r.principals), keytabs: keytabs(r.keytabs) };
}

/** `owner:name` groups are owned by `owner`; the others by system:administrators, unless the file says. */
function groupOwner(name: string, owner: string | undefined): string {
  return owner ?? (name.includes(':') && !name.startsWith('system:') ? name.slice(0, name.indexOf(':')) : 'system:administrators');
}

function afsSpec(a: AfsFile, cell: string): AfsSpec {
  const groups: GroupSpec[] = [];
  let administrators: string[] | undefined;
  for (const [name, g] of Object.entries(a.groups ?? {})) {
    if (name === 'system:administrators') administrators = unique(g.members);
    else groups.push({ name, owner: groupOwner(name, g.owner), members: unique(g.members), ...(g.id !== undefined ? { id: g.id } : {}) });
  }
  const acls: AclSpec[] = Object.entries(a.acls ?? {}).map(([path, entries]) => {
    const acl: AclSpec = { path, normal: {}, negative: {} };
    for (const [who, text] of Object.entries(entries)) {
      const r = parseRights(text);
      (r.negative ? acl.negative : acl.normal)[who] = r.rights;
    }
    return acl;
  });
  const out: AfsSpec = {
    software: a.software,
    dbservers: [...a.dbservers],
    fileservers: Object.fromEntries(Object.entries(a.fileservers ?? {}).map(([g, parts]) => [g, [...parts]])),
    clients: { ...(a.clients ?? {}) },
    volumes: (a.volumes ?? []).map((v) => ({
      name: v.name, server: v.server, partition: v.partition, ...(v.quota !== undefined ? { quota: v.quota } : {}),
      replicas: (v.replicas ?? []).map((s) => ({ server: s.server, partition: s.partition })), backup: v.backup ?? false,
    })),
    users: Object.fromEntries(Object.entries(a.users ?? {}).map(([u, x]) => [u, x.id !== undefined ? { id: x.id } : {}])),
    groups,
    mounts: Object.entries(a.mounts ?? {}).map(([path, m]) =>
      typeof m === 'string' ? { path, volume: m, rw: false } : { path, volume: m.volume, rw: m.rw ?? false }),
    acls,
  };
  // Mount points before the mount points below them.
  out.mounts.sort((x, y) => depth(x.path, cell) - depth(y.path, cell));
  if (administrators) out.administrators = administrators;
  return out;
}

const depth = (path: string, cell: string) => cellPath(path, cell)?.rel.split('/').length ?? 0;

/** The CellSpec for data that passed the schema and the semantic checks. */
export function buildSpec(data: unknown, src: SourceMap, catalog: Catalog, file: string, baseDir: string): CellSpec {
  const raw = data as CellFile; // what the schema guarantees once validation has passed
  const hosts: Record<string, HostSpec> = {};
  for (const [name, h] of Object.entries(raw.hosts)) hosts[name] = host(name, h, catalog);
  const guests: Record<string, GuestSpec> = {};
  for (const [name, g] of Object.entries(raw.guests)) guests[name] = guest(name, g, raw.cell, catalog, baseDir);
  const spec: CellSpec = {
    file,
    cell: raw.cell,
    realm: raw.realm ?? raw.cell.toUpperCase(),
    hosts,
    guests,
    realms: Object.fromEntries(Object.entries(raw.realms ?? {}).map(([name, r]) => [name, realmSpec(name, r)])),
    posOf: (path: Path) => src.posOf(path),
  };
  if (raw.software?.openafs) spec.software = { openafs: readAfsTree(resolveFrom(baseDir, raw.software.openafs.prefix)) };
  if (raw.kerberos) {
    const k = raw.kerberos;
    spec.kerberos = {
      software: k.software, kdcs: [...k.kdcs], principals: unique(k.principals), keytabs: keytabs(k.keytabs), trusts: unique(k.trusts),
    } satisfies KerberosSpec;
  }
  if (raw.afs) spec.afs = afsSpec(raw.afs, raw.cell);
  return spec;
}
