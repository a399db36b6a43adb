// The typed cell file (contract v1, see schemas/cell.schema.json). Produced by config/load.ts.
import type { SourcePos } from '../diagnostics.js';

export type Path = readonly (string | number)[];

export interface CellSpec {
  file: string; // absolute path of the cell file
  cell: string; // AFS cell name, e.g. tproa.net
  realm: string; // Kerberos realm, default: upper-cased cell
  hosts: Record<string, HostSpec>;
  guests: Record<string, GuestSpec>;
  kerberos?: KerberosSpec;
  afs?: AfsSpec;
  /** Source position of a node, by its path in the document, e.g. ['guests','shea','memory']. */
  posOf(path: Path): SourcePos | undefined;
}

export interface HostSpec {
  name: string;
  os: string; // catalog id of the dom0 OS
  xen: string; // catalog id of the Xen release, e.g. "3.0.2"
  memory: number; // MiB
  dom0_memory?: number; // MiB; default from the dom0 OS catalog entry
  cpus: number;
  cpu_features: string[];
  bridges: string[];
  devices: string[]; // block devices usable by phy: disks
  shared_storage: string[]; // path prefixes reachable by other hosts (SAN etc.)
  uri?: string; // libvirt connection URI
}

export type VifSpec = {
  mac: string;
  bridge: string;
  ip?: string;
};

/** One xm/xl disk spec, parsed: 'file:/x/wd0.img,0x01,w' or 'phy:/dev/wd2d,xvdb,w'. */
export type DiskSpec = {
  raw: string; // exactly as written
  kind: 'file' | 'phy' | 'tap';
  target: string; // path of the image or block device
  vdev: string; // virtual device as written: 0x01, 0x301, hda1, xvda
  mode: 'r' | 'w';
};

/** A guest kernel: a catalog id, or real artifacts on disk (Module.symvers, .config). */
export type KernelRef =
  | { catalog: string }
  | { symvers: string; config?: string; release?: string; xen?: string };

export interface GuestSpec {
  name: string;
  host: string;
  os: string; // catalog id of the guest OS
  kernel: KernelRef;
  type: 'pv' | 'hvm';
  memory: number; // MiB
  maxmem: number; // MiB; default = memory (xm's maxmem)
  vcpus: number;
  vifs: VifSpec[];
  disks: DiskSpec[];
  root?: string; // e.g. "/dev/wd0d" or "/dev/hda1 ro"
  kernel_image: string; // path of the kernel image on the host (xm "kernel ="); default /local/xen/<guest>.<cell>/<catalog image>
  extra_modules: string[]; // catalog ids or paths to .ko files, loaded at boot
}

export interface KerberosSpec {
  software: string; // catalog id: heimdal-0.72, mit-krb5-1.4.4
  kdcs: string[]; // guest names; the first is the master
  principals: string[]; // e.g. kula, kula/admin
}

export interface VolumeSpec {
  name: string;
  server: string;
  partition: string; // /vicepa
}

export interface AfsSpec {
  software: string; // catalog id of the server software: openafs-1.4.2
  dbservers: string[];
  fileservers: Record<string, string[]>; // guest -> partitions
  clients: Record<string, string>; // guest -> client software id
  volumes: VolumeSpec[];
}
