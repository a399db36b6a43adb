// Generated from schemas/catalog.schema.json by src/build/gen-types.ts (npm run gen:types); do not edit.

/**
 * Facts as data: Xen releases, OSes, kernels with their export tables, kernel modules, software, licences. Every entry names its source. Cross-references between files are checked by src/catalog/load.ts.
 */
export interface CatalogDefs {
  XenRelease?: XenRelease;
  OsEntry?: OsEntry;
  KernelEntry?: KernelEntry;
  ModuleEntry?: ModuleEntry;
  SoftwareEntry?: SoftwareEntry;
  LicenceTable?: LicenceTable;
  StandIns?: StandIns;
}
export interface XenRelease {
  /**
   * e.g. 3.0.2
   */
  id: string;
  /**
   * 2 or 3: a paravirtualised kernel must be built for the host's major version.
   */
  major: number;
  /**
   * YYYY-MM.
   */
  released?: string;
  /**
   * OS families that can run dom0 under this release.
   */
  dom0_os: string[];
  /**
   * OS families that run paravirtualised as domU.
   */
  domu_os: string[];
  /**
   * Supports unmodified guests given vmx/svm.
   */
  hvm: boolean;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
export interface OsEntry {
  /**
   * e.g. netbsd-3.1, debian-etch, netbsd-4.0_beta.
   */
  id: string;
  /**
   * e.g. NetBSD 3.1.
   */
  name: string;
  /**
   * The name XenRelease.dom0_os / domu_os use: netbsd-3.1, linux-2.6.
   */
  family: string;
  kernel_kind: 'linux' | 'netbsd' | 'solaris' | 'freebsd' | 'plan9';
  /**
   * MiB, for OSes that run dom0.
   */
  default_dom0_memory?: number;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
export interface KernelEntry {
  /**
   * e.g. netbsd-3.1-xen3-domu-nodiag.
   */
  id: string;
  kernel_kind: 'linux' | 'netbsd' | 'solaris' | 'freebsd' | 'plan9';
  /**
   * e.g. 2.6.16-xen, 3.1.
   */
  release: string;
  /**
   * NetBSD config name: XEN3_DOMU-nodebug.
   */
  ident?: string;
  /**
   * Xen release whose interface the kernel was built for.
   */
  xen: string;
  /**
   * Guest OS ids it is meant for.
   *
   * @minItems 1
   */
  os: string[];
  /**
   * File name of the kernel image: vmlinuz-2.6.16-xen.tproa.
   */
  image: string;
  /**
   * Build options that matter for modules: DEBUG, DIAGNOSTIC.
   */
  options: string[];
  /**
   * Linux: '2.6.16-xen SMP mod_unload 686 '.
   */
  vermagic?: string;
  /**
   * Symbols relevant to modules in the catalog, with how they are exported.
   */
  exports: {
    [k: string]: 'EXPORT_SYMBOL' | 'EXPORT_SYMBOL_GPL' | 'EXPORT_SYMBOL_NS' | 'EXPORT_SYMBOL_GPL_NS';
  };
  /**
   * Console transcript template; {placeholders} are filled by the driver.
   */
  boot: string[];
  boot_memory?: BootMemory;
  /**
   * How it prints the CPU clock: NetBSD 2999.99 (2), Linux 2999.994 (3).
   */
  boot_mhz_decimals?: number;
  command_line?: CommandLine;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * Figures printed at boot, as offsets (MiB) from the guest's memory: total_mb = memory + total_delta, etc.
 */
export interface BootMemory {
  /**
   * NetBSD 'total memory = N MB'.
   */
  total_delta?: number;
  /**
   * NetBSD 'avail memory = N MB'.
   */
  avail_delta?: number;
  /**
   * Linux i386 'NMB LOWMEM available.'
   */
  lowmem_delta?: number;
}
/**
 * How much of the boot command line the kernel keeps (Xen hands a pv kernel up to 1024 bytes; a smaller COMMAND_LINE_SIZE cuts it).
 */
export interface CommandLine {
  /**
   * COMMAND_LINE_SIZE in bytes, the NUL included.
   */
  size: number;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
export interface ModuleEntry {
  /**
   * e.g. openafs-1.4.2-linux.
   */
  id: string;
  /**
   * Module name as the kernel logs it: openafs, nnpfs.
   */
  name: string;
  kernel_kind: 'linux' | 'netbsd' | 'solaris' | 'freebsd' | 'plan9';
  /**
   * MODULE_LICENSE string (Linux).
   */
  license?: string;
  /**
   * Linux: the module carries __versions (CONFIG_MODVERSIONS CRCs); the loader then ignores the release in vermagic (same_magic() in kernel/module/version.c).
   */
  modversions?: boolean;
  /**
   * Undefined symbols it needs from the kernel.
   */
  imports: string[];
  /**
   * The kernel must be built without these options.
   */
  options_absent?: string[];
  /**
   * The kernel must be built with these options.
   */
  options_present?: string[];
  vermagic?: string;
  debian_stand_in?: ModuleStandIn;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * The real module a real guest kernel loads in this one's place, and how cellctl gets it.
 */
export interface ModuleStandIn {
  /**
   * openafs-ko: OpenAFS's openafs.ko built from Debian's openafs-modules-dkms for the guest kernel (src/kmod/openafs-ko.ts).
   */
  build: 'openafs-ko';
  /**
   * What is loaded, as plan and apply say it.
   */
  description: string;
}
export interface SoftwareEntry {
  /**
   * e.g. openafs-1.4.2.
   */
  id: string;
  product: 'heimdal' | 'mit-krb5' | 'openafs' | 'arla';
  version: string;
  roles: ('kdc' | 'afs-db' | 'afs-fs' | 'afs-client')[];
  /**
   * OS kernel kinds it runs on.
   */
  runs_on: ('linux' | 'netbsd' | 'solaris' | 'freebsd' | 'plan9')[];
  /**
   * kernel_kind -> id of the module the client loads.
   */
  client_modules?: {
    [k: string]: string;
  };
  known_issues?: KnownIssue[];
  /**
   * Which real Debian software serves this role on the real backends.
   */
  debian_stand_in?: string;
  kdc_database?: KdcDatabase;
  kdc_enctypes?: KdcEnctypes;
  service_key?: ServiceKey;
  quota_spare?: QuotaSpare;
  runs_here?: RunsHere;
  stand_in?: StandIn;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
export interface KnownIssue {
  /**
   * Finding code, e.g. arla-panic-reports.
   */
  code: string;
  severity: 'error' | 'warning';
  when: 'xen-domu' | 'always';
  message: string;
  fix?: string;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * Principals a new KDC database holds before anyone adds one.
 */
export interface KdcDatabase {
  /**
   * Without the realm; {realm} stands for the realm.
   */
  principals: string[];
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * The key types a KDC release makes (kadmin -e on MIT, add_enctype on Heimdal) and issues tickets in.
 */
export interface KdcEnctypes {
  /**
   * @minItems 1
   *
   * Items: A Kerberos encryption type, by MIT krb5's name (Heimdal's arcfour-hmac-md5 is arcfour-hmac here).
   */
  supported: (
    | 'des-cbc-crc'
    | 'des-cbc-md4'
    | 'des-cbc-md5'
    | 'des3-cbc-sha1'
    | 'arcfour-hmac'
    | 'aes128-cts-hmac-sha1-96'
    | 'aes256-cts-hmac-sha1-96'
    | 'aes128-cts-hmac-sha256-128'
    | 'aes256-cts-hmac-sha384-192'
    | 'camellia128-cts-cmac'
    | 'camellia256-cts-cmac'
  )[];
  /**
   * Names it still parses but makes no key of: the request is dropped without an error.
   *
   * @minItems 1
   *
   * Items: A Kerberos encryption type, by MIT krb5's name (Heimdal's arcfour-hmac-md5 is arcfour-hmac here).
   */
  ignored?: (
    | 'des-cbc-crc'
    | 'des-cbc-md4'
    | 'des-cbc-md5'
    | 'des3-cbc-sha1'
    | 'arcfour-hmac'
    | 'aes128-cts-hmac-sha1-96'
    | 'aes256-cts-hmac-sha1-96'
    | 'aes128-cts-hmac-sha256-128'
    | 'aes256-cts-hmac-sha384-192'
    | 'camellia128-cts-cmac'
    | 'camellia256-cts-cmac'
  )[];
  /**
   * What it makes when asked for nothing it supports (its default supported_enctypes).
   *
   * @minItems 1
   *
   * Items: A Kerberos encryption type, by MIT krb5's name (Heimdal's arcfour-hmac-md5 is arcfour-hmac here).
   */
  default?: (
    | 'des-cbc-crc'
    | 'des-cbc-md4'
    | 'des-cbc-md5'
    | 'des3-cbc-sha1'
    | 'arcfour-hmac'
    | 'aes128-cts-hmac-sha1-96'
    | 'aes256-cts-hmac-sha1-96'
    | 'aes128-cts-hmac-sha256-128'
    | 'aes256-cts-hmac-sha384-192'
    | 'camellia128-cts-cmac'
    | 'camellia256-cts-cmac'
  )[];
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * The keys an AFS server release takes for its afs/<cell> principal (its KeyFile).
 */
export interface ServiceKey {
  /**
   * In order of preference: cellctl keys afs/<cell> with those of them the realm's KDC makes.
   *
   * @minItems 1
   *
   * Items: A Kerberos encryption type, by MIT krb5's name (Heimdal's arcfour-hmac-md5 is arcfour-hmac here).
   */
  enctypes: (
    | 'des-cbc-crc'
    | 'des-cbc-md4'
    | 'des-cbc-md5'
    | 'des3-cbc-sha1'
    | 'arcfour-hmac'
    | 'aes128-cts-hmac-sha1-96'
    | 'aes256-cts-hmac-sha1-96'
    | 'aes128-cts-hmac-sha256-128'
    | 'aes256-cts-hmac-sha384-192'
    | 'camellia128-cts-cmac'
    | 'camellia256-cts-cmac'
  )[];
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * How far past its quota a volume may grow on this fileserver before a store is refused with EDQUOT (its -spare default).
 */
export interface QuotaSpare {
  /**
   * KB a volume may use beyond its quota.
   */
  kb: number;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * How this machine (Debian 12, the real drivers' host) runs the release.
 */
export interface RunsHere {
  /**
   * The Debian packages that carry it.
   */
  packages: string[];
  /**
   * The Debian package version.
   */
  version: string;
  /**
   * How it is installed or run, when not the ordinary way.
   */
  note?: string;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * The release this machine really runs in place of a historic one.
 */
export interface StandIn {
  /**
   * A software entry with runs_here, of the same product (or one that serves the same roles).
   */
  id: string;
  /**
   * What a test cell sees differently.
   */
  differences?: string[];
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
export interface LicenceTable {
  /**
   * MODULE_LICENSE strings the kernel treats as GPL (license_is_gpl_compatible).
   */
  gpl_compatible: string[];
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * What the real backends run in place of what the catalog describes, beyond software (software.json's debian_stand_in) and modules (modules.json's debian_stand_in).
 */
export interface StandIns {
  guest_kernel: GuestKernelStandIn;
  xen_host: XenHostStandIn;
}
/**
 * The kernel real VM guests boot when their catalog kernel cannot boot here.
 */
export interface GuestKernelStandIn {
  /**
   * What is booted, as plan and apply say it.
   */
  description: string;
  /**
   * Why the catalog's kernels are not booted.
   */
  why: string;
  /**
   * MiB a guest needs with this kernel (host root over 9p, overlay, openafs.ko, afsd -memcache).
   */
  min_memory: number;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  min_memory_source: string;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
/**
 * What --driver xen runs for a cell host whose dom0 OS or Xen release cannot run here: a real Xen nested in QEMU with a Debian dom0, and the domU kernel its guests boot.
 */
export interface XenHostStandIn {
  /**
   * What runs as the host, as plan and apply say it.
   */
  description: string;
  /**
   * Why the catalog's hosts (their dom0 OS and Xen release) do not run here.
   */
  why: string;
  /**
   * The Xen release series booted (Debian's xen-hypervisor-<series>-amd64).
   */
  xen_series: string;
  /**
   * QEMU -cpu model the nested Xen gets (CELLCTL_XEN_CPU overrides it).
   */
  cpu_model: string;
  /**
   * Why this model and not another.
   */
  cpu_model_why: string;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  cpu_model_source: string;
  /**
   * Options on Xen's command line beyond dom0_mem and the console.
   */
  xen_options: string[];
  xen_options_why: string;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  xen_options_source: string;
  /**
   * What a domU boots in place of its catalog kernel, as plan and apply say it.
   */
  domu_kernel: string;
  /**
   * MiB a domU needs with that kernel (its root on a disk image, openafs.ko, afsd -memcache).
   */
  domu_min_memory: number;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  domu_min_memory_source: string;
  /**
   * MiB a domU needs that runs a KDC or AFS servers as well (krb5kdc, bosserver with ptserver, vlserver and dafs, beside afsd's memory cache): it is ballooned to this (xl mem-set) when they are placed.
   */
  domu_server_memory: number;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  domu_server_memory_source: string;
  /**
   * Why xl migrate of a PV domU fails on this Xen build, said with xl's own error.
   */
  pv_live_migration: string;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  pv_live_migration_source: string;
  /**
   * Where the fact comes from: document, page, commit, measurement.
   */
  source: string;
}
