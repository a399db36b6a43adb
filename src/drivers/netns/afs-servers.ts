// OpenAFS servers: one bosserver per server guest, in the guest's network namespace and in a private
// mount namespace where the guest's own tree is bound over Debian's fixed paths. Start-up order
// matters: ptserver+vlserver must answer before dafs starts (else the fileserver waits 30 s).
import { existsSync, mkdirSync, readFileSync, readlinkSync, readdirSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { AfsDbAttrs, AfsFsAttrs, PartitionAttrs, PtsUserAttrs, VolumeAttrs } from '../../plan/types.js';
import { alive, delay, lastLines, type Runner, until } from './exec.js';
import type { Layout } from './layout.js';
import { killPids, netnsExists } from './namespaces.js';

const ENCTYPE_NUMBERS: Record<string, number> = { 'aes256-cts-hmac-sha1-96': 18, 'aes128-cts-hmac-sha1-96': 17 };
const DB_WAIT_MS = 120_000; // a fresh 3-server ubik election can take a while; polled, never slept
const FS_WAIT_MS = 60_000;

/** The script that runs first in a guest's private mount namespace (same pid all the way: every step execs). */
export function ensureEnterScript(L: Layout): string {
  const file = join(L.binDir, 'guest-ns.sh');
  const text = [
    '#!/bin/sh',
    '# ip netns exec NS unshare -m -u --propagation private guest-ns.sh ROOT HOSTNAME [/vicepX ...] -- CMD ARGS',
    "# Binds the guest's own tree over Debian's fixed OpenAFS paths, names the guest, then execs CMD.",
    'set -e',
    'R=$1; hostname "$2"; shift 2',
    'for d in /etc/openafs /var/lib/openafs /var/log/openafs /var/cache/openafs; do mount --bind "$R$d" "$d"; done',
    '# names of the cell only, and no outside resolver: a reverse lookup must not wait on a DNS server',
    'mount --bind "$R/etc/hosts" /etc/hosts; mount --bind "$R/etc/resolv.conf" /etc/resolv.conf',
    'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do mkdir -p "$1"; mount --bind "$R$1" "$1"; shift; done',
    'shift',
    '[ -n "$CELLCTL_LOG" ] && exec </dev/null >>"$CELLCTL_LOG" 2>&1',
    'exec "$@"',
    '',
  ].join('\n');
  // Written once, by rename: rewriting it in place while another guest execs it fails with ETXTBSY.
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
    mkdirSync(L.binDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o755 });
    renameSync(tmp, file);
  }
  return file;
}

export function enterArgs(L: Layout, guest: string, partitions: string[], cmd: string[]): string[] {
  const g = L.guest(guest);
  return ['netns', 'exec', g.ns, 'unshare', '-m', '-u', '--propagation', 'private', ensureEnterScript(L), L.afsPath(guest, ''), guest, ...partitions, '--', ...cmd];
}

/** Per-guest OpenAFS tree: config dirs (db/local 0700, else bosserver is "unhappy"), partitions with AlwaysAttach. */
export function ensureAfsTree(L: Layout, guest: string, partitions: string[] = [], dbs: string[] = L.reg.dbPlanned): void {
  for (const d of ['/etc/openafs/server', '/var/log/openafs', '/var/cache/openafs']) mkdirSync(L.afsPath(guest, d), { recursive: true });
  for (const d of ['/var/lib/openafs/db', '/var/lib/openafs/local']) {
    mkdirSync(L.afsPath(guest, d), { recursive: true });
    chmodSync(L.afsPath(guest, d), 0o700);
  }
  for (const p of partitions) {
    mkdirSync(L.afsPath(guest, p), { recursive: true });
    writeFileSync(join(L.afsPath(guest, p), 'AlwaysAttach'), '');
  }
  const g = L.guest(guest);
  writeFileSync(L.afsPath(guest, '/etc/openafs/server/ThisCell'), L.cell + '\n');
  writeFileSync(L.afsPath(guest, '/etc/openafs/ThisCell'), L.cell + '\n');
  writeFileSync(L.afsPath(guest, '/etc/openafs/cacheinfo'), '/afs:/var/cache/openafs:50000\n');
  // NetInfo/NetRestrict pin the address servers register (else whatever the hostname resolves to, 127.0.0.1 on Debian).
  writeFileSync(L.afsPath(guest, '/var/lib/openafs/local/NetInfo'), g.ip + '\n');
  writeFileSync(L.afsPath(guest, '/var/lib/openafs/local/NetRestrict'), '127.0.0.1\n');
  writeCellServDB(L, guest, dbs);
  writeNameFiles(L, guest);
}

