// File access through a client guest's cache manager: path traversal by the Rules of Mount Point
// Traversal (OpenAFS Administration Guide), the VLDB for where a volume lives, the fileserver for
// rights (the ACL, the caller's CPS from the ptserver, its token checked against the KeyFile), quotas,
// and read-only clones. Messages are what a Linux or NetBSD client prints (strerror of the errno).
import { effectiveRights, mountTarget } from '../../config/afs.js';
import { ANONYMOUS_ID, cellDbservers, dbUp, describeQuorum, fsUp, quorum } from './afs.js';
import { moduleLoaded } from './modules.js';
import { callerOf, nameOf } from './pts.js';
import { idOf, suffix, usageKb } from './volumes.js';
import {
  advance, guestIp, isUp, klog, own, reachable, SECONDS, type SimClient, type SimFileserver, type SimMount, type SimToken,
  type SimVolume, type VolType, type World,
} from './world.js';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };
export const fail = <T>(error: string): Outcome<T> => ({ ok: false, error });

export function liveClient(w: World, guest: string): Outcome<SimClient> {
  const c = own(w.clients, guest);
  if (!c) return fail(`no AFS client on ${guest} (afs-client.${guest} not created)`);
  const d = w.domains[guest];
  if (!isUp(d)) return fail(`guest ${guest} is ${d?.state ?? 'gone'}`);
  if (c.module !== null && !moduleLoaded(d, c.module)) return fail(`the AFS kernel module ${c.module} is not loaded on ${guest}`);
  if (!c.running) return fail(`the AFS client on ${guest} is stopped`);
  return { ok: true, value: c };
}

export interface Located {
  fs: SimFileserver;
  vol: SimVolume; // the instance reached: RW, RO clone or backup
  rel: string; // path inside the volume ("/" for its root)
  mount?: SimMount; // the path itself is a mount point (lsmount): the entry in the parent volume
}

/** EDQUOT and EROFS as the guest's C library says them (BSD and Solaris spell it "Disc"). */
function strerror(w: World, guest: string, errno: 'EDQUOT' | 'EROFS'): string {
  if (errno === 'EROFS') return 'Read-only file system';
  return w.domains[guest]?.kernel_kind === 'linux' ? 'Disk quota exceeded' : 'Disc quota exceeded';
}

/** Open one instance of a volume on a server the client can reach. */
function open(w: World, c: SimClient, path: string, volume: string, type: VolType): Outcome<{ fs: SimFileserver; vol: SimVolume }> {
  const entry = own(w.afs!.vldb.entries, volume);
  if (!entry) return fail(`${path}: No such device (volume ${volume}${suffix(type)} is not in the VLDB)`);
  const sites = type === 'ro' ? (entry.sites ?? []).filter((s) => s.released) : [{ server: entry.server, partition: entry.partition }];
  if (type === 'bk' && !entry.backup) return fail(`${path}: No such device (volume ${volume}.backup does not exist)`);
  for (const s of sites) {
    const fs = own(w.fileservers, s.server);
    if (!fs || !fsUp(w, s.server) || !reachable(w, c.guest, s.server)) {
      klog(w, w.domains[c.guest]!, `afs: Lost contact with file server ${guestIp(w, s.server) ?? s.server} in cell ${c.cell} (all multi-homed ip addresses down for the server)`);
      continue;
    }
    const vol = own(fs.attached, s.partition)?.[String(idOf(entry, type))];
    if (vol) return { ok: true, value: { fs, vol } };
  }
  if (sites.length === 0) return fail(`${path}: No such device (volume ${volume} has no released read-only site)`);
  return fail(`${path}: Connection timed out (${sites.length > 1 ? `no site of ${volume}${suffix(type)} answers` : `fileserver on ${sites[0]!.server} does not answer`})`);
}

/** Rules 1-3: .readonly/.backup as named; %rw mounts to the RW; from a RO volume to a released RO if there is one; else the RW. */
function follow(w: World, c: SimClient, path: string, m: SimMount, fromRo: boolean): Outcome<{ fs: SimFileserver; vol: SimVolume }> {
  const t = mountTarget(m.volume);
  if (t.clone) return open(w, c, path, t.base, t.clone === 'ro' ? 'ro' : 'bk');
  const entry = own(w.afs!.vldb.entries, t.base);
  const replicated = (entry?.sites ?? []).some((s) => s.released);
  return open(w, c, path, t.base, !m.rw && fromRo && replicated ? 'ro' : 'rw');
}

