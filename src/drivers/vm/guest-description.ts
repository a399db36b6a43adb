// One description of a guest, two ways to run it: QEMU's own command line (qemu-args.ts, the qemu
// driver) and a libvirt domain (domain-xml.ts, the libvirt driver). Pure data: what the guest is
// made of (kernel, initramfs, command line, memory, host root, NICs, disks, console, agent port),
// nothing about who starts it or where.
import { resolve } from 'node:path';
import { HOSTFS_TAG, guestBootParams, type GuestBootConfig } from './guest-init.js';

export interface Vif {
  mac: string;
  tap: string; // the host side's interface (<= 15 bytes)
  /**
   * The bridge the tap joins. QEMU opens a tap the caller made and enslaved already; libvirt makes
   * the tap itself on this bridge (type='bridge'), or, without one, opens the existing tap (type='ethernet').
   */
  bridge?: string;
  ip?: string;
  prefix?: number;
}

export interface Disk {
  file: string; // raw image; the guest sees /dev/vda, /dev/vdb ... in this order
  readonly?: boolean;
}

/** What a driver asks for. */
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
  root?: GuestBootConfig['root']; // 'diskless': no host root at all (nothing over 9p: the guest can migrate)
  hostRoot?: string; // host directory shared as the guest's root (default "/")
  rootImage?: string; // an ext4 root image (read-only, after the disks) instead of the host root over 9p
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

/** The guest, resolved: what either runner renders. */
export interface GuestDescription {
  name: string;
  memoryMiB: number;
  cpus: number;
  kernel: string;
  initrd: string;
  cmdline: string;
  hostRoot: string | null; // shared read-only over 9p (mount tag HOSTFS_TAG) as the root's lower layer; null: none
  shares: Share[]; // more 9p exports (absolute paths)
  cpu?: string; // overrides the accelerator's CPU model
  hypervisor?: { image: string; append: string }; // multiboot: kernel+cmdline and initrd become its modules
  vifs: Vif[];
  disks: Disk[]; // absolute paths
  console: string; // the serial console (ttyS0), appended to this file
  agentSocket: string; // the unix socket the runner listens on for the agent's virtio-serial port (AGENT_PORT)
}

export function kernelCmdline(spec: GuestSpec): string {
  const boot = guestBootParams({
    hostname: spec.name,
    nics: (spec.vifs ?? []).map((v) => ({ mac: v.mac, ip: v.ip, prefix: v.prefix })),
    gateway: spec.gateway,
    root: spec.root,
    hostCache: spec.hostCache,
    ...(spec.rootImage ? { rootDisk: virtioDev((spec.disks ?? []).length) } : {}),
  });
  return [`console=${spec.console ?? 'ttyS0'}`, 'panic=-1', ...boot, spec.append ?? ''].filter(Boolean).join(' ');
}

/** Virtio disk names in order: vda ... vdz, vdaa ... (as the guest's kernel names them). */
export function virtioDev(i: number): string {
  let n = i;
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `vd${s}`;
}

const TAP = /^[\w.-]{1,15}$/;

export function describeGuest(spec: GuestSpec, at: { console: string; agentSocket: string }): GuestDescription {
  const vifs = spec.vifs ?? [];
  for (const v of vifs) if (!TAP.test(v.tap)) throw new Error(`bad tap name ${JSON.stringify(v.tap)}`);
  for (const sh of spec.shares ?? []) {
    if (!/^[\w.-]{1,31}$/.test(sh.tag) || sh.tag === HOSTFS_TAG) throw new Error(`bad 9p share tag ${JSON.stringify(sh.tag)}`);
  }
  return {
    name: spec.name,
    memoryMiB: spec.memoryMiB ?? 512,
    cpus: spec.cpus ?? 1,
    kernel: spec.kernel,
    initrd: spec.initrd,
    cmdline: kernelCmdline(spec),
    hostRoot: spec.root === 'diskless' || spec.rootImage ? null : spec.hostRoot ?? '/',
    shares: (spec.shares ?? []).map((sh) => ({ ...sh, path: resolve(sh.path) })),
    ...(spec.cpu ? { cpu: spec.cpu } : {}),
    ...(spec.hypervisor ? { hypervisor: spec.hypervisor } : {}),
    vifs: vifs.map((v) => ({ ...v, mac: v.mac.toLowerCase() })),
    disks: [...(spec.disks ?? []), ...(spec.rootImage ? [{ file: spec.rootImage, readonly: true }] : [])].map((d) => ({ ...d, file: resolve(d.file) })),
    console: at.console,
    agentSocket: at.agentSocket,
  };
}
