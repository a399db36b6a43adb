// The QEMU command line for one guest (its description rendered for QEMU itself), and where its
// files live. Pure: no process is started here.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AccelChoice } from './accel.js';
import { AGENT_PORT } from './guest-agent.js';
import { describeGuest, type GuestDescription, type GuestSpec } from './guest-description.js';
import { HOSTFS_TAG } from './guest-init.js';

export { kernelCmdline, type Disk, type GuestSpec, type Share, type Vif } from './guest-description.js';

export interface GuestPaths {
  dir: string;
  pidfile: string;
  consoleLog: string; // serial console: cellctl's boot markers + the kernel log
  qemuLog: string; // QEMU's own errors after it daemonised
  agentSocket: string;
  qmpSocket: string;
  socketDir?: string; // set when the sockets had to live outside dir (see below)
}

const SUN_PATH_MAX = 107; // sockaddr_un.sun_path holds 108 bytes with the NUL

/** Where sockets of the guest in dir go when dir itself is too long for them: named by a hash of dir. */
export function shortSocketDir(dir: string): string {
  return join(tmpdir(), `cellctl-vm-${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 16)}`);
}

/** A socket of the guest in dir: in dir when the path fits a sockaddr_un, else in shortSocketDir(dir). */
export function socketPath(dir: string, file: string): string {
  const direct = join(resolve(dir), file);
  return direct.length <= SUN_PATH_MAX ? direct : join(shortSocketDir(dir), file);
}

/**
 * Everything under dir, except sockets whose path would not fit in a sockaddr_un: those go to a
 * short directory named by a hash of dir, so a later process finds them again from dir alone.
 */
export function guestPaths(dir: string): GuestPaths {
  const d = resolve(dir);
  const p = { dir: d, pidfile: join(d, 'qemu.pid'), consoleLog: join(d, 'console.log'), qemuLog: join(d, 'qemu.log') };
  if (join(d, 'agent.sock').length <= SUN_PATH_MAX) return { ...p, agentSocket: join(d, 'agent.sock'), qmpSocket: join(d, 'qmp.sock') };
  const socketDir = shortSocketDir(d);
  return { ...p, agentSocket: join(socketDir, 'agent.sock'), qmpSocket: join(socketDir, 'qmp.sock'), socketDir };
}

/** QEMU splits option values at commas; a literal comma is written twice. */
export function qemuOptValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/**
 * -kernel/-initrd/-append: the guest kernel directly, or a multiboot hypervisor whose modules are
 * "kernel cmdline" and the initrd (QEMU splits -initrd at single commas: literal ones are doubled).
 */
function bootArgs(d: GuestDescription): string[] {
  if (!d.hypervisor) return ['-kernel', d.kernel, '-initrd', d.initrd, '-append', d.cmdline];
  const mods = [`${d.kernel} ${d.cmdline}`, d.initrd].map(qemuOptValue).join(',');
  return ['-kernel', d.hypervisor.image, '-append', d.hypervisor.append, '-initrd', mods];
}

/** argv for qemu-system-x86_64 (without the program name): daemonises once the VM is set up. */
export function qemuArgs(spec: GuestSpec, accel: AccelChoice, paths: GuestPaths): string[] {
  return qemuArgsOf(describeGuest(spec, { console: paths.consoleLog, agentSocket: paths.agentSocket }), accel, paths);
}

/** The description as QEMU arguments; the monitor, pidfile and log are the runner's own (paths). */
export function qemuArgsOf(d: GuestDescription, accel: AccelChoice, paths: Pick<GuestPaths, 'qmpSocket' | 'pidfile' | 'qemuLog'>): string[] {
  const o = qemuOptValue;
  const args = [
    '-name', o(d.name),
    '-accel', accel.accel, '-cpu', d.cpu ?? accel.cpu,
    '-m', String(d.memoryMiB), '-smp', String(d.cpus),
    // no default VGA/NIC/monitor: fewer devices to emulate and for the firmware to walk
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    ...bootArgs(d),
    '-chardev', `file,id=console,path=${o(d.console)},append=on`, '-serial', 'chardev:console',
    ...(d.hostRoot === null ? [] : ['-virtfs', `local,path=${o(d.hostRoot)},mount_tag=${HOSTFS_TAG},security_model=none,readonly=on,multidevs=remap`]),
    '-chardev', `socket,id=agent,path=${o(d.agentSocket)},server=on,wait=off`,
    '-device', 'virtio-serial-pci', '-device', `virtserialport,chardev=agent,name=${AGENT_PORT}`,
    '-qmp', `unix:${o(paths.qmpSocket)},server=on,wait=off`,
  ];
  for (const sh of d.shares) {
    args.push('-virtfs', `local,path=${o(sh.path)},mount_tag=${sh.tag},security_model=none${sh.readonly ? ',readonly=on' : ''},multidevs=remap`);
  }
  d.vifs.forEach((v, i) => {
    args.push('-netdev', `tap,id=net${i},ifname=${v.tap},script=no,downscript=no`);
    args.push('-device', `virtio-net-pci,netdev=net${i},mac=${v.mac}`);
  });
  d.disks.forEach((disk, i) => {
    args.push('-drive', `file=${o(disk.file)},format=raw,if=none,id=disk${i}${disk.readonly ? ',readonly=on' : ''}`);
    args.push('-device', `virtio-blk-pci,drive=disk${i}`);
  });
  args.push('-pidfile', paths.pidfile, '-D', paths.qemuLog, '-daemonize');
  return args;
}
