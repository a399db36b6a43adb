// Hosts and guests. A host is a network namespace with a Linux bridge per cell bridge (the netns
// driver's code); a guest is a QEMU VM started inside its host's namespace, one tap per vif on
// the vif's bridge, the cell file's MACs and addresses, its disks as sparse files under the state dir.
import { closeSync, existsSync, mkdirSync, openSync, rmSync, ftruncateSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Catalog } from '../../catalog/types.js';
import type { DiskSpec } from '../../config/types.js';
import type { GuestAttrs, HostAttrs } from '../../plan/resources.js';
import { shortHash } from '../netns/layout.js';
import type { Runner } from '../netns/exec.js';
import { createHost, deleteHost, netnsExists } from '../netns/namespaces.js';
import { prepareBootFiles, type BootFiles } from '../vm/boot-files.js';
import { attachGuest, guestAlive, qemuPidsUnder, startGuest, stopGuest, waitReady, type Guest, type StopMethod } from '../vm/qemu.js';

export { qemuPidsUnder } from '../vm/qemu.js';
import { guestPaths, type Disk, type Vif } from '../vm/qemu-args.js';
import { bootChoice, guestMemory } from './boot.js';
import type { GuestRec, Places } from './world.js';

const DISK_BYTES = 1 << 30; // a new file: or phy: image is a 1 GiB sparse file (costs nothing until written)
const BOOT_TIMEOUT_MS = 180_000; // agent up; ~3-6 s on a quiet machine, TCG on a busy one is slower

export async function createQemuHost(r: Runner, P: Places, name: string, a: HostAttrs): Promise<Record<string, string | number | string[]>> {
  P.w.hosts[name] = { memory: a.memory, dom0: a.dom0_memory, cpus: a.cpus };
  P.save();
  const bridges = await createHost(r, P.net, name, a);
  return { netns: P.hostNs(name), bridges: Object.values(bridges), memory: a.memory, dom0_memory: a.dom0_memory, cpus: a.cpus };
}

export async function deleteQemuHost(r: Runner, P: Places, name: string): Promise<void> {
  const guests = Object.entries(P.w.guests).filter(([, g]) => g.host === name).map(([n]) => n);
  if (guests.length) throw new Error(`host ${name} still has guests: ${guests.join(', ')}`);
  await deleteHost(r, P.net, name); // the namespace, its bridges and anything left in it
  rmSync(join(P.root, 'hosts', name), { recursive: true, force: true });
  delete P.w.hosts[name];
  P.save();
}

/** Memory and cpus as xm would refuse them: the host's RAM minus dom0 and its other guests. */
export function checkFits(P: Places, name: string, a: GuestAttrs, memory: number): void {
  const h = P.w.hosts[a.host];
  if (!h) throw new Error(`host ${a.host} is not up (create host.${a.host} first)`);
  const others = Object.entries(P.w.guests).filter(([n, g]) => n !== name && g.host === a.host);
  const held = others.reduce((s, [, g]) => s + g.memory, 0);
  const free = h.memory - h.dom0 - held;
  if (memory > free) {
    throw new Error(`guest ${name} needs ${memory} MiB but host ${a.host} has ${free} MiB free (${h.memory} MiB RAM, dom0 ${h.dom0} MiB, other guests ${held} MiB${others.length ? `: ${others.map(([n, g]) => `${n} ${g.memory}`).join(', ')}` : ''})`);
  }
  if (a.vcpus > h.cpus) throw new Error(`guest ${name} has ${a.vcpus} vcpus but host ${a.host} has ${h.cpus} cpus`);
}

/** On-link prefix for a test address: the classful private ranges, so guests on one bridge reach each other. */
export function prefixLen(ip: string): number {
  if (ip.startsWith('10.')) return 8;
  if (/^172\.(1[6-9]|2\d|3[01])\./.test(ip)) return 12;
  if (ip.startsWith('192.168.')) return 16;
  return 24;
}

