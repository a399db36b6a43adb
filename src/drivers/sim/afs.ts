// AFS servers: ptserver+vlserver on the database servers (PRDB and VLDB, replicated by ubik),
// fileserver+volserver with their /vicepX partitions and volumes. Writes to the databases need a
// ubik quorum; reads need any database server that answers.
import type { AfsBuild, AfsDbAttrs, AfsFsAttrs, Attrs, PartitionAttrs, VolumeAttrs } from '../../plan/resources.js';
import { freshVolume } from './volumes.js';
import {
  advance, installKey, ipOrder, isUp, own, requireUp, SECONDS, spawn, syslog,
  type SimAfsCell, type SimAfsDb, type SimFileserver, type SimKey, type SimVolume, type World,
} from './world.js';
import { addr } from '../../plan/addrs.js';

// OpenAFS's first volume id; each vos create takes three (RW, RO, backup).
const FIRST_VOLID = 536870912;
// PRDB's built-in ids.
const SYSTEM_ADMINISTRATORS = -204;
const ANYUSER = -101;
const AUTHUSER = -102;
export const ANONYMOUS_ID = 32766;

export function dbUp(w: World, guest: string): boolean {
  const db = own(w.afsdbs, guest);
  return db?.running === true && isUp(w.domains[guest]);
}

export function fsUp(w: World, guest: string): boolean {
  const fs = own(w.fileservers, guest);
  return fs?.running === true && isUp(w.domains[guest]);
}

/** The cell's database servers, as the CellServDB files list them. */
export function cellDbservers(w: World): string[] {
  const all: string[] = [];
  for (const db of Object.values(w.afsdbs)) for (const g of db.dbservers) if (!all.includes(g)) all.push(g);
  return all;
}

export interface Quorum {
  servers: string[];
  up: string[];
  quorum: boolean;
  sync: string | null;
  votes: number;
}

/**
 * ubik: a sync site needs votes from more than half the servers. With an even count the
 * lowest-addressed server's vote breaks ties (it counts an extra half).
 */
export function quorum(w: World, servers: string[]): Quorum {
  const up = servers.filter((g) => dbUp(w, g)).sort((a, b) => ipOrder(w, a, b));
  const lowest = [...servers].sort((a, b) => ipOrder(w, a, b))[0];
  const votes = up.length + (servers.length % 2 === 0 && lowest !== undefined && up.includes(lowest) ? 0.5 : 0);
  const ok = servers.length > 0 && votes > servers.length / 2;
  return { servers, up, quorum: ok, sync: ok ? up[0]! : null, votes };
}

export function describeQuorum(q: Quorum): string {
  const need = Math.floor(q.servers.length / 2) + 1;
  return `${q.up.length} of ${q.servers.length} database servers up${q.up.length ? ` (${q.up.join(', ')})` : ''}` +
    (q.quorum ? `, sync site ${q.sync}` : `; a majority needs ${need}`);
}

/** A database write: needs the cell's databases and a quorum (ubik's UNOQUORUM otherwise). */
export function requireQuorum(w: World, what: string): SimAfsCell {
  if (!w.afs) throw new Error(`${what}: the cell has no database servers (no afs-db created)`);
  const q = quorum(w, cellDbservers(w));
  if (!q.quorum) throw new Error(`${what}: no quorum elected (ubik UNOQUORUM: ${describeQuorum(q)})`);
  return w.afs;
}

/** A database read: any database server that answers will do. */
export function requireDbRead(w: World, what: string): SimAfsCell {
  if (!w.afs) throw new Error(`${what}: the cell has no database servers (no afs-db created)`);
  if (!cellDbservers(w).some((g) => dbUp(w, g))) throw new Error(`${what}: no database server answers (${describeQuorum(quorum(w, cellDbservers(w)))})`);
  return w.afs;
}

function newCell(cell: string): SimAfsCell {
  return {
    cell,
    prdb: {
      next_user_id: 1,
      entries: {
        'system:administrators': { id: SYSTEM_ADMINISTRATORS, kind: 'group', members: [] },
        'system:anyuser': { id: ANYUSER, kind: 'group', members: [] },
        'system:authuser': { id: AUTHUSER, kind: 'group', members: [] },
        anonymous: { id: ANONYMOUS_ID, kind: 'user', members: [] },
      },
      next_group_id: -205,
    },
    vldb: { next_volid: FIRST_VOLID, entries: {}, servers: [] },
  };
}