/** /etc/hosts with the cell's guests (each guest has its own UTS name), /etc/resolv.conf pointing at the guest's own loopback (nothing listens: fails at once). */
export function writeNameFiles(L: Layout, guest: string): void {
  const hosts = ['127.0.0.1 localhost', ...Object.entries(L.reg.guests).map(([n, g]) => `${g.ip} ${n}.${L.cell} ${n}`), ''];
  writeFileSync(L.afsPath(guest, '/etc/hosts'), hosts.join('\n'));
  writeFileSync(L.afsPath(guest, '/etc/resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
}

function cellServDB(L: Layout, dbservers: string[]): string {
  return [`>${L.cell} #cellctl netns cell`, ...dbservers.filter((d) => L.reg.guests[d]).map((d) => `${L.ipOf(d)} #${d}`), ''].join('\n');
}

/** CellServDB lists every db server of the cell, so a 3-db cell runs a real ubik election. Returns true if it changed. */
export function writeCellServDB(L: Layout, guest: string, dbservers: string[] = L.reg.dbPlanned): boolean {
  const text = cellServDB(L, dbservers);
  const server = L.afsPath(guest, '/etc/openafs/server/CellServDB');
  const changed = !existsSync(server) || readFileSync(server, 'utf8') !== text;
  writeFileSync(server, text);
  writeFileSync(L.afsPath(guest, '/etc/openafs/CellServDB'), text);
  return changed;
}

export function bosPid(L: Layout, guest: string): number | undefined {
  const rec = L.reg.bos[guest];
  return rec && alive(rec) && netnsExists(L.guest(guest).ns) ? rec : undefined;
}

function mustBos(L: Layout, guest: string): number {
  const pid = bosPid(L, guest);
  if (!pid) throw new Error(`bosserver is not running on ${guest}`);
  return pid;
}

/** Admin command inside the guest's bosserver namespaces, authenticated with the server key (-localauth). */
export async function admin(r: Runner, L: Layout, guest: string, cmd: string, args: string[], timeoutMs = 30_000) {
  return r.inProc(mustBos(L, guest), cmd, [...args, '-localauth'], { timeoutMs });
}

/** Ubik answers these for a while after an election (reads already work, writes not yet): retried, bounded. */
const UBIK_TRANSIENT = /no quorum elected|not synchronization site|UNOQUORUM|UNOTSYNC|Possible communication failure|server or network not responding/i;

async function mustAdmin(r: Runner, L: Layout, guest: string, cmd: string, args: string[], ok?: RegExp) {
  const t0 = Date.now();
  for (;;) {
    const res = await admin(r, L, guest, cmd, args);
    if (res.code === 0 || (ok && ok.test(res.out))) return res;
    if (!UBIK_TRANSIENT.test(res.out) || Date.now() - t0 > 60_000) throw new Error(`${cmd} ${args.join(' ')} on ${guest} failed: ${lastLines(res.out, 4)}`);
    await delay(250);
  }
}

/** Keys from the keytab into KeyFileExt. `asetkey list` prints key material: it is never run. */
async function setKeys(r: Runner, L: Layout, guest: string): Promise<void> {
  const kt = L.reg.keytab;
  if (!kt) throw new Error('no afs service key yet (create the service-key resource first)');
  const script = ['rm -f /etc/openafs/server/KeyFileExt /etc/openafs/server/KeyFile']
    .concat(Object.values(ENCTYPE_NUMBERS).map((e) => `asetkey add rxkad_krb5 ${kt.kvno} ${e} '${kt.file}' '${kt.principal}' >/dev/null`))
    .join(' && ');
  await r.must('ip', enterArgs(L, guest, [], ['sh', '-c', script]));
}

/** Starts the guest's bosserver (or reuses a running one) and makes sure the partitions are bound in its namespace. */
export async function ensureBosserver(r: Runner, L: Layout, guest: string, partitions: string[], dbs: string[] = L.reg.dbPlanned): Promise<number> {
  ensureAfsTree(L, guest, partitions, dbs);
  let pid = bosPid(L, guest);
  if (!pid) {
    await setKeys(r, L, guest);
    // -nofork: the pid execa sees is bosserver's own (ip, unshare and the script all exec).
    const child = execa('ip', enterArgs(L, guest, partitions, ['bosserver', '-nofork', '-pidfiles']), {
      detached: true, stdio: 'ignore', reject: false, env: { CELLCTL_LOG: L.afsPath(guest, '/var/log/openafs/bosserver.stdio.log') },
    });
    child.catch(() => undefined);
    child.unref();
    pid = child.pid;
    if (!pid) throw new Error(`bosserver did not start on ${guest}`);
    L.reg.bos[guest] = pid;
    L.save();
    const ip = L.ipOf(guest);
    await until(`bosserver on ${guest}`, 10_000, async () => alive(pid) && (await r.inProc(pid!, 'bos', ['listhosts', ip, '-localauth'])).code === 0, 50);
  } else {
    for (const p of partitions) await bindPartition(r, L, guest, pid, p);
  }
  return pid;
}

function mountedIn(pid: number, path: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/mounts`, 'utf8').split('\n').some((l) => l.split(' ')[1] === path);
  } catch {
    return false;
  }
}

/** A partition added after bosserver started: bind it into bosserver's mount namespace (the fileserver sees it at start). */
async function bindPartition(r: Runner, L: Layout, guest: string, pid: number, p: string): Promise<boolean> {
  if (mountedIn(pid, p)) return false;
  mkdirSync(p, { recursive: true }); // the mount point, on the shared root filesystem
  await r.must('nsenter', ['-t', String(pid), '-m', '--', 'mount', '--bind', L.afsPath(guest, p), p]);
  return true;
}

async function dbsAnswer(r: Runner, L: Layout, guest: string): Promise<boolean> {
  // udebug "sync site" is not enough: ptserver answers UNOQUORUM for a few seconds after it.
  const pts = await admin(r, L, guest, 'pts', ['examine', 'system:anyuser'], 10_000);
  if (pts.code !== 0) return false;
  return (await admin(r, L, guest, 'vos', ['listvldb'], 10_000)).code === 0;
}

/** Some db server says "I am sync site" with recovery state 1f (found, has, labelled and sent the db: writes work), for pt and vl. */
async function syncSiteReady(r: Runner, L: Layout, from: string, dbservers: string[]): Promise<boolean> {
  const dbs = dbservers.filter((d) => L.reg.guests[d]);
  for (const port of ['7002', '7003']) {
    let ready = false;
    for (const d of dbs) {
      const u = await r.inNetns(L.guest(from).ns, 'udebug', [L.ipOf(d), port], { timeoutMs: 5000 });
      const st = /Recovery state (\w+)/.exec(u.stdout)?.[1];
      if (/I am sync site/.test(u.stdout) && st && (parseInt(st, 16) & 0x1f) === 0x1f) {
        ready = true;
        break;
      }
    }
    if (!ready) return false;
  }
  return true;
}

/**
 * Waits for quorum, then for pts and vos to answer. pts is not asked before there is a sync site:
 * ptserver initialises an empty prdb lazily, and in a fresh multi-server cell it may answer
 * "User or group doesn't exist" for minutes (see bootstrapDb). A fresh multi-server quorum takes ~75-90 s: ubik gives no yes-vote to another server within
 * BIGTIME (75 s) of voting for itself at start-up.
 */
export async function waitDbs(r: Runner, L: Layout, guest: string, dbs: string[] = L.reg.dbPlanned): Promise<number> {
  const t0 = Date.now();
  await until(`a ubik sync site for ptserver and vlserver (seen from ${guest})`, DB_WAIT_MS, () => syncSiteReady(r, L, guest, dbs));
  await until(`the AFS databases (ptserver, vlserver) to answer from ${guest}`, DB_WAIT_MS, () => dbsAnswer(r, L, guest));
  return Date.now() - t0;
}

/** Guests that hold an OpenAFS tree (servers and clients): all get the same CellServDB. */
function afsGuests(L: Layout): string[] {
  return Object.keys(L.reg.guests).filter((g) => existsSync(L.afsPath(g, '/etc/openafs/ThisCell')));
}

async function startDbInstances(r: Runner, L: Layout, guest: string): Promise<void> {
  const ip = L.ipOf(guest);
  for (const inst of ['ptserver', 'vlserver']) {
    await mustAdmin(r, L, guest, 'bos', ['create', ip, inst, 'simple', `/usr/lib/openafs/${inst}`], /already exists/);
    await mustAdmin(r, L, guest, 'bos', ['start', ip, inst]);
  }
}

/**
 * A multi-server cell is made the way the OpenAFS guide makes one: the first db server creates the
 * databases alone (its own CellServDB, sync site at once), then every server gets the full CellServDB
 * and the new ones receive the databases from it. Started together on empty databases, ptserver
 * answered "User or group doesn't exist" for minutes after the quorum formed.
 */
async function bootstrapDb(r: Runner, L: Layout, guest: string): Promise<number> {
  const t0 = Date.now();
  await ensureBosserver(r, L, guest, L.reg.afsFs[guest] ?? [], [guest]);
  await startDbInstances(r, L, guest);
  await waitDbs(r, L, guest, [guest]);
  L.reg.dbBootstrapped = true;
  L.save();
  return Date.now() - t0;
}

export async function createAfsDb(r: Runner, L: Layout, a: AfsDbAttrs): Promise<Record<string, string | number | string[]>> {
  L.reg.dbPlanned = a.dbservers;
  if (!L.reg.afsDb.includes(a.guest)) L.reg.afsDb.push(a.guest);
  L.save();
  const first = a.dbservers[0] ?? a.guest;
  let bootstrapMs = 0;
  if (a.dbservers.length > 1 && !L.reg.dbBootstrapped) {
    if (a.guest === first) bootstrapMs = await bootstrapDb(r, L, a.guest);
    else await until(`${first} to create the databases`, 60_000, async () => !!L.reg.dbBootstrapped).catch(() => 0);
  }
  // Servers started with a shorter CellServDB (the bootstrap one, or before a guest existed) get the full one and restart.
  for (const g of afsGuests(L)) {
    if (writeCellServDB(L, g) && L.reg.afsDb.includes(g) && bosPid(L, g)) {
      await admin(r, L, g, 'bos', ['restart', L.ipOf(g), 'ptserver', 'vlserver']);
    }
  }
  const pid = await ensureBosserver(r, L, a.guest, L.reg.afsFs[a.guest] ?? []);
  const ip = L.ipOf(a.guest);
  await startDbInstances(r, L, a.guest);
  // Quorum can only form once every planned db server runs: the last one waits for it.
  const started = a.dbservers.filter((d) => L.reg.afsDb.includes(d) && bosPid(L, d));
  let waited = 0;
  if (started.length === a.dbservers.length) waited = await waitDbs(r, L, a.guest);
  return { ip, bosserver_pid: pid, instances: ['ptserver', 'vlserver'], dbservers: a.dbservers, quorum_wait_ms: waited, ...(bootstrapMs ? { bootstrap_ms: bootstrapMs } : {}) };
}

export async function createAfsFs(r: Runner, L: Layout, a: AfsFsAttrs): Promise<Record<string, string | number | string[]>> {
  L.reg.afsFs[a.guest] = a.partitions;
  L.reg.dbPlanned = a.dbservers;
  L.save();
  const pid = await ensureBosserver(r, L, a.guest, a.partitions);
  const ip = L.ipOf(a.guest);
  const dbWait = await waitDbs(r, L, a.guest); // dafs only after the dbs answer
  await mustAdmin(r, L, a.guest, 'bos', ['create', ip, 'dafs', 'dafs', '-cmd', '/usr/lib/openafs/dafileserver', '-cmd', '/usr/lib/openafs/davolserver',
    '-cmd', '/usr/lib/openafs/salvageserver', '-cmd', '/usr/lib/openafs/dasalvager'], /already exists/);
  await mustAdmin(r, L, a.guest, 'bos', ['start', ip, 'dafs']);
  const fsWait = await waitPartitions(r, L, a.guest, a.partitions);
  return { ip, bosserver_pid: pid, partitions: a.partitions, db_wait_ms: dbWait, fs_wait_ms: fsWait };
}

async function listpart(r: Runner, L: Layout, guest: string): Promise<string[] | undefined> {
  const res = await admin(r, L, guest, 'vos', ['listpart', L.ipOf(guest)], 10_000);
  return res.code === 0 ? res.stdout.split(/\s+/).filter((w) => w.startsWith('/vicep')) : undefined;
}

async function waitPartitions(r: Runner, L: Layout, guest: string, parts: string[]): Promise<number> {
  return until(`the volserver on ${guest} to list ${parts.join(' ')}`, FS_WAIT_MS, async () => {
    const have = await listpart(r, L, guest);
    return !!have && parts.every((p) => have.includes(p));
  });
}

export async function createPartition(r: Runner, L: Layout, a: PartitionAttrs): Promise<Record<string, string>> {
  const pid = mustBos(L, a.guest);
  ensureAfsTree(L, a.guest, [a.path]);
  const have = (await listpart(r, L, a.guest)) ?? [];
  if (!have.includes(a.path)) {
    // The fileserver attaches partitions at start: bind the new one, restart dafs, wait for it.
    await bindPartition(r, L, a.guest, pid, a.path);
    await mustAdmin(r, L, a.guest, 'bos', ['restart', L.ipOf(a.guest), 'dafs']);
    await waitPartitions(r, L, a.guest, [a.path]);
    const parts = L.reg.afsFs[a.guest] ?? [];
    if (!parts.includes(a.path)) L.reg.afsFs[a.guest] = [...parts, a.path];
    L.save();
  }
  return { path: a.path, dir: L.afsPath(a.guest, a.path) };
}

export async function deletePartition(r: Runner, L: Layout, a: PartitionAttrs): Promise<void> {
  const pid = bosPid(L, a.guest);
  if (pid && mountedIn(pid, a.path)) await r.run('nsenter', ['-t', String(pid), '-m', '--', 'umount', '-l', a.path]);
  rmSync(L.afsPath(a.guest, a.path), { recursive: true, force: true });
  if (L.reg.afsFs[a.guest]) L.reg.afsFs[a.guest] = L.reg.afsFs[a.guest]!.filter((p) => p !== a.path);
  L.save();
}

export async function createVolume(r: Runner, L: Layout, a: VolumeAttrs): Promise<Record<string, string | number>> {
  const ip = L.ipOf(a.server);
  await mustAdmin(r, L, a.server, 'vos', ['create', ip, a.partition, a.volume], /already exists/);
  const ex = await mustAdmin(r, L, a.server, 'vos', ['examine', a.volume]);
  const id = Number(/^\S+\s+(\d+)/.exec(ex.stdout)?.[1] ?? 0);
  return { id, server: ip, partition: a.partition };
}

export async function deleteVolume(r: Runner, L: Layout, a: VolumeAttrs): Promise<void> {
  if (!bosPid(L, a.server)) return; // the server (and its partition) is gone already
  await mustAdmin(r, L, a.server, 'vos', ['remove', '-server', L.ipOf(a.server), '-partition', a.partition, '-id', a.volume], /does not exist|no such entry/i);
}

/** Any db server guest with a running bosserver: where pts commands run. */
export function dbGuest(L: Layout): string {
  const g = L.reg.afsDb.find((d) => bosPid(L, d));
  if (!g) throw new Error('no AFS database server is running in this cell');
  return g;
}

export async function createPtsUser(r: Runner, L: Layout, a: PtsUserAttrs): Promise<Record<string, string | number | boolean>> {
  const g = dbGuest(L);
  await mustAdmin(r, L, g, 'pts', ['createuser', '-name', a.user], /already exists/);
  const ex = await mustAdmin(r, L, g, 'pts', ['examine', a.user]);
  const id = Number(/id: (-?\d+)/.exec(ex.stdout)?.[1] ?? 0);
  if (a.admin) {
    await mustAdmin(r, L, g, 'pts', ['adduser', a.user, 'system:administrators'], /already exists/);
    for (const s of Object.keys(L.reg.bos)) if (bosPid(L, s)) await mustAdmin(r, L, s, 'bos', ['adduser', L.ipOf(s), a.user]);
  }
  L.reg.ptsUsers[a.user] = { principal: a.principal, admin: a.admin };
  L.save();
  return { user: a.user, id, admin: a.admin };
}

export async function deletePtsUser(r: Runner, L: Layout, a: PtsUserAttrs): Promise<void> {
  const g = L.reg.afsDb.find((d) => bosPid(L, d));
  if (g) {
    await mustAdmin(r, L, g, 'pts', ['delete', a.user], /does not exist|no such/i);
    for (const s of Object.keys(L.reg.bos)) if (bosPid(L, s)) await admin(r, L, s, 'bos', ['removeuser', L.ipOf(s), a.user]);
  }
  delete L.reg.ptsUsers[a.user];
  L.save();
}

async function stopInstances(r: Runner, L: Layout, guest: string, instances: string[]): Promise<void> {
  if (!bosPid(L, guest)) return;
  const ip = L.ipOf(guest);
  await admin(r, L, guest, 'bos', ['stop', ip, ...instances, '-wait'], 30_000);
  await admin(r, L, guest, 'bos', ['delete', ip, ...instances]);
}

/** Ends bosserver and whatever still runs in its mount namespace (its instances). */
export async function stopBosserver(L: Layout, guest: string): Promise<void> {
  const pid = L.reg.bos[guest];
  if (pid && alive(pid)) await killPids(pidsInMountNs(pid));
  delete L.reg.bos[guest];
  L.save();
}

export function pidsInMountNs(pid: number): number[] {
  let want: string;
  try {
    want = readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return [];
  }
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/ns/mnt`) === want;
    } catch {
      return false;
    }
  });
}

