// Guest domains, the way xend builds them: the domain (and its id) first, then memory, then devices.
// A failure after the domain is built still uses up its id, as on real Xen.
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Catalog, KernelEntry } from '../../catalog/types.js';
import type { Attrs, GuestAttrs } from '../../plan/resources.js';
import { bootTranscript, haltLines, note, panicLines } from './console.js';
import { describeUsage, hvmCapable, requireHost, usage } from './hosts.js';
import { diskClash, track } from './indexes.js';
import { resolveKernel } from './kernels.js';
import { vdevNumber } from '../../config/vdev.js';
import {
  advance, domainOf, forgetServices, isUp, SECONDS, xendLog, type SimDisk, type SimDomain, type SimHost, type World,
} from './world.js';

const IMAGE_BYTES = 1 << 30; // file: images are sparse, so this costs no disk until written

/** A file-system-safe directory name for a guest. */
function safeName(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._-]/g, '_');
  return t === '.' || t === '..' ? `_${t}` : t;
}

export function imageDir(guest: string): string {
  return join('sim', 'images', safeName(guest));
}

/** The vbd number xend prints ("Device 769 (vbd)"): hex/decimal as written, or Linux device names. */
export function devid(vdev: string): number {
  try {
    const n = vdevNumber(vdev);
    if (Number.isFinite(n)) return n;
  } catch {
    // worded as xend says it, below
  }
  throw new Error(`Error: (22, 'Invalid argument'): cannot map virtual device '${vdev}' to a device number`);
}

export function vifNames(d: SimDomain): string[] {
  return d.domid === null ? [] : d.vifs.map((_, i) => `vif${d.domid}.${i}`);
}

/** Xen's interface check: a paravirtualised kernel must be built for this hypervisor's major version. */
function checkInterface(catalog: Catalog, h: SimHost, kernel: KernelEntry, type: 'pv' | 'hvm'): void {
  if (type === 'hvm') {
    if (!hvmCapable(catalog, h)) {
      throw new Error(`Error: HVM guest support is unavailable: is VT/AMD-V supported by your CPU and enabled in your BIOS? (${h.name}: Xen ${h.xen}, cpu features ${h.cpu_features.join(',') || 'none'})`);
    }
    return;
  }
  if (!kernel.xen) return; // kernels from real artifacts don't say
  const hostMajor = catalog.xen.get(h.xen)?.major;
  const kernMajor = catalog.xen.get(kernel.xen)?.major;
  if (hostMajor !== undefined && kernMajor !== undefined && hostMajor !== kernMajor) {
    throw new Error(`Error: (22, 'Invalid argument'): ERROR: Xen will only load images built for Xen v${hostMajor}.0 (kernel ${kernel.id} is built for Xen ${kernel.xen}; ${h.name} runs Xen ${h.xen})`);
  }
}

/** The hotplug scripts' checks for one domain's disks and vifs; the domain itself is `self`. */
function checkDevices(w: World, h: SimHost, self: string, disks: SimDisk[], vifs: SimDomain['vifs']): void {
  const seen = new Set<number>();
  for (const disk of disks) {
    const dev = `Error: Device ${disk.devid} (vbd) could not be connected.`;
    if (seen.has(disk.devid)) throw new Error(`${dev} Device ${disk.vdev} is already connected to ${self}.`);
    seen.add(disk.devid);
    if (disk.kind === 'phy' && !h.devices.includes(disk.target)) throw new Error(`${dev} ${disk.target} does not exist.`);
    // Shared read-only is fine; anything writable is exclusive (the block script's check_sharing).
    if (!diskClash(w, h.name, self, disk.target, disk.mode)) continue;
    // Refused: name the first holder in the world's order, and its loop device (a scan, on this error path only).
    const others = Object.values(w.domains).filter((o) => o.host === h.name && o.name !== self && o.domid !== null);
    const loops = others.flatMap((o) => o.disks.filter((x) => x.kind !== 'phy').map((x) => x.target));
    for (const o of others) {
      const clash = o.disks.find((x) => x.target === disk.target && (x.mode === 'w' || disk.mode === 'w'));
      if (!clash) continue;
      const who = ` (in use by ${o.name}, id ${o.domid}, mode ${clash.mode})`;
      if (disk.kind === 'phy') throw new Error(`${dev} Device ${disk.target} is mounted in a guest domain, and so cannot be mounted now.${who}`);
      throw new Error(`${dev} File ${disk.target} is loopback-mounted through /dev/loop${loops.indexOf(disk.target)}, which is mounted in a guest domain, and so cannot be mounted now.${who}`);
    }
  }
  for (const [i, v] of vifs.entries()) {
    if (!h.bridges.includes(v.bridge)) {
      throw new Error(`Error: Device ${i} (vif) could not be connected. Could not find bridge device ${v.bridge} (${h.name} has ${h.bridges.join(', ') || 'no bridges'})`);
    }
  }
}

