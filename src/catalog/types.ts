// Shapes of the catalog data files under src/catalog/data/: generated from
// schemas/catalog.schema.json (types.generated.ts), plus what code derives from them.
import type { KernelEntry, LicenceTable, ModuleEntry, OsEntry, SoftwareEntry, StandIns, XenRelease } from './types.generated.js';

export type { BootMemory, GuestKernelStandIn, KernelEntry, KnownIssue, LicenceTable, ModuleEntry, ModuleStandIn, OsEntry, SoftwareEntry, StandIns, XenRelease } from './types.generated.js';

export type ExportType = KernelEntry['exports'][string];
export type Role = SoftwareEntry['roles'][number];
export type KernelKind = OsEntry['kernel_kind'];

/** Placeholders a boot template may use; the simulated hypervisor fills them. */
export const BOOT_PLACEHOLDERS = [
  'name', 'memory', 'total_mb', 'avail_mb', 'mem_end_hex', 'lowmem_mb', 'root', 'cmdline', 'mhz', 'cpus', 'host',
] as const;
export type BootPlaceholder = (typeof BOOT_PLACEHOLDERS)[number];

export interface Catalog {
  xen: Map<string, XenRelease>;
  os: Map<string, OsEntry>;
  kernels: Map<string, KernelEntry>;
  modules: Map<string, ModuleEntry>;
  software: Map<string, SoftwareEntry>;
  licences: LicenceTable;
  standIns: StandIns;
}
