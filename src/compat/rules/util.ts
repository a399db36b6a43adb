// Small helpers shared by the rules: catalog lookups that tolerate ids the spec loader already reported.
import type { Catalog, KernelEntry, OsEntry, XenRelease } from '../../catalog/types.js';
import { compareVersions } from '../../catalog/versions.js';
import type { CellSpec, GuestSpec, HostSpec } from '../../config/types.js';

export type Rule = (spec: CellSpec, catalog: Catalog) => import('../types.js').Finding[];

/** Guests with their host, host's Xen release and OS entry; guests whose refs don't resolve are skipped. */
export function placedGuests(spec: CellSpec, catalog: Catalog): { g: GuestSpec; h: HostSpec; xen: XenRelease; os: OsEntry }[] {
  const out = [];
  for (const g of Object.values(spec.guests)) {
    const h = spec.hosts[g.host];
    const xen = h && catalog.xen.get(h.xen);
    const os = catalog.os.get(g.os);
    if (h && xen && os) out.push({ g, h, xen, os });
  }
  return out;
}

/** The Xen release a kernel was built for, by its declared interface version. */
export function kernelXen(k: KernelEntry, catalog: Catalog): XenRelease | undefined {
  return catalog.xen.get(k.xen);
}

/** Can a paravirtualised kernel built for `built` run on hypervisor `host`? Same major, not newer. */
export function xenInterfaceFits(built: XenRelease, host: XenRelease): boolean {
  return built.major === host.major && compareVersions(built.id, host.id) <= 0;
}

export function osFamilyNames(families: string[], catalog: Catalog): string {
  return families.map((f) => [...catalog.os.values()].find((o) => o.family === f && o.id === f)?.name ?? f).join(', ');
}

export function dom0Memory(h: HostSpec, catalog: Catalog): number {
  return h.dom0_memory ?? catalog.os.get(h.os)?.default_dom0_memory ?? 0;
}
