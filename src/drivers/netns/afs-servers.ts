// OpenAFS server base: one bosserver per server guest, in the guest's network namespace and in a private
// mount namespace where the guest's own tree is bound over Debian's fixed paths. The databases are in
// afs-db.ts, the fileserver, partitions and volumes in afs-fs.ts.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { alive, delay, lastLines, type Runner, until } from './exec.js';
import type { Layout } from './layout.js';
import { scrubbedEnv } from '../../state/secrets.js';
import { daemonMarks, killAll, netnsExists, nsLink, pidsWithNs } from './namespaces.js';

const ENCTYPE_NUMBERS: Record<string, number> = { 'aes256-cts-hmac-sha1-96': 18, 'aes128-cts-hmac-sha1-96': 17 };

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
  // Replaced, not rewritten in place: pts, vos and aklog read these while another step runs in the same guest.
  replaceFile(L.afsPath(guest, '/etc/openafs/server/ThisCell'), L.cell + '\n');
  replaceFile(L.afsPath(guest, '/etc/openafs/ThisCell'), L.cell + '\n');
  replaceFile(L.afsPath(guest, '/etc/openafs/cacheinfo'), '/afs:/var/cache/openafs:50000\n');
  // NetInfo/NetRestrict pin the address servers register (else whatever the hostname resolves to, 127.0.0.1 on Debian).
  replaceFile(L.afsPath(guest, '/var/lib/openafs/local/NetInfo'), g.ip + '\n');
  replaceFile(L.afsPath(guest, '/var/lib/openafs/local/NetRestrict'), '127.0.0.1\n');
  writeCellServDB(L, guest, dbs);
  writeNameFiles(L, guest);
}

/** /etc/hosts with the cell's guests (each guest has its own UTS name), /etc/resolv.conf pointing at the guest's own loopback (nothing listens: fails at once). */
export function writeNameFiles(L: Layout, guest: string): void {
  const hosts = ['127.0.0.1 localhost', ...Object.entries(L.reg.guests).filter(([, g]) => g.ip).map(([n, g]) => `${g.ip} ${n}.${L.cell} ${n}`), ''];
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
  const changed = replaceFile(server, text);
  replaceFile(L.afsPath(guest, '/etc/openafs/CellServDB'), text);
  return changed;
}

/** Writes `text` by rename when it differs (a reader sees the old file or the new, never a half-written one). */
function replaceFile(file: string, text: string): boolean {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return true;
}

export function bosPid(L: Layout, guest: string): number | undefined {
  const rec = L.reg.bos[guest];
  return rec && alive(rec) && netnsExists(L.guest(guest).ns) ? rec : undefined;
}

export function mustBos(L: Layout, guest: string): number {
  const pid = bosPid(L, guest);
  if (!pid) throw new Error(`bosserver is not running on ${guest}`);
  return pid;
}

/** Admin command inside the guest's bosserver namespaces, authenticated with the server key (-localauth). */
export async function admin(r: Runner, L: Layout, guest: string, cmd: string, args: string[], timeoutMs = 30_000) {
  return r.inProc(mustBos(L, guest), cmd, [...args, '-localauth'], { timeoutMs });
}

/** Ubik answers these for a while after an election (reads already work, writes not yet): retried, bounded. */
// "invalid RPC (RX) operation" (RXGEN_OPCODE): seen from pts right after a ptserver restart.
const UBIK_TRANSIENT = /no quorum elected|not synchronization site|UNOQUORUM|UNOTSYNC|Possible communication failure|server or network not responding|invalid RPC \(RX\) operation/i;

/** An answer worth retrying for a while: the databases are electing, or a server just restarted. */
export function ubikTransient(out: string): boolean {
  return UBIK_TRANSIENT.test(out);
}

export async function mustAdmin(r: Runner, L: Layout, guest: string, cmd: string, args: string[], ok?: RegExp) {
  const t0 = Date.now();
  for (;;) {
    const res = await admin(r, L, guest, cmd, args);
    if (res.code === 0 || (ok?.test(res.out))) return res;
    if (!ubikTransient(res.out) || Date.now() - t0 > 60_000) throw new Error(`${cmd} ${args.join(' ')} on ${guest} failed: ${lastLines(res.out, 4)}`);
    await delay(250);
  }
}

/** Guests that hold an OpenAFS tree (servers and clients): all get the same CellServDB. */
export function afsGuests(L: Layout): string[] {
  return Object.keys(L.reg.guests).filter((g) => existsSync(L.afsPath(g, '/etc/openafs/ThisCell')));
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
      detached: true, stdio: 'ignore', reject: false, extendEnv: false,
      env: { ...scrubbedEnv(), CELLCTL_LOG: L.afsPath(guest, '/var/log/openafs/bosserver.stdio.log'), ...daemonMarks(L, guest) },
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

export function mountedIn(pid: number, path: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/mounts`, 'utf8').split('\n').some((l) => l.split(' ')[1] === path);
  } catch {
    return false;
  }
}

/** A partition added after bosserver started: bind it into bosserver's mount namespace (the fileserver sees it at start). */
export async function bindPartition(r: Runner, L: Layout, guest: string, pid: number, p: string): Promise<boolean> {
  if (mountedIn(pid, p)) return false;
  mkdirSync(p, { recursive: true }); // the mount point, on the shared root filesystem
  await r.must('nsenter', ['-t', String(pid), '-m', '--', 'mount', '--bind', L.afsPath(guest, p), p]);
  return true;
}


export async function stopInstances(r: Runner, L: Layout, guest: string, instances: string[]): Promise<void> {
  if (!bosPid(L, guest)) return;
  const ip = L.ipOf(guest);
  await admin(r, L, guest, 'bos', ['stop', ip, ...instances, '-wait'], 30_000);
  await admin(r, L, guest, 'bos', ['delete', ip, ...instances]);
}

/** Ends bosserver and whatever still runs in its mount namespace (its instances). */
export async function stopBosserver(L: Layout, guest: string): Promise<void> {
  const pid = L.reg.bos[guest];
  const mnt = pid && alive(pid) ? nsLink(pid, 'mnt') : undefined;
  if (mnt) await killAll(() => pidsWithNs('mnt', mnt));
  delete L.reg.bos[guest];
  L.save();
}

