// OpenAFS server base: one bosserver per server guest, over the guest's own OpenAFS tree at Debian's
// fixed paths (/etc/openafs, /var/lib/openafs, ...). The databases are in afs-db.ts, the
// fileserver, partitions and volumes in afs-fs.ts.
import type { AfsBuild } from '../../plan/resources.js';
import { buildLabel, guestBuild, sameBuild, setGuestBuild } from './afs-build.js';
import { keytabBytes } from './kerberos.js';
import type { Placement, Services } from './placement.js';
import { delay, lastLines, shq, until } from './util.js';

const ENCTYPE_NUMBERS: Record<string, number> = { 'aes256-cts-hmac-sha1-96': 18, 'aes128-cts-hmac-sha1-96': 17 };

function cellServDB(x: Services, kind: string, dbservers: string[]): string {
  const up = dbservers.map((d) => [d, x.addressOf(d)] as const).filter(([, ip]) => ip);
  return [`>${x.cell} #cellctl ${kind} cell`, ...up.map(([d, ip]) => `${ip} #${d}`), ''].join('\n');
}

/**
 * /etc/hosts with the cell's guests, /etc/resolv.conf pointing at the guest's own loopback (nothing
 * listens: fails at once). aklog and fs name servers by the CellServDB comments and addresses: an
 * outside resolver, unreachable from the cell's network, would make each lookup wait for seconds.
 */
export async function writeNameFiles(x: Services, p: Placement): Promise<void> {
  await p.writeFiles(nameFiles(x));
}

