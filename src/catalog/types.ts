// Shapes of the catalog data files under src/catalog/data/. Every entry names its source.

export type ExportType = 'EXPORT_SYMBOL' | 'EXPORT_SYMBOL_GPL' | 'EXPORT_SYMBOL_NS' | 'EXPORT_SYMBOL_GPL_NS';

export interface Sourced {
  source: string; // where the fact comes from (document, page, commit, measurement)
}

export interface XenRelease extends Sourced {
  id: string; // "3.0.2"
  major: number; // 2 | 3
  released?: string;
  dom0_os: string[]; // OS families that can run dom0 under this release
  domu_os: string[]; // OS families that run paravirtualised as domU
  hvm: boolean; // supports unmodified guests given vmx/svm
}

export interface OsEntry extends Sourced {
  id: string; // "netbsd-3.1", "debian-etch", "netbsd-4.0_beta"
  name: string; // "NetBSD 3.1"
  family: string; // the name used in XenRelease.dom0_os / domu_os: "netbsd-3.1", "linux-2.6"
  kernel_kind: 'linux' | 'netbsd' | 'solaris' | 'freebsd' | 'plan9';
  default_dom0_memory?: number; // MiB, for OSes that run dom0
}

export interface KernelEntry extends Sourced {
  id: string; // "netbsd-3.1-xen3-domu-nodiag"
  kernel_kind: OsEntry['kernel_kind'];
  release: string; // "2.6.16-xen", "3.1"
  ident?: string; // NetBSD config name: "XEN3_DOMU-nodebug"
  xen: string; // Xen release whose interface the kernel was built for
  os: string[]; // guest OS ids it is meant for
  image: string; // file name of the kernel image: "vmlinuz-2.6.16-xen.tproa"
  options: string[]; // build options that matter for modules: DEBUG, DIAGNOSTIC
  vermagic?: string; // Linux: "2.6.16-xen SMP mod_unload 686 "
  exports: Record<string, ExportType>; // symbols relevant to modules in the catalog
  boot: string[]; // console transcript template; {placeholders} are filled by the driver
  boot_memory?: BootMemory; // how this kernel derives the memory figures it prints at boot
  boot_mhz_decimals?: number; // how it prints the CPU clock: NetBSD "2999.99" (2), Linux "2999.994" (3)
}

/** Placeholders a boot template may use; the simulated hypervisor fills them. */
export const BOOT_PLACEHOLDERS = [
  'name', 'memory', 'total_mb', 'avail_mb', 'mem_end_hex', 'lowmem_mb', 'root', 'cmdline', 'mhz', 'cpus', 'host',
] as const;
export type BootPlaceholder = (typeof BOOT_PLACEHOLDERS)[number];

/** Figures printed at boot, as offsets (MiB) from the guest's `memory`: total_mb = memory + total_delta, etc. */
export interface BootMemory {
  total_delta?: number; // NetBSD "total memory = N MB"
  avail_delta?: number; // NetBSD "avail memory = N MB"
  lowmem_delta?: number; // Linux i386 "NMB LOWMEM available."
}

export interface ModuleEntry extends Sourced {
  id: string; // "openafs-1.4.2-linux"
  name: string; // module name as the kernel logs it: "openafs", "nnpfs"
  kernel_kind: OsEntry['kernel_kind'];
  license?: string; // MODULE_LICENSE string (Linux)
  imports: string[]; // undefined symbols it needs from the kernel
  options_absent?: string[]; // kernel must be built without these options
  options_present?: string[]; // kernel must be built with these
  vermagic?: string;
}

export type Role = 'kdc' | 'afs-db' | 'afs-fs' | 'afs-client';

export interface KnownIssue extends Sourced {
  code: string; // finding code, e.g. "arla-panic-reports"
  severity: 'error' | 'warning';
  when: 'xen-domu' | 'always';
  message: string;
  fix?: string;
}

export interface SoftwareEntry extends Sourced {
  id: string; // "openafs-1.4.2"
  product: 'heimdal' | 'mit-krb5' | 'openafs' | 'arla';
  version: string;
  roles: Role[];
  runs_on: string[]; // OS kernel kinds it runs on: linux, netbsd, solaris
  client_modules?: Record<string, string>; // kernel_kind -> module id the client loads
  known_issues?: KnownIssue[];
  debian_stand_in?: string; // which real Debian software serves this role in the netns driver
}

export interface LicenceTable extends Sourced {
  gpl_compatible: string[]; // MODULE_LICENSE strings the kernel treats as GPL (license_is_gpl_compatible)
}

export interface Catalog {
  xen: Map<string, XenRelease>;
  os: Map<string, OsEntry>;
  kernels: Map<string, KernelEntry>;
  modules: Map<string, ModuleEntry>;
  software: Map<string, SoftwareEntry>;
  licences: LicenceTable;
}
