// What a volume holds and its clones: quota and usage, mount points, ACLs, read-only sites and
// vos release, the backup volume. The RW is the one written; a clone is a copy made at release
// (RO, id RW+1, on each site) or backup (id RW+2, beside the RW) and never changes after.
import type {
  AclAttrs, Attrs, BackupAttrs, MountAttrs, QuotaAttrs, ReleaseAttrs, RoSiteAttrs,
} from '../../plan/resources.js';
import { fsUp, requireDbRead, requireQuorum } from './afs.js';
import {
  advance, DEFAULT_QUOTA, isUp, own, SECONDS, syslog, type SimFileserver, type SimSite, type SimVldbEntry, type SimVolume, type VolType, type World,
} from './world.js';

/** A fresh volume's root directory: only system:administrators has rights (anonymous ls is refused). */
export function freshVolume(name: string, volid: number, partition: string): SimVolume {
  return {
    name, volid, type: 'rw', partition, maxquota: DEFAULT_QUOTA,
    acls: { '/': { 'system:administrators': 'rlidwka' } }, negative: { '/': {} }, mounts: {}, files: {},
  };
}

/** 1-KB blocks in use, as vos examine counts them: 2 per directory, 1 per mount point, each file rounded up. */
export function usageKb(v: SimVolume, without?: string): number {
  let kb = 2 * Object.keys(v.acls).length + Object.keys(v.mounts).length;
  for (const [p, f] of Object.entries(v.files)) if (p !== without) kb += Math.ceil(Buffer.byteLength(f.data) / 1024);
  return kb;
}

export const idOf = (entry: SimVldbEntry, type: VolType): number => entry.volid + (type === 'ro' ? 1 : type === 'bk' ? 2 : 0);
export const suffix = (type: VolType): string => (type === 'ro' ? '.readonly' : type === 'bk' ? '.backup' : '');

function clone(v: SimVolume, type: VolType, volid: number, partition: string): SimVolume {
  return { ...structuredClone(v), type, volid, partition };
}

function liveServer(w: World, guest: string, what: string): SimFileserver {
  const fs = own(w.fileservers, guest);
  if (!fs || !fsUp(w, guest)) throw new Error(`${what}: could not contact the volserver on ${guest} (${fs ? (isUp(w.domains[guest]) ? 'fs instance stopped' : `guest is ${w.domains[guest]?.state ?? 'gone'}`) : 'no fileserver'})`);
  return fs;
}

/** The VLDB entry and the RW instance of a volume (a VLDB read, then the volserver holding it). */
export function rwOf(w: World, volume: string, what: string): { entry: SimVldbEntry; vol: SimVolume; fs: SimFileserver } {
  const cell = requireDbRead(w, what);
  const entry = own(cell.vldb.entries, volume);
  if (!entry) throw new Error(`${what}: VLDB: no such entry (volume ${volume})`);
  const fs = liveServer(w, entry.server, what);
  const vol = own(fs.attached, entry.partition)?.[String(entry.volid)];
  if (!vol) throw new Error(`${what}: volume ${entry.volid} is not on ${entry.server} ${entry.partition}`);
  return { entry, vol, fs };
}

// ---- quota (fs setquota) ----

export function setQuota(w: World, a: QuotaAttrs): Attrs {
  const { vol } = rwOf(w, a.volume, `fs setquota ${a.volume} -max ${a.max_kb}`);
  vol.maxquota = a.max_kb;
  advance(w, SECONDS.admin);
  return { max_kb: vol.maxquota, used_kb: usageKb(vol) };
}

/** Dropping the declaration puts back what vos create gave the volume. */
export function resetQuota(w: World, a: QuotaAttrs): void {
  if (!w.afs || !own(w.afs.vldb.entries, a.volume)) return;
  setQuota(w, { volume: a.volume, max_kb: DEFAULT_QUOTA });
}

// ---- mount points (fs mkmount, fs rmmount) ----

export function makeMount(w: World, a: MountAttrs): Attrs {
  const { vol } = rwOf(w, a.in_volume, `fs mkmount ${a.path} ${a.volume}`);
  const parent = a.dir.slice(0, a.dir.lastIndexOf('/')) || '/';
  if (!own(vol.acls, parent)) throw new Error(`fs mkmount ${a.path}: ${parent} is not a directory of ${a.in_volume}`);
  if (own(vol.files, a.dir) || own(vol.acls, a.dir)) throw new Error(`fs: ${a.path}: File exists`);
  vol.mounts[a.dir] = { volume: a.volume, rw: a.rw };
  advance(w, SECONDS.admin);
  return { mount: `${a.rw ? '%' : '#'}${a.volume}.`, in_volume: a.in_volume };
}

export function removeMount(w: World, a: MountAttrs): void {
  if (!w.afs || !own(w.afs.vldb.entries, a.in_volume)) return;
  const { vol } = rwOf(w, a.in_volume, `fs rmmount ${a.path}`);
  delete vol.mounts[a.dir];
  advance(w, SECONDS.admin);
}

// ---- ACLs (fs setacl -clear) ----

export function setAcl(w: World, a: AclAttrs): Attrs {
  const { vol } = rwOf(w, a.volume, `fs setacl ${a.path}`);
  vol.acls['/'] = { ...a.normal };
  vol.negative['/'] = { ...a.negative };
  advance(w, SECONDS.admin);
  return { entries: Object.keys(a.normal).length + Object.keys(a.negative).length };
}

