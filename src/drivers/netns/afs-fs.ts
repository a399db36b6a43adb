// The fileserver (dafs), its partitions and volumes. Start-up order matters: dafs starts only once
// ptserver and vlserver answer (else the fileserver waits 30 s for AnyUser's CPS).
import { rmSync } from 'node:fs';
import type { AfsFsAttrs, PartitionAttrs, VolumeAttrs } from '../../plan/resources.js';
import { type Runner, until } from './exec.js';
import type { Layout } from './layout.js';
import { admin, bindPartition, bosPid, ensureAfsTree, ensureBosserver, mountedIn, mustAdmin, mustBos, stopBosserver, stopInstances } from './afs-servers.js';
import { waitDbs } from './afs-db.js';

const FS_WAIT_MS = 60_000;

export async function createAfsFs(r: Runner, L: Layout, a: AfsFsAttrs): Promise<Record<string, string | number | string[]>> {
  L.reg.afsFs[a.guest] = a.partitions;
  L.reg.dbPlanned = a.dbservers;
  L.save();
  const pid = await ensureBosserver(r, L, a.guest, a.partitions);
  const ip = L.ipOf(a.guest);
  const dbWait = await waitDbs(r, L, a.guest); // dafs only after the dbs answer
  L.log(`${a.guest}: databases answer; starting dafs`);
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

export async function deleteAfsFs(r: Runner, L: Layout, guest: string): Promise<void> {
  await stopInstances(r, L, guest, ['dafs']);
  delete L.reg.afsFs[guest];
  L.save();
  if (!L.reg.afsDb.includes(guest)) await stopBosserver(L, guest);
}