/** /afs is root.afs (its RO when released); /afs/<cell> and /afs/.<cell> are mount points of root.cell in it. */
export function locate(w: World, c: SimClient, path: string): Outcome<Located> {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== 'afs') return fail(`${path}: not under /afs`);
  const dbs = c.dbservers.filter((g) => dbUp(w, g) && reachable(w, c.guest, g));
  if (dbs.length === 0 || !w.afs) {
    return fail(`${path}: Connection timed out (no VLDB server answers: ${describeQuorum(quorum(w, c.dbservers.length ? c.dbservers : cellDbservers(w)))})`);
  }
  // Without root.afs the client is as with -dynroot: /afs is a read-only directory of cells.
  let cur: { fs: SimFileserver | null; vol: SimVolume | null } = { fs: null, vol: null };
  if (own(w.afs.vldb.entries, 'root.afs')) {
    const root = follow(w, c, path, { volume: 'root.afs', rw: false }, true);
    if (!root.ok) return root;
    cur = root.value;
  }
  let rel = '/';
  let mount: SimMount | undefined;
  for (let i = 1; i < parts.length; i++) {
    const name = parts[i]!;
    const next = rel === '/' ? `/${name}` : `${rel}/${name}`;
    const m = cur.vol === null || (cur.vol.name === 'root.afs' && rel === '/')
      ? (name === c.cell || name === `.${c.cell}` ? { volume: 'root.cell', rw: name.startsWith('.') } : undefined)
      : own(cur.vol.mounts, next);
    if (m) {
      const to = follow(w, c, path, m, cur.vol === null || cur.vol.type !== 'rw');
      if (!to.ok) return to;
      cur = to.value;
      rel = '/';
      mount = m;
      continue;
    }
    mount = undefined;
    const vol = cur.vol;
    if (!vol || !(own(vol.acls, next) || (i === parts.length - 1))) return fail(`${path}: No such file or directory`);
    rel = next;
  }
  if (!cur.vol || !cur.fs) return fail(`${path}: Is a directory (the dynamic /afs root)`);
  return { ok: true, value: { fs: cur.fs, vol: cur.vol, rel, ...(mount ? { mount } : {}) } };
}

/** The fileserver's view of the caller: the token checked against its KeyFile, then the ptserver's CPS. */
function caller(w: World, c: SimClient, fs: SimFileserver, token: SimToken | null): { user: string | null; who: number } {
  if (!token) return { user: null, who: ANONYMOUS_ID };
  const key = fs.keyfile.find((k) => k.kvno === token.kvno);
  if (!key || key.key_check !== token.key_check) {
    // RXKADUNKNOWNKEY / RXKADBADTICKET: the client drops the token and goes on unauthenticated.
    klog(w, w.domains[c.guest]!, `afs: Tokens for user of AFS id ${token.viceid ?? ANONYMOUS_ID} for cell ${c.cell} are discarded (rxkad error=${key ? 19270407 : 19270408})`);
    delete c.tokens[token.principal];
    return { user: null, who: ANONYMOUS_ID };
  }
  if (token.viceid === null || !w.afs) return { user: null, who: ANONYMOUS_ID };
  return { user: nameOf(w.afs, token.viceid) ?? null, who: token.viceid };
}

export function rightsIn(w: World, c: SimClient, fs: SimFileserver, vol: SimVolume, dir: string, token: SimToken | null): { rights: string; who: number; user: string | null } {
  const { user, who } = caller(w, c, fs, token);
  let cps: { cps: string[]; admin: boolean };
  try {
    cps = callerOf(w, user);
  } catch {
    cps = callerOf(w, null); // no ptserver answers: the fileserver treats the caller as anonymous
  }
  const rights = effectiveRights({ normal: own(vol.acls, dir) ?? {}, negative: own(vol.negative, dir) ?? {} }, cps.cps, cps.admin);
  return { rights, who, user };
}

function split(rel: string): { dir: string; name: string } {
  const i = rel.lastIndexOf('/');
  return { dir: i <= 0 ? '/' : rel.slice(0, i), name: rel.slice(i + 1) };
}

export function tokenFor(c: SimClient, principal: string | null): SimToken | null {
  return principal === null ? null : (Object.values(c.tokens).find((t) => t.principal === principal || t.principal.startsWith(`${principal}@`)) ?? null);
}