function checkCell(w: World, cell: string, what: string): void {
  if (w.afs && w.afs.cell !== cell) throw new Error(`${what}: this world already holds cell ${w.afs.cell}, not ${cell}`);
}

/** The service key exported for this cell, as asetkey would install it. */
function cellKeyfile(w: World, cell: string): SimKey[] {
  const keyfile: SimKey[] = [];
  for (const kt of Object.values(w.keytabs)) if (kt.cell === cell) installKey(keyfile, kt);
  return keyfile;
}

/** The build a server runs (absent: the packaged one), and how its log names it. */
function buildOf(a: AfsBuild): AfsBuild {
  return a.prefix ? { prefix: a.prefix, version: a.version ?? 'unknown' } : {};
}
function label(software: string, a: AfsBuild): string {
  return a.prefix ? `${a.version} from ${a.prefix}` : software;
}
const sameSoftware = (rec: { software: string; build?: AfsBuild }, a: { software: string } & AfsBuild) =>
  rec.software === a.software && (rec.build?.prefix ?? null) === (a.prefix ?? null) && (rec.build?.version ?? null) === (a.version ?? null);

/**
 * A db server restarted from new software, as a rolling upgrade does it: refused when the other
 * servers alone hold no quorum (restarting it would leave the cell without a sync site), and done
 * only once the quorum has a sync site again.
 */
function restartDb(w: World, db: SimAfsDb, a: AfsDbAttrs): string | null {
  const what = addr.afsDb(a.guest);
  const d = requireUp(w, a.guest, what);
  const servers = cellDbservers(w);
  if (servers.length > 1) {
    db.running = false;
    const without = quorum(w, servers);
    db.running = true;
    if (!without.quorum) throw new Error(`${what}: restarting ${a.guest} would lose the quorum (without it: ${describeQuorum(without)}); bring the other db servers back first`);
  }
  db.software = a.software;
  const build = buildOf(a);
  if (build.prefix) db.build = build;
  else delete db.build;
  db.pids = { ptserver: spawn(d), vlserver: spawn(d) };
  syslog(w, d, `ptserver[${db.pids.ptserver}]`, `Starting AFS ptserver (${label(a.software, a)}), cell ${a.cell}`);
  syslog(w, d, `vlserver[${db.pids.vlserver}]`, `Starting AFS vlserver (${label(a.software, a)}), cell ${a.cell}`);
  advance(w, SECONDS.service);
  const q = quorum(w, servers);
  if (!q.quorum) throw new Error(`${what}: restarted, but the databases elect no sync site (${describeQuorum(q)})`);
  return q.sync;
}

export function createAfsDb(w: World, a: AfsDbAttrs): Attrs {
  const what = addr.afsDb(a.guest);
  const d = requireUp(w, a.guest, what);
  checkCell(w, a.cell, what);
  if (own(w.afsdbs, a.guest)) throw new Error(`${what}: ptserver and vlserver already run on ${a.guest}`);
  w.afs ??= newCell(a.cell);
  const pids = { ptserver: spawn(d), vlserver: spawn(d) };
  w.afsdbs[a.guest] = {
    guest: a.guest, cell: a.cell, software: a.software, dbservers: [...a.dbservers], pids, running: true,
    keyfile: cellKeyfile(w, a.cell), ...(a.prefix ? { build: buildOf(a) } : {}),
  };
  syslog(w, d, `ptserver[${pids.ptserver}]`, `Starting AFS ptserver (${label(a.software, a)}), cell ${a.cell}`);
  syslog(w, d, `vlserver[${pids.vlserver}]`, `Starting AFS vlserver (${label(a.software, a)}), cell ${a.cell}`);
  advance(w, SECONDS.service);
  return { ptserver_pid: pids.ptserver, vlserver_pid: pids.vlserver, quorum: quorum(w, cellDbservers(w)).quorum };
}

