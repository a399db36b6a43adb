// The fileserver (dafs), the server side of its partitions, and volumes. Start-up order matters:
// dafs starts only once ptserver and vlserver answer (else the fileserver waits 30 s for AnyUser's CPS).
import type { AfsFsAttrs, VolumeAttrs } from '../../plan/resources.js';
import { waitDbs } from './afs-db.js';
import { buildOf, guestBuild, serverProgram } from './afs-build.js';
import { admin, bosPid, ensureBosserver, mustAdmin, mustBos, restartFromBuild, stopBosserver, stopInstances } from './afs-servers.js';
import type { Placement, Services } from './placement.js';
import { until } from './util.js';

const FS_WAIT_MS = 60_000;

export async function createAfsFs(x: Services, a: AfsFsAttrs, o: { restart?: boolean } = {}): Promise<Record<string, string | number | string[]>> {
  await restartFromBuild(x, a.guest, buildOf(a), o.restart);
  const p = x.place(a.guest);
  x.reg.afsFs[a.guest] = a.partitions;
  x.reg.dbPlanned = a.dbservers;
  x.save();
  const pid = await ensureBosserver(x, p, a.partitions);
  const ip = p.ip();
  const dbWait = await waitDbs(x, p); // dafs only after the dbs answer
  x.log(`${a.guest}: databases answer; starting dafs`);
  const b = guestBuild(x, a.guest);
  const cmds = ['dafileserver', 'davolserver', 'salvageserver', 'dasalvager'].flatMap((c) => ['-cmd', serverProgram(b, c)]);
  await mustAdmin(x, p, 'bos', ['create', ip, 'dafs', 'dafs', ...cmds], /already exists/);
  await mustAdmin(x, p, 'bos', ['start', ip, 'dafs']);
  const fsWait = await waitPartitions(x, p, a.partitions);
  return { ip, bosserver_pid: pid, partitions: a.partitions, db_wait_ms: dbWait, fs_wait_ms: fsWait };
}

/** The partitions the volserver lists, or undefined when it does not answer. */
export async function listpart(x: Services, p: Placement): Promise<string[] | undefined> {
  const res = await admin(x, p, 'vos', ['listpart', p.ip()], 10_000);
  return res.code === 0 ? res.stdout.split(/\s+/).filter((w) => w.startsWith('/vicep')) : undefined;
}

async function waitPartitions(x: Services, p: Placement, parts: string[]): Promise<number> {
  return until(`the volserver on ${p.guest} to list ${parts.join(' ')}`, FS_WAIT_MS, async () => {
    const have = await listpart(x, p);
    return !!have && parts.every((q) => have.includes(q));
  });
}

/** A partition's server side: visible to the fileserver, which attaches partitions at start (restarted if it lacks it). */
export async function createPartition(x: Services, p: Placement, path: string): Promise<Record<string, string>> {
  await mustBos(x, p);
  await p.exposePartition(path);
  const have = (await listpart(x, p)) ?? [];
  if (!have.includes(path)) {
    await mustAdmin(x, p, 'bos', ['restart', p.ip(), 'dafs']);
    await waitPartitions(x, p, [path]);
  }
  const parts = x.reg.afsFs[p.guest] ?? [];
  if (!parts.includes(path)) x.reg.afsFs[p.guest] = [...parts, path];
  x.save();
  return { path };
}

/** The registry forgets a partition (the placement's driver removes what held it). */
export function forgetPartition(x: Services, guest: string, path: string): void {
  if (x.reg.afsFs[guest]) x.reg.afsFs[guest] = x.reg.afsFs[guest]!.filter((q) => q !== path);
  x.save();
}

export async function createVolume(x: Services, a: VolumeAttrs): Promise<Record<string, string | number>> {
  const p = x.place(a.server);
  const ip = p.ip();
  await mustAdmin(x, p, 'vos', ['create', ip, a.partition, a.volume], /already exists/);
  const ex = await mustAdmin(x, p, 'vos', ['examine', a.volume]);
  const id = Number(/^\S+\s+(\d+)/.exec(ex.stdout)?.[1] ?? 0);
  return { id, server: ip, partition: a.partition };
}

export async function deleteVolume(x: Services, a: VolumeAttrs): Promise<void> {
  if (!x.has(a.server)) return;
  const p = x.place(a.server);
  if (!(await bosPid(x, p))) return; // the server (and its partition) is gone already
  await mustAdmin(x, p, 'vos', ['remove', '-server', p.ip(), '-partition', a.partition, '-id', a.volume], /does not exist|no such entry/i);
}

export async function deleteAfsFs(x: Services, guest: string): Promise<void> {
  if (x.has(guest)) {
    const p = x.place(guest);
    await stopInstances(x, p, ['dafs']);
    if (!x.reg.afsDb.includes(guest)) await stopBosserver(x, p);
  }
  delete x.reg.afsFs[guest];
  x.save();
}