/** Open a path and the client, for one operation. */
function reach(w: World, guest: string, path: string): Outcome<{ c: SimClient; at: Located }> {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const loc = locate(w, live.value, path);
  return loc.ok ? { ok: true, value: { c: live.value, at: loc.value } } : loc;
}

/** What a store needs: the RW instance, the caller allowed to write there (i for a new file, w for an existing one). */
function writable(w: World, guest: string, path: string, principal: string | null): Outcome<{ fs: SimFileserver; vol: SimVolume; rel: string; who: number }> {
  const r = reach(w, guest, path);
  if (!r.ok) return r;
  const { c, at: { fs, vol, rel } } = r.value;
  const { dir, name } = split(rel);
  if (!name || own(vol.acls, rel) || own(vol.mounts, rel)) return fail(`${path}: Is a directory`);
  if (!own(vol.acls, dir)) return fail(`${path}: No such file or directory`);
  if (vol.type !== 'rw') return fail(`${path}: ${strerror(w, guest, 'EROFS')}`);
  const { rights, who } = rightsIn(w, c, fs, vol, dir, tokenFor(c, principal));
  if (!rights.includes('l') || !rights.includes(own(vol.files, rel) ? 'w' : 'i')) return fail(`${path}: Permission denied`);
  return { ok: true, value: { fs, vol, rel, who } };
}

/** The fileserver's quota check for a file of `bytes` at rel (it replaces what is there). */
function overQuota(w: World, guest: string, path: string, vol: SimVolume, rel: string, bytes: number): Outcome<never> | undefined {
  const after = usageKb(vol, rel) + Math.ceil(bytes / 1024);
  return vol.maxquota > 0 && after > vol.maxquota ? fail(`${path}: ${strerror(w, guest, 'EDQUOT')}`) : undefined;
}

/** Write a file through the client: StoreData on the fileserver holding the volume (append: >>). */
export function afsWrite(w: World, guest: string, path: string, data: string, principal: string | null, append = false):
  Outcome<{ volume: string; volid: number; server: string; bytes: number }> {
  const r = writable(w, guest, path, principal);
  if (!r.ok) return r;
  const { fs, vol, rel, who } = r.value;
  const prev = own(vol.files, rel);
  const content = append && prev ? prev.data + data : data;
  const over = overQuota(w, guest, path, vol, rel, Buffer.byteLength(content));
  if (over) return over;
  vol.files[rel] = { data: content, owner: prev?.owner ?? who, dv: (prev?.dv ?? 0) + 1 };
  advance(w, SECONDS.check);
  return { ok: true, value: { volume: vol.name + suffix(vol.type), volid: vol.volid, server: fs.guest, bytes: Buffer.byteLength(data) } };
}

/** Would the fileserver take a store of `bytes` at path? Its checks, in its order, with nothing stored: how a quota is probed with more than it leaves. */
export function afsWriteSize(w: World, guest: string, path: string, bytes: number, principal: string | null): Outcome<{ free_kb: number }> {
  const r = writable(w, guest, path, principal);
  if (!r.ok) return r;
  const { vol, rel } = r.value;
  return overQuota(w, guest, path, vol, rel, bytes) ?? { ok: true, value: { free_kb: vol.maxquota > 0 ? vol.maxquota - usageKb(vol, rel) : Infinity } };
}

/** Read a file through the client: FetchData from the fileserver (no client-side cache). */
export function afsRead(w: World, guest: string, path: string, principal: string | null): Outcome<string> {
  const r = reach(w, guest, path);
  if (!r.ok) return r;
  const { c, at: { fs, vol, rel } } = r.value;
  if (own(vol.acls, rel)) return fail(`${path}: Is a directory`);
  const { dir } = split(rel);
  if (!own(vol.acls, dir)) return fail(`${path}: No such file or directory`);
  const { rights } = rightsIn(w, c, fs, vol, dir, tokenFor(c, principal));
  if (!rights.includes('l') || !rights.includes('r')) return fail(`${path}: Permission denied`);
  const f = own(vol.files, rel);
  if (!f) return fail(`${path}: No such file or directory`);
  return { ok: true, value: f.data };
}