/** xm's default for a vif without a MAC: Xen's OUI 00:16:3e and three bytes of its own (here: from names). */
export function defaultMac(P: Places, guest: string, i: number): string {
  const h = shortHash(`${P.prefix}|${guest}|${i}`, 6);
  return `00:16:3e:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

function sparseFile(path: string, bytes: number): void {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w', 0o600);
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** file: images live in the guest's directory, phy: devices under their host's; both made sparse on first use. */
export function diskFiles(P: Places, name: string, host: string, disks: DiskSpec[]): Disk[] {
  return disks.map((d, i) => {
    const file = d.kind === 'phy' ? P.deviceImage(host, d.target) : join(P.guestDir(name), 'disks', `${i}-${basename(d.target).replace(/[^\w.-]/g, '_')}`);
    sparseFile(file, DISK_BYTES);
    return { file, ...(d.mode === 'r' ? { readonly: true } : {}) };
  });
}

export interface GuestBoot {
  boot(image: string | undefined): Promise<BootFiles>;
}

/** Boot files, prepared once per kernel image for the life of the driver. */
export function bootCache(): GuestBoot {
  const memo = new Map<string, Promise<BootFiles>>();
  return {
    boot(image) {
      const key = image ?? '';
      let p = memo.get(key);
      if (!p) {
        p = prepareBootFiles(image ? { image } : {});
        p.catch(() => memo.delete(key));
        memo.set(key, p);
      }
      return p;
    },
  };
}

export async function createQemuGuest(r: Runner, P: Places, catalog: Catalog, boot: GuestBoot, name: string, a: GuestAttrs, log: (l: string) => void): Promise<{ guest: Guest; outputs: Record<string, string | number | boolean | string[]> }> {
  const mem = guestMemory(a.memory, catalog);
  const choice = bootChoice(a, catalog);
  const running = attachGuest(name, P.guestDir(name));
  if (running && P.w.guests[name]?.state === 'running') return { guest: running, outputs: outputsOf(P.w.guests[name]!, running, mem.raised, 0) };
  if (running) await stopGuest(running); // a half-made guest of a killed run: start it again
  checkFits(P, name, a, mem.memory);
  const hostNs = P.hostNs(a.host);
  const host = P.net.reg.hosts[a.host];
  if (!host || !netnsExists(hostNs)) throw new Error(`host ${a.host} is not up (create host.${a.host} first)`);
  if (mem.raised) log(`guest ${name}: ${mem.raised}`);

  const rec: GuestRec = {
    host: a.host, netns: hostNs, dir: P.guestDir(name), kernel: a.kernel, ...(choice.standIn ? { standIn: choice.standIn } : {}),
    taps: a.vifs.map((_, i) => P.tap(name, i)), macs: a.vifs.map((v, i) => (v.mac ?? defaultMac(P, name, i)).toLowerCase()),
    ips: a.vifs.map((v) => v.ip ?? null), bridges: a.vifs.map((v) => v.bridge),
    memory: mem.memory, asked: a.memory, vcpus: a.vcpus, disks: [], state: 'starting',
  };
  P.w.guests[name] = rec;
  P.save(); // write-ahead: recorded before any tap, file or process exists

  const vifs: Vif[] = [];
  for (const [i, v] of a.vifs.entries()) {
    const bridge = host.bridges[v.bridge];
    if (!bridge) throw new Error(`guest ${name}: host ${a.host} has no bridge ${v.bridge} (its bridges: ${Object.keys(host.bridges).join(', ') || 'none'})`);
    const tap = rec.taps[i]!;
    if ((await r.run('ip', ['-n', hostNs, 'link', 'show', 'dev', tap])).code !== 0) {
      await r.must('ip', ['-n', hostNs, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    }
    await r.must('ip', ['-n', hostNs, 'link', 'set', tap, 'master', bridge, 'up']);
    vifs.push({ mac: rec.macs[i]!, tap, ...(v.ip ? { ip: v.ip, prefix: prefixLen(v.ip) } : {}) });
  }
  const disks = diskFiles(P, name, a.host, a.disks);
  rec.disks = disks.map((d) => d.file);
  P.save();

  const files = await boot.boot(choice.image);
  const t0 = Date.now();
  const g = await startGuest({
    name, dir: rec.dir, memoryMiB: mem.memory, cpus: a.vcpus, kernel: files.kernel.boot, initrd: files.initramfs.path,
    vifs, disks, netns: hostNs,
  });
  rec.pid = g.pid;
  rec.release = files.kernel.release;
  rec.accel = `${g.accel.accel}: ${g.accel.reason}`;
  P.save();
  log(`guest ${name}: QEMU pid ${g.pid} in ${hostNs} (${rec.accel}), ${mem.memory} MiB, kernel ${files.kernel.release}${choice.standIn ? ` (stand-in for ${a.kernel})` : ''}`);
  await waitReady(g, BOOT_TIMEOUT_MS);
  const bootMs = Date.now() - t0;
  rec.state = 'running';
  P.save();
  log(`guest ${name}: agent ready ${(bootMs / 1000).toFixed(1)} s after QEMU started`);
  return { guest: g, outputs: outputsOf(rec, g, mem.raised, bootMs) };
}

function outputsOf(rec: GuestRec, g: Guest, raised: string | undefined, bootMs: number): Record<string, string | number | boolean | string[]> {
  return {
    qemu_pid: g.pid, accel: rec.accel ?? `${g.accel.accel}: ${g.accel.reason}`, memory: rec.memory, kernel_release: rec.release ?? '',
    netns: rec.netns, taps: rec.taps, ips: rec.ips.filter((x): x is string => !!x), disks: rec.disks, console: g.consoleLog,
    ...(bootMs ? { boot_ms: bootMs } : {}),
    ...(rec.standIn ? { kernel_stand_in: rec.standIn } : {}),
    ...(raised ? { memory_note: raised } : {}),
  };
}

/** Powers the guest off (or kills it), removes its taps and files. */
export async function deleteQemuGuest(r: Runner, P: Places, name: string, attached: Guest | undefined): Promise<StopMethod | 'none'> {
  const rec = P.w.guests[name];
  const dir = rec?.dir ?? P.guestDir(name);
  let how: StopMethod | 'none' = 'none';
  const g = attached && guestAlive(attached.pidfile) ? attached : attachGuest(name, dir);
  if (g) how = await stopGuest(g, { poweroffWaitMs: 3_000 });
  for (const pid of qemuPidsUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
      how = 'SIGKILL';
    } catch {
      /* gone */
    }
  }
  if (rec && netnsExists(rec.netns)) for (const tap of rec.taps) await r.run('ip', ['-n', rec.netns, 'link', 'del', tap]);
  const socketDir = guestPaths(dir).socketDir;
  if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  delete P.w.guests[name];
  for (const [k, p] of Object.entries(P.w.partitions)) if (p.guest === name) delete P.w.partitions[k];
  for (const [k, m] of Object.entries(P.w.modules)) if (m.guest === name) delete P.w.modules[k];
  delete P.w.clients[name];
  P.save();
  return how;
}
