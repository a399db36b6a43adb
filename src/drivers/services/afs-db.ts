// The AFS databases: ptserver and vlserver on every db server guest, a real ubik quorum among them,
// and the pts entries for the cell's principals.
import type { AfsDbAttrs, PtsUserAttrs } from '../../plan/resources.js';
import { buildLabel, buildOf, guestBuild, serverProgram } from './afs-build.js';
import { admin, afsGuests, bosPid, ensureBosserver, mustAdmin, restartFromBuild, stopBosserver, stopInstances, writeCellServDB } from './afs-servers.js';
import type { Placement, Services } from './placement.js';
import { until } from './util.js';

const DB_WAIT_MS = 120_000; // a fresh 3-server ubik election takes ~75-90 s; polled, never slept

async function dbsAnswer(x: Services, p: Placement): Promise<boolean> {
  // udebug "sync site" is not enough: ptserver answers UNOQUORUM for a few seconds after it.
  const pts = await admin(x, p, 'pts', ['examine', 'system:anyuser'], 10_000);
  if (pts.code !== 0) return false;
  return (await admin(x, p, 'vos', ['listvldb'], 10_000)).code === 0;
}

/** Some db server says "I am sync site" with recovery state 1f (found, has, labelled and sent the db: writes work), for pt and vl. */
async function syncSiteReady(x: Services, from: Placement, dbservers: string[]): Promise<boolean> {
  const ips = dbservers.map((d) => x.addressOf(d)).filter((ip): ip is string => !!ip);
  for (const port of ['7002', '7003']) {
    let ready = false;
    for (const ip of ips) {
      const u = await from.run('udebug', [ip, port], { timeoutMs: 5000 });
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
 * Waits for a sync site, then for pts and vos to answer (pts is not asked before: see bootstrapDb).
 * A fresh multi-server quorum takes ~75-90 s: ubik gives no yes-vote to another server within
 * BIGTIME (75 s) of voting for itself at start-up.
 */
export async function waitDbs(x: Services, p: Placement, dbs: string[] = x.reg.dbPlanned): Promise<number> {
  const t0 = Date.now();
  if (dbs.length > 1) x.log(`${p.guest}: waiting for a ubik quorum of ${dbs.join(', ')} (a fresh election takes ~75-90 s)`);
  await until(`a ubik sync site for ptserver and vlserver (seen from ${p.guest})`, DB_WAIT_MS, () => syncSiteReady(x, p, dbs));
  await until(`the AFS databases (ptserver, vlserver) to answer from ${p.guest}`, DB_WAIT_MS, () => dbsAnswer(x, p));
  return Date.now() - t0;
}

async function startDbInstances(x: Services, p: Placement): Promise<void> {
  const ip = p.ip();
  for (const inst of ['ptserver', 'vlserver']) {
    await mustAdmin(x, p, 'bos', ['create', ip, inst, 'simple', serverProgram(guestBuild(x, p.guest), inst)], /already exists/);
    await mustAdmin(x, p, 'bos', ['start', ip, inst]);
  }
}

/**
 * A multi-server cell is made the way the OpenAFS guide makes one: the first db server creates the
 * databases alone (its own CellServDB, sync site at once), then every server gets the full CellServDB
 * and the new ones receive the databases from it. Started together on empty databases, ptserver
 * answered "User or group doesn't exist" for minutes after the quorum formed.
 */
async function bootstrapDb(x: Services, p: Placement): Promise<number> {
  const t0 = Date.now();
  x.log(`${p.guest}: creating the AFS databases alone first, as the first of ${x.reg.dbPlanned.length} db servers`);
  await ensureBosserver(x, p, x.reg.afsFs[p.guest] ?? [], [p.guest]);
  await startDbInstances(x, p);
  await waitDbs(x, p, [p.guest]);
  x.reg.dbBootstrapped = true;
  x.save();
  return Date.now() - t0;
}

/**
 * The ubik sync site as `p`'s own ptserver and vlserver see it (udebug: "I am sync site", or "Sync
 * host A"): its address when both name the same one, else undefined (not back in the quorum yet).
 */
export async function syncSiteSeenBy(x: Services, p: Placement): Promise<string | undefined> {
  let site: string | undefined;
  for (const port of ['7002', '7003']) {
    const u = await p.run('udebug', [p.ip(), port], { timeoutMs: 5000 });
    const here = /I am sync site/.test(u.stdout) ? p.ip() : /Sync host (\d+\.\d+\.\d+\.\d+)/.exec(u.stdout)?.[1];
    if (!here || here === '0.0.0.0' || (site && site !== here)) return undefined;
    site = here;
  }
  return site;
}

/** What the server on `p` reports it is (rxdebug -version, ptserver's port): "OpenAFS 1.8.9 ...". */
export async function runningVersion(p: Placement, port = '7002'): Promise<string | undefined> {
  const r = await p.run('rxdebug', [p.ip(), port, '-version'], { timeoutMs: 5000 });
  return /AFS version:\s*(?:@\(#\) ?)?(.+)/.exec(r.stdout)?.[1]?.trim();
}

/** `o.restart`: the server's software changed (an update): restarted even when the same build serves it. */
export async function createAfsDb(x: Services, a: AfsDbAttrs, o: { restart?: boolean } = {}): Promise<Record<string, string | number | string[]>> {
  // New software on a running server (a rolling upgrade step: diff.ts orders them one at a time).
  const restarted = await restartFromBuild(x, a.guest, buildOf(a), o.restart);
  const p = x.place(a.guest);
  x.reg.dbPlanned = a.dbservers;
  if (!x.reg.afsDb.includes(a.guest)) x.reg.afsDb.push(a.guest);
  x.save();
  const first = a.dbservers[0] ?? a.guest;
  let bootstrapMs = 0;
  if (a.dbservers.length > 1 && !x.reg.dbBootstrapped) {
    if (a.guest === first) bootstrapMs = await bootstrapDb(x, p);
    else await until(`${first} to create the databases`, 60_000, async () => !!x.reg.dbBootstrapped).catch(() => 0);
  }
  // Servers started with a shorter CellServDB (the bootstrap one, or before a guest existed) get the full one and restart.
  for (const g of await afsGuests(x)) {
    const q = x.place(g);
    if ((await writeCellServDB(x, q)) && x.reg.afsDb.includes(g) && (await bosPid(x, q))) {
      await admin(x, q, 'bos', ['restart', q.ip(), 'ptserver', 'vlserver']);
    }
  }
  const pid = await ensureBosserver(x, p, x.reg.afsFs[a.guest] ?? []);
  await startDbInstances(x, p);
  // Quorum can only form once every planned db server runs: the last one waits for it.
  let started = 0;
  for (const d of a.dbservers) if (x.reg.afsDb.includes(d) && x.has(d) && (await bosPid(x, x.place(d)))) started++;
  let waited = 0;
  if (started === a.dbservers.length) waited = await waitDbs(x, p);
  const out = { ip: p.ip(), bosserver_pid: pid, instances: ['ptserver', 'vlserver'], dbservers: a.dbservers, quorum_wait_ms: waited, ...(bootstrapMs ? { bootstrap_ms: bootstrapMs } : {}) };
  if (!restarted) return out;
  // The checks before the next db server goes: this one is back in the quorum, running the new software.
  let sync: string | undefined;
  await until(`${a.guest} to rejoin the ubik quorum after its restart`, DB_WAIT_MS, async () => !!(sync = await syncSiteSeenBy(x, p)));
  const version = await runningVersion(p);
  const want = a.prefix ? a.version : undefined;
  if (want && version !== want) throw new Error(`${a.guest} restarted, but its ptserver reports ${version ?? 'no version'} where ${buildLabel(buildOf(a))} was started`);
  x.log(`${a.guest}: restarted from ${buildLabel(buildOf(a))}; sync site ${sync}; rxdebug -version: ${version}`);
  return { ...out, restarted: buildLabel(buildOf(a)), sync_site: sync ?? '', running_version: version ?? 'unknown' };
}

/** A db server guest with a running bosserver: where pts commands run. */
export async function dbPlace(x: Services): Promise<Placement> {
  for (const d of x.reg.afsDb) {
    if (!x.has(d)) continue;
    const p = x.place(d);
    if (await bosPid(x, p)) return p;
  }
  throw new Error('no AFS database server is running in this cell');
}

export async function createPtsUser(x: Services, a: PtsUserAttrs): Promise<Record<string, string | number | boolean>> {
  const p = await dbPlace(x);
  await mustAdmin(x, p, 'pts', ['createuser', '-name', a.user, ...(a.id !== undefined ? ['-id', String(a.id)] : [])], /already exists/);
  const ex = await mustAdmin(x, p, 'pts', ['examine', a.user]);
  const id = Number(/id: (-?\d+)/.exec(ex.stdout)?.[1] ?? 0);
  if (a.admin) {
    await mustAdmin(x, p, 'pts', ['adduser', a.user, 'system:administrators'], /already exists/);
    for (const s of Object.keys(x.reg.bos)) {
      if (!x.has(s)) continue;
      const q = x.place(s);
      if (await bosPid(x, q)) await mustAdmin(x, q, 'bos', ['adduser', q.ip(), a.user], /File exists|already/);
    }
  }
  x.reg.ptsUsers[a.user] = { principal: a.principal, admin: a.admin };
  x.save();
  return { user: a.user, id, admin: a.admin };
}

export async function deletePtsUser(x: Services, a: PtsUserAttrs): Promise<void> {
  const p = await dbPlace(x).catch(() => undefined);
  if (p) {
    await mustAdmin(x, p, 'pts', ['delete', a.user], /does not exist|no such/i);
    for (const s of Object.keys(x.reg.bos)) {
      if (!x.has(s)) continue;
      const q = x.place(s);
      if (await bosPid(x, q)) await admin(x, q, 'bos', ['removeuser', q.ip(), a.user]);
    }
  }
  delete x.reg.ptsUsers[a.user];
  x.save();
}

export async function deleteAfsDb(x: Services, guest: string): Promise<void> {
  if (x.has(guest)) {
    const p = x.place(guest);
    await stopInstances(x, p, ['ptserver', 'vlserver']);
    for (const f of ['prdb.DB0', 'prdb.DBSYS1', 'vldb.DB0', 'vldb.DBSYS1']) await p.remove(`/var/lib/openafs/db/${f}`);
    if (!x.reg.afsFs[guest]) await stopBosserver(x, p);
  }
  x.reg.afsDb = x.reg.afsDb.filter((d) => d !== guest);
  if (!x.reg.afsDb.length) x.reg.dbBootstrapped = false;
  x.save();
}

/** Fault injection: a db server's ptserver and vlserver stop (as if it crashed) / start again. */
export async function stopDbServer(x: Services, guest: string): Promise<void> {
  const p = x.place(guest);
  await mustAdmin(x, p, 'bos', ['shutdown', p.ip(), 'ptserver', 'vlserver', '-wait']);
}

export async function startDbServer(x: Services, guest: string): Promise<void> {
  const p = x.place(guest);
  await mustAdmin(x, p, 'bos', ['startup', p.ip(), 'ptserver', 'vlserver']);
}