export function updateAfsDb(w: World, a: AfsDbAttrs): Attrs {
  const db = own(w.afsdbs, a.guest);
  if (!db) throw new Error(`${addr.afsDb(a.guest)}: no database server on ${a.guest} to update`);
  db.dbservers = [...a.dbservers]; // CellServDB rewritten; ubik re-elects
  const sync = sameSoftware(db, a) ? undefined : restartDb(w, db, a);
  advance(w, SECONDS.admin);
  return {
    ptserver_pid: db.pids.ptserver, vlserver_pid: db.pids.vlserver, quorum: quorum(w, cellDbservers(w)).quorum,
    ...(sync !== undefined ? { restarted: label(a.software, a), sync_site: sync } : {}),
  };
}

export function deleteAfsDb(w: World, guest: string): void {
  delete w.afsdbs[guest];
  if (Object.keys(w.afsdbs).length === 0) w.afs = null; // the last copy of the databases
  advance(w, SECONDS.admin);
}

export function createAfsFs(w: World, a: AfsFsAttrs): Attrs {
  const what = addr.afsFs(a.guest);
  const d = requireUp(w, a.guest, what);
  checkCell(w, a.cell, what);
  if (own(w.fileservers, a.guest)) throw new Error(`${what}: a fileserver already runs on ${a.guest}`);
  // The fileserver registers its addresses in the VLDB before it serves anything: a write.
  const cell = requireQuorum(w, `${what}: fileserver registering with the VLDB`);
  const fs: SimFileserver = {
    guest: a.guest, cell: a.cell, software: a.software, partitions: [...a.partitions], dbservers: [...a.dbservers],
    pid: spawn(d), volserver_pid: spawn(d), running: true, keyfile: cellKeyfile(w, a.cell), attached: {},
    ...(a.prefix ? { build: buildOf(a) } : {}),
  };
  w.fileservers[a.guest] = fs;
  if (!cell.vldb.servers.includes(a.guest)) cell.vldb.servers.push(a.guest);
  syslog(w, d, `fileserver[${fs.pid}]`, `File Server started, cell ${a.cell}`);
  advance(w, SECONDS.service);
  return { pid: fs.pid };
}

export function updateAfsFs(w: World, a: AfsFsAttrs): Attrs {
  const fs = own(w.fileservers, a.guest);
  if (!fs) throw new Error(`${addr.afsFs(a.guest)}: no fileserver on ${a.guest} to update`);
  fs.dbservers = [...a.dbservers];
  fs.partitions = [...a.partitions];
  if (!sameSoftware(fs, a)) {
    // dafs restarted from the new software: the fileserver and volserver get new pids; volumes stay on disk.
    const d = requireUp(w, a.guest, addr.afsFs(a.guest));
    fs.software = a.software;
    const build = buildOf(a);
    if (build.prefix) fs.build = build;
    else delete fs.build;
    fs.pid = spawn(d);
    fs.volserver_pid = spawn(d);
    syslog(w, d, `fileserver[${fs.pid}]`, `File Server started (${label(a.software, a)}), cell ${a.cell}`);
    advance(w, SECONDS.service);
  }
  advance(w, SECONDS.admin);
  return { pid: fs.pid };
}

export function deleteAfsFs(w: World, guest: string): void {
  delete w.fileservers[guest]; // its volumes go with it; VLDB entries stay, as after a dead server
  advance(w, SECONDS.admin);
}

// volutil_GetPartitionID() (OpenAFS src/util/volparse.c): 255 partitions, /vicepa ... /vicepiu.
const VICEP = /^\/vicep([a-z]|[a-h][a-z]|i[a-u])$/;

function liveFs(w: World, guest: string, what: string): SimFileserver {
  const fs = own(w.fileservers, guest);
  if (!fs) throw new Error(`${what}: no fileserver on ${guest}`);
  if (!fsUp(w, guest)) throw new Error(`${what}: could not contact the volserver on ${guest} (${isUp(w.domains[guest]) ? 'fs instance stopped' : `guest is ${w.domains[guest]?.state ?? 'gone'}`})`);
  return fs;
}

export function createPartition(w: World, a: PartitionAttrs): Attrs {
  const what = `partition ${a.guest}:${a.path}`;
  if (!VICEP.test(a.path)) throw new Error(`${what}: not an AFS partition name (the fileserver only attaches /vicepa ... /vicepiu)`);
  const fs = liveFs(w, a.guest, what);
  if (Object.hasOwn(fs.attached, a.path)) throw new Error(`${what}: already attached`);
  fs.attached[a.path] = {};
  syslog(w, w.domains[a.guest]!, `fileserver[${fs.pid}]`, `Partition ${a.path}: attached`);
  advance(w, SECONDS.admin);
  return { partition: a.path, volumes: 0 };
}

