// /vicepX partitions as real filesystems: an ext4 image made without any mount (mke2fs -d), hot-plugged
// into the running guest (here through QMP: blockdev-add + device_add virtio-blk-pci; the libvirt
// driver plugs through libvirt), the disk's serial naming it, mounted at /vicepX with an AlwaysAttach
// file (as the netns driver's partitions have).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { PartitionAttrs } from '../../plan/resources.js';
import { until } from '../netns/exec.js';
import { mountedAt } from '../linux-guest/facts.js';
import type { GuestAgent } from '../vm/agent.js';
import { qmpCommand } from '../vm/qmp.js';
import type { Guest } from '../vm/qemu.js';
import type { Places } from './world.js';

const PARTITION_SIZE = '1G'; // sparse; mke2fs writes ~33 MB of metadata and journal
const PLUG_WAIT_MS = 30_000;

/** /vicepa -> "vicepa": QMP node-name, device id and virtio serial (<= 20 bytes). */
export function nodeName(path: string): string {
  const n = path.replace(/^\//, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,19}$/.test(n)) throw new Error(`partition ${path}: cannot name a disk after it`);
  return n;
}

/** A running guest a disk can be plugged into: its agent, and how its runner plugs and unplugs a disk. */
export interface PlugTarget {
  agent: GuestAgent;
  /** Attach the image as a virtio disk with this serial (converging: a half-done earlier plug is kept). */
  plug(node: string, image: string): Promise<void>;
  /** Detach it; resolves once the runner let go of the image. */
  unplug(node: string): Promise<void>;
}

async function qmp(g: Guest, cmd: string, args: Record<string, unknown>): Promise<string | undefined> {
  const r = await qmpCommand(g.qmpSocket, cmd, args, 10_000);
  return r.error ? `${r.error.class}: ${r.error.desc}` : undefined;
}

/** A QEMU guest of the qemu driver: the disk goes in and out through its QMP socket. */
export function qmpTarget(g: Guest): PlugTarget {
  return {
    agent: g.agent,
    async plug(node, image) {
      // a killed run may have left either half in QEMU: an existing node or device is kept
      for (const [cmd, args] of [
        ['blockdev-add', { driver: 'raw', 'node-name': node, file: { driver: 'file', filename: image } }],
        ['device_add', { driver: 'virtio-blk-pci', drive: node, id: node, serial: node }],
      ] as const) {
        const err = await qmp(g, cmd, args);
        if (err && !/duplicate|already|in use/i.test(err)) throw new Error(`hot-plugging ${image} into ${g.name} (${cmd}): ${err}`);
      }
    },
    async unplug(node) {
      await qmp(g, 'device_del', { id: node });
      await until(`${g.name} to release the disk ${node}`, PLUG_WAIT_MS, async () => {
        const err = await qmp(g, 'blockdev-del', { 'node-name': node });
        return !err || /not found|find node/i.test(err);
      }, 200);
    },
  };
}

/** The guest's block device whose serial is `serial`, or undefined. */
async function deviceWithSerial(agent: GuestAgent, serial: string): Promise<string | undefined> {
  const r = await agent.exec('sh', ['-c', 'for b in /sys/block/vd*; do [ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && echo "${b##*/}"; done; true', 'sh', serial], { timeoutMs: 10_000 });
  return r.stdout.trim().split('\n')[0] || undefined;
}


export async function createPartition(P: Places, g: PlugTarget, resName: string, a: PartitionAttrs): Promise<Record<string, string>> {
  const node = nodeName(a.path);
  const dir = join(P.guestDir(a.guest), 'vicep');
  const image = join(dir, `${node}.ext4`);
  P.w.partitions[resName] = { guest: a.guest, path: a.path, image, node };
  P.save();
  const agent = g.agent;
  const mounted = await mountedAt(agent, a.path);
  if (mounted) return { image, device: mounted, mounted: a.path, fs: 'ext4' };
  if (!existsSync(image)) {
    const empty = join(dir, '.empty');
    mkdirSync(empty, { recursive: true });
    const r = await execa('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', node, '-d', empty, `${image}.tmp`, PARTITION_SIZE], { reject: false, all: true });
    if (r.exitCode !== 0) throw new Error(`mke2fs for ${a.path}: ${String(r.all).trim()}`);
    await execa('mv', [`${image}.tmp`, image]);
  }
  return P.inKernel(a.guest, () => plugAndMount(g, a, image, node));
}

async function plugAndMount(g: PlugTarget, a: PartitionAttrs, image: string, node: string): Promise<Record<string, string>> {
  const agent = g.agent;
  let dev = await deviceWithSerial(agent, node);
  if (!dev) {
    await g.plug(node, image);
    await until(`${a.guest} to see the disk for ${a.path}`, PLUG_WAIT_MS, async () => !!(dev = await deviceWithSerial(agent, node)), 200);
  }
  // ext4 is in the initramfs (INIT_MODULES): loaded by /init, whatever the root is
  const r = await agent.exec('sh', ['-c', 'mkdir -p "$2" && mount -t ext4 "/dev/$1" "$2" && touch "$2/AlwaysAttach"', 'sh', dev!, a.path], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`mounting /dev/${dev} on ${a.path} in ${a.guest}: ${(r.stderr || r.stdout).trim()}`);
  return { image, device: `/dev/${dev}`, mounted: a.path, fs: 'ext4' };
}

/** Unmounts, unplugs (the guest releases the device, then its block node goes) and removes the image. */
export async function deletePartition(P: Places, g: PlugTarget | undefined, resName: string): Promise<void> {
  const p = P.w.partitions[resName];
  if (!p) return;
  if (g) await P.inKernel(p.guest, () => unmountAndUnplug(g, p.path, p.node, p.guest));
  rmSync(p.image, { force: true });
  delete P.w.partitions[resName];
  P.save();
}

async function unmountAndUnplug(g: PlugTarget, path: string, node: string, guest: string): Promise<void> {
  if (await mountedAt(g.agent, path)) {
    const r = await g.agent.exec('umount', [path], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`umount ${path} in ${guest}: ${(r.stderr || r.stdout).trim()}`);
  }
  await g.unplug(node);
}