/** ls a directory through the client: files, subdirectories and mount points. */
export function afsList(w: World, guest: string, path: string, principal: string | null): Outcome<string[]> {
  const r = reach(w, guest, path);
  if (!r.ok) return r;
  const { c, at: { fs, vol, rel } } = r.value;
  const dir = rel === '/' ? '/' : rel.replace(/\/$/, '');
  if (!own(vol.acls, dir)) return fail(own(vol.files, dir) ? `${path}: Not a directory` : `${path}: No such file or directory`);
  const { rights } = rightsIn(w, c, fs, vol, dir, tokenFor(c, principal));
  if (!rights.includes('l')) return fail(`ls: ${path}: Permission denied`);
  const prefix = dir === '/' ? '/' : `${dir}/`;
  const names = [...Object.keys(vol.files), ...Object.keys(vol.acls), ...Object.keys(vol.mounts)]
    .filter((p) => p !== dir && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length));
  if (vol.name === 'root.afs' && dir === '/') names.push(c.cell, `.${c.cell}`);
  return { ok: true, value: [...new Set(names)].sort() };
}

/** mkdir: needs i in the parent; the new directory starts with its parent's ACL. */
export function afsMkdir(w: World, guest: string, path: string, principal: string | null): Outcome<void> {
  const r = reach(w, guest, path);
  if (!r.ok) return r;
  const { c, at: { fs, vol, rel } } = r.value;
  const { dir } = split(rel);
  if (own(vol.acls, rel) || own(vol.files, rel) || own(vol.mounts, rel)) return fail(`mkdir: ${path}: File exists`);
  if (vol.type !== 'rw') return fail(`mkdir: ${path}: ${strerror(w, guest, 'EROFS')}`);
  const { rights } = rightsIn(w, c, fs, vol, dir, tokenFor(c, principal));
  if (!rights.includes('l') || !rights.includes('i')) return fail(`mkdir: ${path}: Permission denied`);
  if (vol.maxquota > 0 && usageKb(vol) + 2 > vol.maxquota) return fail(`mkdir: ${path}: ${strerror(w, guest, 'EDQUOT')}`);
  vol.acls[rel] = { ...(vol.acls[dir] ?? {}) };
  vol.negative[rel] = { ...(vol.negative[dir] ?? {}) };
  advance(w, SECONDS.check);
  return { ok: true, value: undefined };
}

/** rm a file: needs d in its directory. */
export function afsRemove(w: World, guest: string, path: string, principal: string | null): Outcome<void> {
  const r = reach(w, guest, path);
  if (!r.ok) return r;
  const { c, at: { fs, vol, rel } } = r.value;
  if (own(vol.acls, rel) || own(vol.mounts, rel)) return fail(`rm: ${path}: Is a directory`);
  if (!own(vol.files, rel)) return fail(`rm: ${path}: No such file or directory`);
  if (vol.type !== 'rw') return fail(`rm: ${path}: ${strerror(w, guest, 'EROFS')}`);
  const { rights } = rightsIn(w, c, fs, vol, split(rel).dir, tokenFor(c, principal));
  if (!rights.includes('l') || !rights.includes('d')) return fail(`rm: ${path}: Permission denied`);
  delete vol.files[rel];
  advance(w, SECONDS.check);
  return { ok: true, value: undefined };
}

/** Where a path lives (VLDB + fileserver), without touching ACLs: what afs-resolves and fs whereis report. */
export function afsResolve(w: World, guest: string, path: string): Outcome<{ volume: string; volid: number; server: string; partition: string; type: VolType; mount?: SimMount }> {
  const r = reach(w, guest, path);
  if (!r.ok) return r;
  const { fs, vol, mount } = r.value.at;
  return { ok: true, value: { volume: vol.name + suffix(vol.type), volid: vol.volid, server: fs.guest, partition: vol.partition, type: vol.type, ...(mount ? { mount } : {}) } };
}

/** The directory a path names, with the caller's rights there: what fs la, fs lq and fs setacl work on. */
export function afsDir(w: World, guest: string, path: string, principal: string | null): Outcome<{ at: Located; dir: string; rights: string; user: string | null }> {
  const r = reach(w, guest, path);
  if (!r.ok) return r;
  const { c, at } = r.value;
  const dir = own(at.vol.acls, at.rel) ? at.rel : split(at.rel).dir;
  if (!own(at.vol.acls, dir)) return fail(`${path}: No such file or directory`);
  const { rights, user } = rightsIn(w, c, at.fs, at.vol, dir, tokenFor(c, principal));
  return { ok: true, value: { at, dir, rights, user } };
}