export function deletePartition(w: World, a: PartitionAttrs): void {
  const fs = own(w.fileservers, a.guest);
  if (fs) delete fs.attached[a.path];
  advance(w, SECONDS.admin);
}

function findVolume(fs: SimFileserver, partition: string, volid: number): SimVolume | undefined {
  return own(fs.attached, partition)?.[String(volid)];
}

export function createVolume(w: World, a: VolumeAttrs): Attrs {
  const what = `vos create ${a.server} ${a.partition} ${a.volume}`;
  const cell = requireQuorum(w, what);
  if (own(cell.vldb.entries, a.volume)) throw new Error(`${what}: Volume ${a.volume} already exists`);
  const fs = liveFs(w, a.server, what);
  const part = own(fs.attached, a.partition);
  if (!part) throw new Error(`${what}: partition ${a.partition} does not exist on the server`);
  const volid = cell.vldb.next_volid;
  cell.vldb.next_volid += 3;
  part[String(volid)] = freshVolume(a.volume, volid, a.partition);
  cell.vldb.entries[a.volume] = { volid, server: a.server, partition: a.partition };
  syslog(w, w.domains[a.server]!, `volserver[${fs.volserver_pid}]`, `Volume ${volid} (${a.volume}) created on ${a.partition}`);
  advance(w, SECONDS.admin);
  return { volid, server: a.server, partition: a.partition };
}

/** vos move: the volume's data goes to the new server/partition, the VLDB follows. */
export function moveVolume(w: World, a: VolumeAttrs): Attrs {
  const what = `vos move ${a.volume} to ${a.server} ${a.partition}`;
  const cell = requireQuorum(w, what);
  const entry = own(cell.vldb.entries, a.volume);
  if (!entry) throw new Error(`${what}: VLDB: no such entry`);
  const src = liveFs(w, entry.server, what);
  const vol = findVolume(src, entry.partition, entry.volid);
  if (!vol) throw new Error(`${what}: volume ${entry.volid} is not on ${entry.server} ${entry.partition}`);
  const dst = liveFs(w, a.server, what);
  const part = own(dst.attached, a.partition);
  if (!part) throw new Error(`${what}: partition ${a.partition} does not exist on ${a.server}`);
  delete src.attached[entry.partition]![String(entry.volid)];
  // The backup clone shares the RW's disk blocks: vos move deletes it (vos backup makes it again).
  delete src.attached[entry.partition]![String(entry.volid + 2)];
  vol.partition = a.partition;
  part[String(entry.volid)] = vol;
  cell.vldb.entries[a.volume] = { ...entry, server: a.server, partition: a.partition, backup: false };
  syslog(w, w.domains[a.server]!, `volserver[${dst.volserver_pid}]`, `Volume ${entry.volid} (${a.volume}) moved here from ${entry.server} ${entry.partition}`);
  advance(w, SECONDS.admin);
  return { volid: entry.volid, server: a.server, partition: a.partition };
}

/** vos remove; with the databases gone there is nothing left to remove. */
export function deleteVolume(w: World, a: VolumeAttrs): void {
  if (!w.afs || !own(w.afs.vldb.entries, a.volume)) return;
  const cell = requireQuorum(w, `vos remove ${a.volume}`);
  const entry = cell.vldb.entries[a.volume]!;
  const fs = own(w.fileservers, entry.server);
  if (fs) {
    liveFs(w, entry.server, `vos remove ${a.volume}`);
    delete own(fs.attached, entry.partition)?.[String(entry.volid)];
    delete own(fs.attached, entry.partition)?.[String(entry.volid + 2)];
  }
  // Its read-only clones go too, where their servers still run.
  for (const site of entry.sites ?? []) delete own(own(w.fileservers, site.server)?.attached ?? {}, site.partition)?.[String(entry.volid + 1)];
  delete cell.vldb.entries[a.volume];
  advance(w, SECONDS.admin);
}
