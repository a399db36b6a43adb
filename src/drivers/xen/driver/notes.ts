// What plan and apply say before --driver xen runs: hosts stood in for by a nested Xen 4.17 with a
// Debian dom0, domU kernels stood in for, memory raised to what a domU needs, HVM guests booted
// PV, modules realized by their Debian stand-in or judged through a probe. Catalog data and
// file-system reads only (plan stays fast).
import type { Catalog } from '../../../catalog/types.js';
import type { GuestAttrs, HostAttrs, Resource } from '../../../plan/resources.js';
import { kernelChoice, raiseMemory, standInRelease, type BootChoice, type MemoryChoice } from '../../linux-guest/boot.js';
import { moduleNotes } from '../../linux-guest/notes.js';

/** What runs in place of the host's dom0 OS and Xen release, or undefined when it runs as declared. */
export function hostStandIn(a: Pick<HostAttrs, 'os' | 'xen'>, catalog: Catalog): string | undefined {
  const si = catalog.standIns.xen_host;
  if (a.xen === si.xen_series) return undefined; // the catalog names no such host yet: every declared one is stood in for
  const os = catalog.os.get(a.os)?.name ?? a.os;
  return `${os} dom0 under Xen ${a.xen} is stood in for by ${si.description}, kernel ${standInRelease()}; ${si.why}`;
}

export function domuMemory(asked: number, catalog: Catalog): MemoryChoice {
  const min = catalog.standIns.xen_host.domu_min_memory;
  return raiseMemory(asked, min, `a domU here needs at least ${min} MiB (a Linux 6.1 kernel, its root on a disk image, the OpenAFS client)`);
}

export function domuKernel(a: Pick<GuestAttrs, 'kernel' | 'kernel_image'>, catalog: Catalog): BootChoice {
  return kernelChoice(a, catalog, { description: catalog.standIns.xen_host.domu_kernel, why: catalog.standIns.guest_kernel.why });
}

/** What a domU that runs a KDC or AFS servers is ballooned to when they are placed (xl mem-set, up to its maxmem). */
export function domuServerMemory(memory: number, catalog: Catalog): MemoryChoice {
  const min = catalog.standIns.xen_host.domu_server_memory;
  return raiseMemory(memory, min, `a domU running a KDC or AFS servers here needs at least ${min} MiB (with afsd's memory cache beside them); it is created with maxmem ${min} and ballooned to it (xl mem-set) when they are placed`);
}

/** The maxmem a domU is created with: what the cell asks, and room to balloon to the servers' memory. */
export function domuMaxmem(a: Pick<GuestAttrs, 'maxmem'>, memory: number, catalog: Catalog): number {
  return Math.max(a.maxmem, memory, catalog.standIns.xen_host.domu_server_memory);
}

/** Guests the cell places a KDC or AFS servers on. */
export function serverGuests(resources: Resource[]): Set<string> {
  return new Set(resources.flatMap((r) => (r.type === 'kdc' || r.type === 'afs-db' || r.type === 'afs-fs' ? [r.attrs.guest] : [])));
}

/** Why an HVM guest boots PV here, or undefined for a PV guest. */
export function hvmStandIn(a: Pick<GuestAttrs, 'type'>, catalog: Catalog): string | undefined {
  if (a.type !== 'hvm') return undefined;
  return `type hvm: the nested Xen's CPU (QEMU ${catalog.standIns.xen_host.cpu_model}) has no VT-x or AMD-V, so Xen here builds no HVM domain; it boots as a PV domU`;
}

export function xenNotes(resources: Resource[], catalog: Catalog): string[] {
  const notes: string[] = [];
  for (const r of resources) {
    if (r.type === 'host') {
      const s = hostStandIn(r.attrs, catalog);
      if (s) notes.push(`host ${r.name}: ${s}`);
    }
    if (r.type !== 'guest') continue;
    const b = domuKernel(r.attrs, catalog);
    if (b.standIn) notes.push(`guest ${r.name}: ${b.standIn}`);
    else if (b.image) notes.push(`guest ${r.name}: boots the cell's kernel image ${b.image} as a PV domU`);
    const mem = domuMemory(r.attrs.memory, catalog);
    const servers = serverGuests(resources).has(r.name) ? domuServerMemory(mem.memory, catalog).raised : undefined;
    for (const n of [hvmStandIn(r.attrs, catalog), mem.raised, servers]) if (n) notes.push(`guest ${r.name}: ${n}`);
  }
  return [...notes, ...moduleNotes(resources, catalog)];
}
