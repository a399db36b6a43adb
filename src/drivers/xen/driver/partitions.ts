// /vicepX partitions of a domU: an ext4 image made without any mount (mke2fs -d) on the cell's
// storage, attached to the running domain with the real `xl block-attach` (dom0's block backend,
// a loop device over the file), mounted at /vicepX in the domU with an AlwaysAttach file.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import type { PartitionAttrs } from '../../../plan/resources.js';
import { until } from '../../netns/exec.js';
import { mountedAt } from '../../linux-guest/facts.js';
import type { GuestAgent } from '../../vm/agent.js';
import type { XenHost } from '../host.js';
import { xlBlockAttach, xlBlockDetach } from '../xl.js';
import { removeImages, vdevName } from './storage.js';
import type { Places } from './world.js';

const PARTITION_SIZE = '1G'; // sparse; mke2fs writes ~33 MB of metadata and journal
const ATTACH_WAIT_MS = 60_000;

/** A vdev for a new partition of the guest: from xvdp down, past its disks' and other partitions' names. */
function freeVdev(P: Places, guest: string): string {
  const g = P.guest(guest);
  const used = new Set([
    ...g.disks.map((d) => vdevName(d.raw.split(',')[1] ?? '').replace(/\d+$/, '').replace(/^(hd|sd)/, 'xvd')),
    ...Object.values(P.w.partitions).filter((p) => p.guest === guest).map((p) => p.vdev),
  ]);
  for (let c = 'p'.charCodeAt(0); c > 'a'.charCodeAt(0); c--) {
    const v = `xvd${String.fromCharCode(c)}`;
    if (!used.has(v)) return v;
  }
  throw new Error(`guest ${guest}: no free vdev for another partition (xvdb-xvdp are taken)`);
}


const hasDevice = async (agent: GuestAgent, vdev: string) => (await agent.exec('test', ['-b', `/dev/${vdev}`], { timeoutMs: 10_000 })).code === 0;

export async function createPartition(P: Places, host: XenHost, agent: GuestAgent, resName: string, a: PartitionAttrs): Promise<Record<string, string>> {
  const node = a.path.replace(/^\//, '').replace(/[^\w.-]/g, '_');
  let rec = P.w.partitions[resName];
  if (!rec) {
    const f = P.stored('vicep', `${a.guest}.${randomBytes(4).toString('hex')}`, `${node}.ext4`);
    rec = { guest: a.guest, path: a.path, image: f.image, target: f.dom0, vdev: freeVdev(P, a.guest) };
    P.w.partitions[resName] = rec;
    P.save(); // write-ahead
  }
  const out = { image: rec.image, device: `/dev/${rec.vdev}`, mounted: a.path, fs: 'ext4', attached: `xl block-attach ${a.guest} vdev=${rec.vdev} target=${rec.target}` };
  if (await mountedAt(agent, a.path)) return out;
  if (!existsSync(rec.image)) {
    const empty = join(dirname(rec.image), '.empty');
    mkdirSync(empty, { recursive: true });
    const r = await execa('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', node, '-d', empty, `${rec.image}.tmp`, PARTITION_SIZE], { reject: false, all: true });
    if (r.exitCode !== 0) throw new Error(`mke2fs for ${a.path}: ${String(r.all).trim()}`);
    renameSync(`${rec.image}.tmp`, rec.image);
  }
  const { vdev, target } = rec;
  return P.inKernel(a.guest, async () => {
    if (!(await hasDevice(agent, vdev))) {
      await xlBlockAttach(host, a.guest, { target, vdev });
      await until(`${a.guest} to see /dev/${vdev} for ${a.path}`, ATTACH_WAIT_MS, () => hasDevice(agent, vdev), 250);
    }
    // ext4 is loaded by the domU's init (its root is ext4 too)
    const r = await agent.exec('sh', ['-c', 'mkdir -p "$2" && mount -t ext4 "/dev/$1" "$2" && touch "$2/AlwaysAttach"', 'sh', vdev, a.path], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`mounting /dev/${vdev} on ${a.path} in ${a.guest}: ${(r.stderr || r.stdout).trim()}`);
    return out;
  });
}

/** Unmounts, detaches (xl block-detach) and removes the image. */
export async function deletePartition(P: Places, host: XenHost | undefined, agent: GuestAgent | undefined, resName: string): Promise<void> {
  const p = P.w.partitions[resName];
  if (!p) return;
  if (host && agent) {
    await P.inKernel(p.guest, async () => {
      if (await mountedAt(agent, p.path)) {
        const r = await agent.exec('umount', [p.path], { timeoutMs: 60_000 });
        if (r.code !== 0) throw new Error(`umount ${p.path} in ${p.guest}: ${(r.stderr || r.stdout).trim()}`);
      }
      if (await hasDevice(agent, p.vdev)) await xlBlockDetach(host, p.guest, p.vdev);
    });
  }
  removeImages([p.image]);
  delete P.w.partitions[resName];
  P.save();
}