/** Without a declared ACL the root directory has what vos create gave it. */
export function resetAcl(w: World, a: AclAttrs): void {
  if (!w.afs || !own(w.afs.vldb.entries, a.volume)) return;
  setAcl(w, { ...a, normal: { 'system:administrators': 'rlidwka' }, negative: {} });
}

// ---- read-only sites (vos addsite, vos remsite) and vos release ----

export function addSite(w: World, a: RoSiteAttrs): Attrs {
  const what = `vos addsite ${a.server} ${a.partition} ${a.volume}`;
  const cell = requireQuorum(w, what);
  const entry = own(cell.vldb.entries, a.volume);
  if (!entry) throw new Error(`${what}: VLDB: no such entry`);
  const fs = liveServer(w, a.server, what);
  if (!own(fs.attached, a.partition)) throw new Error(`${what}: partition ${a.partition} does not exist on the server`);
  entry.sites ??= [];
  if (entry.sites.some((s) => s.server === a.server && s.partition === a.partition)) throw new Error(`${what}: RO already exists on partition ${a.partition}`);
  entry.sites.push({ server: a.server, partition: a.partition, released: false });
  advance(w, SECONDS.admin);
  return { roid: idOf(entry, 'ro'), released: false };
}

/** vos remsite, and the RO clone removed where its server still runs (vos remove -id NAME.readonly). */
export function removeSite(w: World, a: RoSiteAttrs): void {
  const entry = w.afs ? own(w.afs.vldb.entries, a.volume) : undefined;
  if (!entry) return;
  requireQuorum(w, `vos remsite ${a.server} ${a.partition} ${a.volume}`);
  entry.sites = (entry.sites ?? []).filter((s) => !(s.server === a.server && s.partition === a.partition));
  delete own(own(w.fileservers, a.server)?.attached ?? {}, a.partition)?.[String(idOf(entry, 'ro'))];
  advance(w, SECONDS.admin);
}

/** vos release: every RO site gets a fresh clone of the RW; a site whose server is down stays old. */
export function release(w: World, volume: string): { released: string[]; failed: string[] } {
  const what = `vos release ${volume}`;
  requireQuorum(w, what);
  const { entry, vol } = rwOf(w, volume, what);
  const sites: SimSite[] = entry.sites ?? [];
  if (!sites.length) throw new Error(`${what}: Volume ${volume} has no replicas - release operation is meaningless!`);
  const released: string[] = [];
  const failed: string[] = [];
  for (const s of sites) {
    const fs = own(w.fileservers, s.server);
    const part = fs && fsUp(w, s.server) ? own(fs.attached, s.partition) : undefined;
    if (!part) {
      failed.push(`${s.server} ${s.partition}`);
      continue;
    }
    part[String(idOf(entry, 'ro'))] = clone(vol, 'ro', idOf(entry, 'ro'), s.partition);
    s.released = true;
    released.push(`${s.server} ${s.partition}`);
    syslog(w, w.domains[s.server]!, `volserver[${fs!.volserver_pid}]`, `Volume ${idOf(entry, 'ro')} (${volume}.readonly) released from ${entry.volid}`);
  }
  advance(w, SECONDS.admin);
  if (failed.length) throw new Error(`${what}: The volume ${volume} could not be released to ${failed.join(', ')} (volserver not answering); the other sites are released`);
  return { released, failed };
}

export function releaseResource(w: World, a: ReleaseAttrs): Attrs {
  return { released: release(w, a.volume).released };
}

// ---- backup volumes (vos backup) ----

export function backup(w: World, volume: string): Attrs {
  const what = `vos backup ${volume}`;
  requireQuorum(w, what);
  const { entry, vol, fs } = rwOf(w, volume, what);
  fs.attached[entry.partition]![String(idOf(entry, 'bk'))] = clone(vol, 'bk', idOf(entry, 'bk'), entry.partition);
  entry.backup = true;
  advance(w, SECONDS.admin);
  return { bkid: idOf(entry, 'bk'), server: entry.server, partition: entry.partition };
}

export function backupResource(w: World, a: BackupAttrs): Attrs {
  return backup(w, a.volume);
}

export function removeBackup(w: World, a: BackupAttrs): void {
  const entry = w.afs ? own(w.afs.vldb.entries, a.volume) : undefined;
  if (!entry?.backup) return;
  requireQuorum(w, `vos remove -id ${a.volume}.backup`);
  delete own(own(w.fileservers, entry.server)?.attached ?? {}, entry.partition)?.[String(idOf(entry, 'bk'))];
  entry.backup = false;
  advance(w, SECONDS.admin);
}

/** The declared contents of a volume instance, in the words release and backup resources use. */
export function contentOf(v: SimVolume): string[] {
  const show = (m: Record<string, string>, sign: string) => Object.entries(m).map(([n, x]) => `${sign}${n} ${x}`);
  const mounts = Object.entries(v.mounts).map(([dir, m]) => `mount ${dir} ${m.rw ? '%' : '#'}${m.volume}`);
  const acl = [...show(v.acls['/'] ?? {}, ''), ...show(v.negative['/'] ?? {}, '-')].join(', ');
  return [...mounts, ...(acl === 'system:administrators rlidwka' ? [] : [`acl / ${acl}`])].sort();
}