export async function deleteAfsDb(r: Runner, L: Layout, guest: string): Promise<void> {
  await stopInstances(r, L, guest, ['ptserver', 'vlserver']);
  for (const f of ['prdb.DB0', 'prdb.DBSYS1', 'vldb.DB0', 'vldb.DBSYS1']) rmSync(L.afsPath(guest, `/var/lib/openafs/db/${f}`), { force: true });
  L.reg.afsDb = L.reg.afsDb.filter((d) => d !== guest);
  if (!L.reg.afsDb.length) L.reg.dbBootstrapped = false;
  L.save();
  if (!L.reg.afsFs[guest]) await stopBosserver(L, guest);
}

export async function deleteAfsFs(r: Runner, L: Layout, guest: string): Promise<void> {
  await stopInstances(r, L, guest, ['dafs']);
  delete L.reg.afsFs[guest];
  L.save();
  if (!L.reg.afsDb.includes(guest)) await stopBosserver(L, guest);
}

/** Fault injection: a db server's ptserver and vlserver stop (as if it crashed) / start again. */
export async function stopDbServer(r: Runner, L: Layout, guest: string): Promise<void> {
  await mustAdmin(r, L, guest, 'bos', ['shutdown', L.ipOf(guest), 'ptserver', 'vlserver', '-wait']);
}
export async function startDbServer(r: Runner, L: Layout, guest: string): Promise<void> {
  await mustAdmin(r, L, guest, 'bos', ['startup', L.ipOf(guest), 'ptserver', 'vlserver']);
}
