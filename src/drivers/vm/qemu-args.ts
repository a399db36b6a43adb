// The QEMU command line for one guest, and where its files live. Pure: no process is started here.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AccelChoice } from './accel.js';
import { AGENT_PORT } from './guest-agent.js';
import { HOSTFS_TAG, guestBootParams, type GuestBootConfig } from './guest-init.js';

export interface Vif {
  mac: string;
  tap: string; // an existing tap (in netns when given); QEMU creates it if absent
  ip?: string;
  prefix?: number;
}

export interface Disk {
  file: string; // raw image; the guest sees /dev/vda, /dev/vdb ... in this order
  readonly?: boolean;
}

export interface GuestSpec {
  name: string; // guest hostname too
  dir: string; // the guest's own directory: pidfile, sockets, console.log, qemu.log
  memoryMiB?: number; // default 512
  cpus?: number; // default 1
  kernel: string; // GuestKernel.boot
  initrd: string; // Initramfs.path
  append?: string; // extra kernel parameters
  vifs?: Vif[];
  disks?: Disk[];
  netns?: string; // run QEMU inside this network namespace (where the taps are)
  gateway?: string; // guest default route
  root?: GuestBootConfig['root'];
  hostRoot?: string; // host directory shared as the guest's root (default "/")
  hostCache?: GuestBootConfig['hostCache'];
  cpu?: string; // QEMU -cpu model instead of the accelerator's default (a nested Xen needs max,-smap,-smep)
  console?: string; // the kernel's console device (default ttyS0; a Xen dom0 writes to hvc0)
  // boot this multiboot image (Xen) with its own command line; the kernel (with the guest's command
  // line) and the initrd become its modules, in that order
  hypervisor?: { image: string; append: string };
  shares?: Share[]; // more host directories over 9p; the guest mounts them itself (by tag)
}

export interface Share {
  path: string; // host directory
  tag: string; // 9p mount_tag
  readonly?: boolean;
}

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

/**
 * Everything under dir, except sockets whose path would not fit in a sockaddr_un: those go to a
 * short directory named by a hash of dir, so a later process finds them again from dir alone.
 */
export function guestPaths(dir: string): GuestPaths {
  const d = resolve(dir);
  const p = { dir: d, pidfile: join(d, 'qemu.pid'), consoleLog: join(d, 'console.log'), qemuLog: join(d, 'qemu.log') };
  if (join(d, 'agent.sock').length <= SUN_PATH_MAX) return { ...p, agentSocket: join(d, 'agent.sock'), qmpSocket: join(d, 'qmp.sock') };
  const socketDir = join(tmpdir(), `cellctl-vm-${createHash('sha256').update(d).digest('hex').slice(0, 16)}`);
  return { ...p, agentSocket: join(socketDir, 'agent.sock'), qmpSocket: join(socketDir, 'qmp.sock'), socketDir };
}

/** QEMU splits option values at commas; a literal comma is written twice. */
export function qemuOptValue(v: string): string {
  return v.replace(/,/g, ',,');
}

export function kernelCmdline(spec: GuestSpec): string {
  const boot = guestBootParams({
    hostname: spec.name,
    nics: (spec.vifs ?? []).map((v) => ({ mac: v.mac, ip: v.ip, prefix: v.prefix })),
    gateway: spec.gateway,
    root: spec.root,
    hostCache: spec.hostCache,
  });
  return [`console=${spec.console ?? 'ttyS0'}`, 'panic=-1', ...boot, spec.append ?? ''].filter(Boolean).join(' ');
}

/**
 * -kernel/-initrd/-append: the guest kernel directly, or a multiboot hypervisor whose modules are
 * "kernel cmdline" and the initrd (QEMU splits -initrd at single commas: literal ones are doubled).
 */
function bootArgs(spec: GuestSpec): string[] {
  if (!spec.hypervisor) return ['-kernel', spec.kernel, '-initrd', spec.initrd, '-append', kernelCmdline(spec)];
  const mods = [`${spec.kernel} ${kernelCmdline(spec)}`, spec.initrd].map(qemuOptValue).join(',');
  return ['-kernel', spec.hypervisor.image, '-append', spec.hypervisor.append, '-initrd', mods];
}

/** argv for qemu-system-x86_64 (without the program name): daemonises once the VM is set up. */
export function qemuArgs(spec: GuestSpec, accel: AccelChoice, paths: GuestPaths): string[] {
  const o = qemuOptValue;
  const args = [
    '-name', o(spec.name),
    '-accel', accel.accel, '-cpu', spec.cpu ?? accel.cpu,
    '-m', String(spec.memoryMiB ?? 512), '-smp', String(spec.cpus ?? 1),
    // no default VGA/NIC/monitor: fewer devices to emulate and for the firmware to walk
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    ...bootArgs(spec),
    '-chardev', `file,id=console,path=${o(paths.consoleLog)},append=on`, '-serial', 'chardev:console',
    '-virtfs', `local,path=${o(spec.hostRoot ?? '/')},mount_tag=${HOSTFS_TAG},security_model=none,readonly=on,multidevs=remap`,
    '-chardev', `socket,id=agent,path=${o(paths.agentSocket)},server=on,wait=off`,
    '-device', 'virtio-serial-pci', '-device', `virtserialport,chardev=agent,name=${AGENT_PORT}`,
    '-qmp', `unix:${o(paths.qmpSocket)},server=on,wait=off`,
  ];
  for (const sh of spec.shares ?? []) {
    if (!/^[\w.-]{1,31}$/.test(sh.tag) || sh.tag === HOSTFS_TAG) throw new Error(`bad 9p share tag ${JSON.stringify(sh.tag)}`);
    args.push('-virtfs', `local,path=${o(resolve(sh.path))},mount_tag=${sh.tag},security_model=none${sh.readonly ? ',readonly=on' : ''},multidevs=remap`);
  }
  (spec.vifs ?? []).forEach((v, i) => {
    if (!/^[\w.-]{1,15}$/.test(v.tap)) throw new Error(`bad tap name ${JSON.stringify(v.tap)}`);
    args.push('-netdev', `tap,id=net${i},ifname=${v.tap},script=no,downscript=no`);
    args.push('-device', `virtio-net-pci,netdev=net${i},mac=${v.mac.toLowerCase()}`);
  });
  (spec.disks ?? []).forEach((d, i) => {
    args.push('-drive', `file=${o(resolve(d.file))},format=raw,if=none,id=disk${i}${d.readonly ? ',readonly=on' : ''}`);
    args.push('-device', `virtio-blk-pci,drive=disk${i}`);
  });
  args.push('-pidfile', paths.pidfile, '-D', paths.qemuLog, '-daemonize');
  return args;
}
