// The AFS part of the desired graph: servers, partitions, volumes and what they hold (quotas, mount
// points, ACLs, read-only sites and their release, backup volumes), pts users and groups, clients.
import type { Catalog } from '../catalog/types.js';
import { cellPath, mountTarget, ptsName, realmAuthGroup, SYSTEM_GROUPS } from '../config/afs.js';
import type { AfsSpec, CellSpec, MountSpec } from '../config/types.js';
import { addr, names } from './addrs.js';
import type { Add } from './desired-krb.js';
import type { ResourceOf } from './resources.js';

/** The principals made AFS administrators by default: those with an `admin` instance, else the first one. */
export function adminPrincipals(principals: string[]): Set<string> {
  const admins = principals.filter((p) => p.endsWith('/admin'));
  return new Set(admins.length > 0 ? admins : principals.slice(0, 1));
}

/** Where each mount point's directory entry is: the volume holding it and its path in there. */
export interface PlacedMount extends MountSpec { rel: string; inVolume: string; dir: string }

export function placeMounts(afs: AfsSpec, cell: string): PlacedMount[] {
  const byRel = new Map<string, PlacedMount>();
  for (const m of afs.mounts) { // parents first (build.ts sorts them)
    const rel = cellPath(m.path, cell)?.rel ?? '';
    const parentRel = rel.slice(0, rel.lastIndexOf('/'));
    const parent = byRel.get(parentRel);
    const inVolume = parent ? mountTarget(parent.volume).base : 'root.cell';
    const dir = parent ? rel.slice(parentRel.length) : rel;
    byRel.set(rel, { ...m, rel, inVolume, dir });
  }
  return [...byRel.values()];
}

/** The volume whose root an ACL path names: /afs, /afs/<cell>, or a mount point. */
export function aclVolume(path: string, cell: string, mounts: PlacedMount[]): string | undefined {
  const where = cellPath(path, cell);
  if (!where) return path.replace(/\/$/, '') === '/afs' ? 'root.afs' : undefined;
  if (where.rel === '') return 'root.cell';
  const m = mounts.find((x) => x.rel === where.rel);
  return m ? mountTarget(m.volume).base : undefined;
}

export function afsResources(spec: CellSpec, catalog: Catalog, add: Add, modulesOf: Map<string, ResourceOf<'module'>[]>): void {
  const afs = spec.afs;
  if (!afs) return;
  const krb = spec.kerberos;
  const keyDeps = krb?.kdcs[0] ? [addr.serviceKey(spec.cell)] : [];
  const tree = spec.software?.openafs;
  const build = tree ? { prefix: tree.prefix, version: tree.version ?? 'unknown' } : {};
  const clientBuild = tree?.programs['afsd.fuse'] ? build : {};
  const dbAddrs = afs.dbservers.map((d) =>
    add('afs-db', d, { guest: d, cell: spec.cell, software: afs.software, dbservers: afs.dbservers, ...build }, [addr.guest(d), ...keyDeps]).address);
  for (const [fs, parts] of Object.entries(afs.fileservers)) {
    const server = add('afs-fs', fs, {
      guest: fs, cell: spec.cell, software: afs.software, partitions: parts, dbservers: afs.dbservers, ...build,
    }, [addr.guest(fs), ...keyDeps, ...dbAddrs]);
    for (const p of parts) add('partition', names.partition(fs, p), { guest: fs, path: p }, [server.address]);
  }
  const volumes = new Map(afs.volumes.map((v) => [v.name,
    add('volume', v.name, { volume: v.name, server: v.server, partition: v.partition }, [addr.partition(v.server, v.partition)]).address]));
  for (const v of afs.volumes) if (v.quota !== undefined) add('quota', v.name, { volume: v.name, max_kb: v.quota }, [addr.volume(v.name)]);
  // fs mkmount and fs setacl are an administrator's: with their token, so after their pts entries.
  const fsAdmins = krb ? ptsEntries(spec, afs, add, dbAddrs) : [];

  // What each volume holds that the file declares: its release and its backup carry it.
  const content = new Map<string, { lines: string[]; deps: string[] }>();
  const hold = (volume: string, line: string, dep: string) => {
    const c = content.get(volume) ?? content.set(volume, { lines: [], deps: [] }).get(volume)!;
    c.lines.push(line);
    c.deps.push(dep);
  };
  const groupNames = new Set(afs.groups.map((g) => g.name));
  const mounts = placeMounts(afs, spec.cell);
  for (const m of mounts) {
    const parent = mounts.find((x) => x.rel === m.rel.slice(0, m.rel.lastIndexOf('/')));
    const target = mountTarget(m.volume).base;
    const r = add('mount', m.path, { path: m.path, in_volume: m.inVolume, dir: m.dir, volume: m.volume, rw: m.rw },
      [addr.volume(m.inVolume), ...(volumes.has(target) ? [addr.volume(target)] : []), ...(parent ? [addr.mount(parent.path)] : []), ...fsAdmins]);
    hold(m.inVolume, `mount ${m.dir} ${m.rw ? '%' : '#'}${m.volume}`, r.address);
  }
  for (const a of afs.acls) {
    const volume = aclVolume(a.path, spec.cell, mounts);
    if (!volume) continue;
    const mount = mounts.find((m) => m.rel !== '' && m.rel === cellPath(a.path, spec.cell)?.rel);
    const who = [...Object.keys(a.normal), ...Object.keys(a.negative)];
    const r = add('acl', a.path, { path: a.path, volume, normal: a.normal, negative: a.negative }, [
      addr.volume(volume), ...(mount ? [addr.mount(mount.path)] : []), ...(krb ? who.flatMap((w) => entryAddress(w, groupNames)) : []), ...fsAdmins,
    ]);
    const show = (m: Record<string, string>, sign: string) => Object.entries(m).map(([n, x]) => `${sign}${n} ${x}`);
    hold(volume, `acl / ${[...show(a.normal, ''), ...show(a.negative, '-')].join(', ')}`, r.address);
  }
  for (const v of afs.volumes) {
    const c = content.get(v.name) ?? { lines: [], deps: [] };
    const lines = [...c.lines].sort();
    if (v.replicas.length) {
      const sites = v.replicas.map((s) =>
        add('ro-site', names.roSite(v.name, s.server, s.partition), { volume: v.name, server: s.server, partition: s.partition },
          [addr.volume(v.name), addr.partition(s.server, s.partition)]));
      add('release', v.name, { volume: v.name, sites: sites.map((s) => `${s.attrs.server}${s.attrs.partition}`), content: lines },
        [addr.volume(v.name), ...sites.map((s) => s.address), ...c.deps]);
    }
    if (v.backup) add('backup', v.name, { volume: v.name, server: v.server, partition: v.partition, content: lines }, [addr.volume(v.name), ...c.deps]);
  }

  // A client mounts /afs from root.afs and the cell from root.cell; other volumes are reached through them.
  const clientVolumes = ['root.afs', 'root.cell'].flatMap((v) => volumes.get(v) ?? []);
  for (const [client, software] of Object.entries(afs.clients)) {
    const clientMods = new Set(Object.values(catalog.software.get(software)?.client_modules ?? {}));
    const mod = (modulesOf.get(client) ?? []).find((r) => clientMods.has(r.attrs.module));
    add('afs-client', client, {
      guest: client, cell: spec.cell, software, module: mod ? mod.attrs.module : null, dbservers: afs.dbservers, ...clientBuild,
    }, [addr.guest(client), ...(mod ? [mod.address] : []), ...dbAddrs, ...clientVolumes]);
  }
}