/**
 * Admit a domain onto its host: interface/hvm checks, then the id, memory and devices.
 * Returns the kernel to boot; throws xm's error (the id stays used if it got that far).
 */
function admit(w: World, catalog: Catalog, d: SimDomain, h: SimHost): KernelEntry {
  const kernel = resolveKernel(catalog, d.kernel, d.kernel_image);
  checkInterface(catalog, h, kernel, d.type);
  const domid = h.next_domid++;
  const u = usage(w, h.name);
  if (d.memory > u.free) {
    xendLog(w, h, `Domain ${d.name} (${domid}): memory reservation of ${d.memory} MiB failed; destroying`);
    throw new Error(`Error: (12, 'Cannot allocate memory'): ${d.name} needs ${d.memory} MiB but ${describeUsage(h.name, u)}`);
  }
  try {
    checkDevices(w, h, d.name, d.disks, d.vifs);
  } catch (e) {
    xendLog(w, h, `Domain ${d.name} (${domid}): device hotplug failed; destroying`);
    throw e;
  }
  d.domid = domid;
  track(w, d.name); // a no-op for a domain not yet in the world (xm create inserts it after its images)
  return kernel;
}

/** Boot an admitted domain: console transcript, fresh kernel state. */
function boot(w: World, d: SimDomain, h: SimHost, kernel: KernelEntry): void {
  d.state = 'running';
  d.kernel_kind = kernel.kernel_kind;
  d.release = kernel.release;
  d.tainted = false;
  d.modules = {};
  d.modload_errors = {};
  d.next_pid = 100;
  d.console.push(...bootTranscript(d, kernel));
  xendLog(w, h, `Domain ${d.name} (${d.domid}) started: ${d.memory} MiB, vifs ${vifNames(d).join(',') || '-'}`);
  advance(w, SECONDS.boot);
}

function createImages(stateDir: string, d: SimDomain): void {
  for (const disk of d.disks) {
    if (!disk.image) continue;
    const file = join(stateDir, disk.image);
    mkdirSync(join(stateDir, imageDir(d.name)), { recursive: true });
    const fd = openSync(file, 'a');
    try {
      if (fstatSync(fd).size < IMAGE_BYTES) ftruncateSync(fd, IMAGE_BYTES);
    } finally {
      closeSync(fd);
    }
  }
}

export function guestOutputs(d: SimDomain): Attrs {
  return { domid: d.domid, host: d.host, state: d.state, memory: d.memory, vifs: vifNames(d), console_lines: d.console.length };
}

