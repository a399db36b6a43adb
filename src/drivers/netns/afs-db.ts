// The AFS databases: ptserver and vlserver on every db server guest, a real ubik quorum among them,
// and the pts entries for the cell's principals.
import { rmSync } from 'node:fs';
import type { AfsDbAttrs, PtsUserAttrs } from '../../plan/resources.js';
import { type Runner, until } from './exec.js';
import type { Layout } from './layout.js';
import { admin, afsGuests, bosPid, ensureBosserver, mustAdmin, stopBosserver, stopInstances, writeCellServDB } from './afs-servers.js';

const DB_WAIT_MS = 120_000; // a fresh 3-server ubik election takes ~75-90 s; polled, never slept

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
 * Waits for a sync site, then for pts and vos to answer (pts is not asked before: see bootstrapDb).
 * A fresh multi-server quorum takes ~75-90 s: ubik gives no yes-vote to another server within
 * BIGTIME (75 s) of voting for itself at start-up.
 */
export async function waitDbs(r: Runner, L: Layout, guest: string, dbs: string[] = L.reg.dbPlanned): Promise<number> {
  const t0 = Date.now();
  if (dbs.length > 1) L.log(`${guest}: waiting for a ubik quorum of ${dbs.join(', ')} (a fresh election takes ~75-90 s)`);
  await until(`a ubik sync site for ptserver and vlserver (seen from ${guest})`, DB_WAIT_MS, () => syncSiteReady(r, L, guest, dbs));
  await until(`the AFS databases (ptserver, vlserver) to answer from ${guest}`, DB_WAIT_MS, () => dbsAnswer(r, L, guest));
  return Date.now() - t0;
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
  L.log(`${guest}: creating the AFS databases alone first, as the first of ${L.reg.dbPlanned.length} db servers`);
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

/** Any db server guest with a running bosserver: where pts commands run. */
export function dbGuest(L: Layout): string {
  const g = L.reg.afsDb.find((d) => bosPid(L, d));
  if (!g) throw new Error('no AFS database server is running in this cell');
  return g;
}

export async function createPtsUser(r: Runner, L: Layout, a: PtsUserAttrs): Promise<Record<string, string | number | boolean>> {
  const g = dbGuest(L);
  await mustAdmin(r, L, g, 'pts', ['createuser', '-name', a.user, ...(a.id !== undefined ? ['-id', String(a.id)] : [])], /already exists/);
  const ex = await mustAdmin(r, L, g, 'pts', ['examine', a.user]);
  const id = Number(/id: (-?\d+)/.exec(ex.stdout)?.[1] ?? 0);
  if (a.admin) {
    await mustAdmin(r, L, g, 'pts', ['adduser', a.user, 'system:administrators'], /already exists/);
    for (const s of Object.keys(L.reg.bos)) if (bosPid(L, s)) await mustAdmin(r, L, s, 'bos', ['adduser', L.ipOf(s), a.user], /File exists|already/);
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

export async function deleteAfsDb(r: Runner, L: Layout, guest: string): Promise<void> {
  await stopInstances(r, L, guest, ['ptserver', 'vlserver']);
  for (const f of ['prdb.DB0', 'prdb.DBSYS1', 'vldb.DB0', 'vldb.DBSYS1']) rmSync(L.afsPath(guest, `/var/lib/openafs/db/${f}`), { force: true });
  L.reg.afsDb = L.reg.afsDb.filter((d) => d !== guest);
  if (!L.reg.afsDb.length) L.reg.dbBootstrapped = false;
  L.save();
  if (!L.reg.afsFs[guest]) await stopBosserver(L, guest);
}

/** Fault injection: a db server's ptserver and vlserver stop (as if it crashed) / start again. */
export async function stopDbServer(r: Runner, L: Layout, guest: string): Promise<void> {
  await mustAdmin(r, L, guest, 'bos', ['shutdown', L.ipOf(guest), 'ptserver', 'vlserver', '-wait']);
}

export async function startDbServer(r: Runner, L: Layout, guest: string): Promise<void> {
  await mustAdmin(r, L, guest, 'bos', ['startup', L.ipOf(guest), 'ptserver', 'vlserver']);
}