/** The pts entry an ACL entry names (none for the ptserver's own groups); `groups`: the declared ones. */
function entryAddress(who: string, groups: Set<string>): string[] {
  if ((SYSTEM_GROUPS as readonly string[]).includes(who)) return [];
  return [who.startsWith('system:authuser@') || groups.has(who) ? addr.ptsGroup(who) : addr.ptsName(who)];
}

/**
 * pts users: every principal of the cell's realm, and another realm's principals the AFS part
 * names (users, groups, ACLs); the groups, with system:authuser@REALM for each trusted realm.
 * Returns the administrators' entries.
 */
function ptsEntries(spec: CellSpec, afs: AfsSpec, add: Add, dbAddrs: string[]): string[] {
  const krb = spec.kerberos!;
  const admins = afs.administrators
    ? new Set(afs.administrators)
    : new Set([...adminPrincipals(krb.principals)].map((p) => ptsName(p)));
  const named = new Set([
    ...Object.keys(afs.users), ...afs.groups.flatMap((g) => [g.owner, ...g.members]),
    ...afs.acls.flatMap((a) => [...Object.keys(a.normal), ...Object.keys(a.negative)]), ...(afs.administrators ?? []),
  ]);
  const users: { user: string; principal: string }[] = krb.principals.map((p) => ({ user: ptsName(p), principal: p }));
  for (const [realm, r] of Object.entries(spec.realms)) {
    for (const p of r.principals) {
      const user = ptsName(p, realm, spec.realm);
      if (named.has(user)) users.push({ user, principal: `${p}@${realm}` });
    }
  }
  // Users with a fixed id first: the ptserver gives the others one above the highest, which must not be a fixed one.
  const hasId = (u: { user: string }) => afs.users[u.user]?.id !== undefined;
  const fixed = users.filter(hasId).map((u) => addr.ptsName(u.user));
  // A foreign user's entry needs its realm's system:authuser@<realm> group first (the ptserver refuses it without).
  for (const t of krb.trusts) add('pts-group', realmAuthGroup(t), { group: realmAuthGroup(t), owner: 'system:administrators', members: [] }, dbAddrs);
  const authGroups = new Set(krb.trusts.map(realmAuthGroup));
  for (const u of [...users.filter(hasId), ...users.filter((x) => !hasId(x))]) {
    const id = afs.users[u.user]?.id;
    const at = u.user.indexOf('@');
    const foreign = at >= 0 ? `system:authuser${u.user.slice(at)}` : undefined;
    add('pts-user', u.user, { user: u.user, principal: u.principal, admin: admins.has(u.user), ...(id !== undefined ? { id } : {}) },
      [...dbAddrs, addr.principal(u.principal), ...(id === undefined ? fixed : []), ...(foreign && authGroups.has(foreign) ? [addr.ptsGroup(foreign)] : [])]);
  }
  const groups = new Set(afs.groups.map((g) => g.name));
  const fixedGroups = afs.groups.filter((g) => g.id !== undefined).map((g) => addr.ptsGroup(g.name));
  for (const g of afs.groups) {
    const owner = g.owner === 'system:administrators' ? [] : groups.has(g.owner) ? [addr.ptsGroup(g.owner)] : [addr.ptsName(g.owner)];
    add('pts-group', g.name, { group: g.name, owner: g.owner, members: g.members, ...(g.id !== undefined ? { id: g.id } : {}) },
      [...dbAddrs, ...owner, ...g.members.map(addr.ptsName), ...(g.id === undefined ? fixedGroups : [])]);
  }
  return users.filter((u) => admins.has(u.user)).map((u) => addr.ptsName(u.user));
}