/** xm create NAME. */
export function createGuest(w: World, catalog: Catalog, stateDir: string, name: string, a: GuestAttrs): Attrs {
  const cmd = `xm create ${name}`;
  const existing = domainOf(w, name);
  if (existing) {
    throw new Error(`${cmd}: Error: Domain '${name}' already exists${existing.domid === null ? ` (shut down, on ${existing.host})` : ` with ID '${existing.domid}'`}`);
  }
  const h = requireHost(w, a.host, cmd);
  const images = new Set<string>();
  const disks: SimDisk[] = a.disks.map((s) => {
    let image: string | null = null;
    if (s.kind !== 'phy') {
      // One image per disk under the state directory; the vdev tells same-named images apart.
      let file = safeName(basename(s.target));
      if (images.has(file)) file = `${safeName(s.vdev)}-${file}`;
      images.add(file);
      image = join(imageDir(name), file);
    }
    return { ...s, devid: devid(s.vdev), image };
  });
  const d: SimDomain = {
    name, host: a.host, domid: null, state: 'shutdown', os: a.os, kernel: a.kernel, kernel_image: a.kernel_image,
    kernel_kind: 'linux', release: '', type: a.type, memory: a.memory, maxmem: a.maxmem, vcpus: a.vcpus,
    root: a.root, vifs: a.vifs.map((v) => ({ ...v })), disks, console: [], log: [], next_pid: 100,
    tainted: false, modules: {}, modload_errors: {},
  };
  let kernel: KernelEntry;
  try {
    kernel = admit(w, catalog, d, h);
  } catch (e) {
    const msg = (e as Error).message;
    w.graveyard[name] = [`Using config file "${name}".`, msg];
    advance(w, SECONDS.admin);
    throw new Error(`${cmd}: ${msg}`);
  }
  try {
    createImages(stateDir, d);
  } catch (e) {
    throw new Error(`${cmd}: cannot create the disk images under ${join(stateDir, imageDir(name))}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  w.domains[name] = d;
  track(w, name);
  delete w.graveyard[name];
  boot(w, d, h, kernel);
  return guestOutputs(d);
}

/** xm mem-set: the balloon driver gives memory back to Xen or takes more, up to maxmem. */
export function memSet(w: World, name: string, target: number): Attrs {
  const d = domainOf(w, name);
  if (!d) throw new Error(`xm mem-set ${name} ${target}: Error: Domain '${name}' does not exist.`);
  if (target > d.maxmem) {
    throw new Error(`xm mem-set ${name} ${target}: target ${target} MiB is above maxmem ${d.maxmem} MiB set when the domain was created; that needs a reboot`);
  }
  const h = w.hosts[d.host]!;
  if (d.domid !== null) {
    const u = usage(w, d.host);
    const more = target - d.memory;
    if (more > u.free) {
      throw new Error(`xm mem-set ${name} ${target}: Error: (12, 'Cannot allocate memory'): the balloon needs ${more} MiB more but ${describeUsage(d.host, u)}`);
    }
    xendLog(w, h, `Setting memory target of domain ${name} (${d.domid}) to ${target} MiB.`);
  }
  d.memory = target;
  track(w, name);
  advance(w, SECONDS.admin);
  return guestOutputs(d);
}

/** xm destroy: the domain, its memory, vifs and devices go; so do its image files. */
export function destroyGuest(w: World, stateDir: string, name: string): void {
  const d = domainOf(w, name);
  if (!d) return;
  const h = w.hosts[d.host];
  d.console.push(note(`xm destroy ${name}`));
  w.graveyard[name] = [...d.console, ...d.log];
  if (h) xendLog(w, h, `Domain ${name} (${d.domid ?? 'shut down'}) destroyed`);
  delete w.domains[name];
  track(w, name);
  forgetServices(w, name);
  rmSync(join(stateDir, imageDir(name)), { recursive: true, force: true });
  advance(w, SECONDS.admin);
}

export type XmOp = 'pause' | 'unpause' | 'shutdown' | 'start' | 'reboot' | 'crash';

/** Lifecycle operations (xm pause/unpause/shutdown/reboot, a start of a shut-down domain, an injected crash). */
export function xm(w: World, catalog: Catalog, name: string, op: XmOp): SimDomain {
  const d = domainOf(w, name);
  if (!d) throw new Error(`xm ${op} ${name}: Error: Domain '${name}' does not exist.`);
  const h = w.hosts[d.host]!;
  const bad = () => new Error(`xm ${op} ${name}: Error: domain is ${d.state}${d.domid === null ? '' : ` (id ${d.domid})`}`);
  switch (op) {
    case 'pause':
      if (!isUp(d)) throw bad();
      d.state = 'paused';
      break;
    case 'unpause':
      if (d.state !== 'paused') throw bad();
      d.state = 'running';
      break;
    case 'crash':
      if (d.domid === null || d.state === 'crashed') throw bad();
      d.console.push(...panicLines(d, 'crash injected by the cellctl simulator'));
      d.state = 'crashed'; // on_crash=preserve: the domain keeps its memory until destroyed
      xendLog(w, h, `Domain ${name} (${d.domid}) has crashed: name=${name} id=${d.domid}.`);
      break;
    case 'shutdown':
      if (!isUp(d)) throw bad();
      d.console.push(note(`xm shutdown ${name}`), ...haltLines(d));
      xendLog(w, h, `Domain ${name} (${d.domid}) has shutdown: reason=poweroff`);
      d.domid = null;
      d.state = 'shutdown';
      track(w, name);
      break;
    case 'reboot':
    case 'start': {
      if (op === 'reboot') {
        if (!isUp(d)) throw bad();
        d.console.push(note(`xm reboot ${name}`), ...haltLines(d));
        xendLog(w, h, `Domain ${name} (${d.domid}) has shutdown: reason=reboot`);
      } else if (d.state === 'crashed') {
        xendLog(w, h, `Domain ${name} (${d.domid}) destroyed`);
      } else if (d.state !== 'shutdown') {
        throw bad();
      }
      d.domid = null;
      d.state = 'shutdown';
      track(w, name);
      let kernel: KernelEntry;
      try {
        kernel = admit(w, catalog, d, h);
      } catch (e) {
        d.console.push(`Using config file "${name}".`, (e as Error).message);
        throw new Error(`xm create ${name}: ${(e as Error).message}`);
      }
      boot(w, d, h, kernel);
      return d;
    }
  }
  advance(w, SECONDS.admin);
  return d;
}

/** The guest attrs that can change on a live domain (the rest is the plan's business: replace). */
export function updateGuest(w: World, name: string, before: GuestAttrs, after: GuestAttrs): Attrs {
  const keys = Object.keys({ ...before, ...after }) as (keyof GuestAttrs)[];
  const changed = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  const other = changed.filter((k) => k !== 'memory' && k !== 'host');
  if (other.length > 0) throw new Error(`guest ${name}: ${other.join(', ')} cannot change on a running domain; the plan must replace it`);
  return memSet(w, name, after.memory);
}