function nameFiles(x: Services) {
  const hosts = ['127.0.0.1 localhost', ...x.guests().filter((g) => g.ip).map((g) => `${g.ip} ${g.name}.${x.cell} ${g.name}`), ''];
  return [{ path: '/etc/hosts', data: hosts.join('\n') }, { path: '/etc/resolv.conf', data: 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' }];
}

/** A guest's OpenAFS tree: config dirs (db/local 0700, else bosserver is "unhappy"), cell files, CellServDB, names. */
export async function ensureAfsTree(x: Services, p: Placement, dbs: string[] = x.reg.dbPlanned): Promise<void> {
  await p.mkdir(['/etc/openafs/server', '/var/log/openafs', '/var/cache/openafs']);
  await p.mkdir(['/var/lib/openafs/db', '/var/lib/openafs/local'], 0o700);
  const db = cellServDB(x, p.kind, dbs);
  await p.writeFiles([
    { path: '/etc/openafs/server/ThisCell', data: `${x.cell}\n` },
    { path: '/etc/openafs/ThisCell', data: `${x.cell}\n` },
    { path: '/etc/openafs/cacheinfo', data: '/afs:/var/cache/openafs:50000\n' },
    // NetInfo/NetRestrict pin the address servers register (else whatever the hostname resolves to, 127.0.0.1 on Debian).
    { path: '/var/lib/openafs/local/NetInfo', data: `${p.ip()}\n` },
    { path: '/var/lib/openafs/local/NetRestrict', data: '127.0.0.1\n' },
    { path: '/etc/openafs/server/CellServDB', data: db },
    { path: '/etc/openafs/CellServDB', data: db },
    ...nameFiles(x),
  ]);
}

/** CellServDB lists every db server of the cell, so a 3-db cell runs a real ubik election. Returns true if it changed. */
export async function writeCellServDB(x: Services, p: Placement, dbservers: string[] = x.reg.dbPlanned): Promise<boolean> {
  const text = cellServDB(x, p.kind, dbservers);
  const had = (await p.readFile('/etc/openafs/server/CellServDB'))?.toString();
  if (had === text) return false;
  await p.writeFiles([{ path: '/etc/openafs/server/CellServDB', data: text }, { path: '/etc/openafs/CellServDB', data: text }]);
  return true;
}

/** Guests that hold this cell's OpenAFS tree (servers, and netns clients): all get the same CellServDB. */
export async function afsGuests(x: Services): Promise<string[]> {
  const out: string[] = [];
  for (const { name } of x.guests()) if ((await x.place(name).readFile('/etc/openafs/server/ThisCell'))?.toString() === `${x.cell}\n`) out.push(name);
  return out;
}

export async function bosPid(x: Services, p: Placement): Promise<number | undefined> {
  const pid = x.reg.bos[p.guest];
  return pid && (await p.alive(pid)) ? pid : undefined;
}

export async function mustBos(x: Services, p: Placement): Promise<number> {
  const pid = await bosPid(x, p);
  if (!pid) throw new Error(`bosserver is not running on ${p.guest}`);
  return pid;
}

/** Admin command in the server guest, authenticated with the server key (-localauth). */
export async function admin(x: Services, p: Placement, cmd: string, args: string[], timeoutMs = 30_000) {
  if (!x.reg.bos[p.guest]) throw new Error(`bosserver is not running on ${p.guest}`);
  const res = await p.run(cmd, [...args, '-localauth'], { timeoutMs });
  if (res.code !== 0 && !(await bosPid(x, p))) throw new Error(`bosserver is not running on ${p.guest}`);
  return res;
}

/** Ubik answers these for a while after an election (reads already work, writes not yet): retried, bounded. */
// "invalid RPC (RX) operation" (RXGEN_OPCODE): seen from pts right after a ptserver restart.
const UBIK_TRANSIENT = /no quorum elected|not synchronization site|UNOQUORUM|UNOTSYNC|Possible communication failure|server or network not responding|invalid RPC \(RX\) operation/i;

/** An answer worth retrying for a while: the databases are electing, or a server just restarted. */
export function ubikTransient(out: string): boolean {
  return UBIK_TRANSIENT.test(out);
}

export async function mustAdmin(x: Services, p: Placement, cmd: string, args: string[], ok?: RegExp) {
  const t0 = Date.now();
  for (;;) {
    const res = await admin(x, p, cmd, args);
    if (res.code === 0 || (ok?.test(res.out))) return res;
    if (!ubikTransient(res.out) || Date.now() - t0 > 60_000) throw new Error(`${cmd} ${args.join(' ')} on ${p.guest} failed: ${lastLines(res.out, 4)}`);
    await delay(250);
  }
}

/** Keys from the keytab into KeyFileExt (a 0600 copy in the guest, removed after). `asetkey list` prints key material: it is never run. */
async function setKeys(x: Services, p: Placement): Promise<void> {
  const kt = await keytabBytes(x);
  const file = `${p.paths.tmp}/afs-service.keytab`;
  await p.writeFiles([{ path: file, data: kt.data, mode: 0o600 }]);
  const script = ['rm -f /etc/openafs/server/KeyFileExt /etc/openafs/server/KeyFile']
    .concat(Object.values(ENCTYPE_NUMBERS).map((e) => `asetkey add rxkad_krb5 ${kt.kvno} ${e} ${shq(file)} ${shq(kt.principal)} >/dev/null`))
    .join(' && ');
  try {
    const r = await p.run('sh', ['-c', script]);
    if (r.code !== 0) throw new Error(`asetkey on ${p.guest} failed (exit ${r.code}): ${lastLines(r.out, 4)}`);
  } finally {
    await p.remove(file);
  }
}

/** Starts the guest's bosserver (or reuses a running one) and makes its partitions visible to it. */
export async function ensureBosserver(x: Services, p: Placement, partitions: string[], dbs: string[] = x.reg.dbPlanned): Promise<number> {
  await ensureAfsTree(x, p, dbs);
  let pid = await bosPid(x, p);
  if (!pid) {
    await setKeys(x, p);
    // -nofork: the pid is bosserver's own, and its instances are its children.
    pid = await p.spawn('bosserver', ['-nofork', '-pidfiles'], { log: '/var/log/openafs/bosserver.stdio.log', env: p.daemonEnv });
    x.reg.bos[p.guest] = pid;
    x.save();
    const ip = p.ip();
    const started = pid;
    await until(`bosserver on ${p.guest}`, 20_000, async () => (await p.alive(started)) && (await p.run('bos', ['listhosts', ip, '-localauth'])).code === 0, 50);
  }
  for (const part of partitions) await p.exposePartition(part);
  return pid;
}

export async function stopInstances(x: Services, p: Placement, instances: string[]): Promise<void> {
  if (!(await bosPid(x, p))) return;
  const ip = p.ip();
  await admin(x, p, 'bos', ['stop', ip, ...instances, '-wait'], 30_000);
  await admin(x, p, 'bos', ['delete', ip, ...instances]);
}

/**
 * The guest's servers are to run `want`: recorded before its bosserver first starts; a running one
 * started from other software is ended with its instances, and its BosConfig (which names the old
 * programs' paths) removed, so the caller starts everything again from `want`. `always`: restart even
 * from the same build (a new catalog release served by the same software). True when it restarted.
 */
export async function restartFromBuild(x: Services, guest: string, want: AfsBuild, always = false): Promise<boolean> {
  const had = guestBuild(x, guest);
  if (!always && sameBuild(had, want)) return false;
  const p = x.place(guest);
  const running = await bosPid(x, p);
  if (running) {
    x.log(`${guest}: stopping bosserver and its instances (${buildLabel(had)}) to restart them from ${buildLabel(want)}`);
    await stopBosserver(x, p);
    await p.remove('/etc/openafs/BosConfig');
  }
  setGuestBuild(x, guest, want);
  return !!running;
}

/** Ends bosserver and whatever it started (its instances). */
export async function stopBosserver(x: Services, p: Placement): Promise<void> {
  const pid = x.reg.bos[p.guest];
  if (pid && (await p.alive(pid))) await p.stop(pid, 'tree');
  delete x.reg.bos[p.guest];
  x.save();
}
