// The typed cell file (contract v2, see schemas/cell.schema.json). Produced by config/load.ts.
import type { SourcePos } from '../diagnostics.js';
import type { AfsTree } from './afs-tree.js';

export type Path = readonly (string | number)[];

export interface CellSpec {
  file: string; // absolute path of the cell file
  cell: string; // AFS cell name, e.g. tproa.net
  realm: string; // Kerberos realm, default: upper-cased cell
  hosts: Record<string, HostSpec>;
  guests: Record<string, GuestSpec>;
  kerberos?: KerberosSpec;
  /** More realms besides `realm`, by name (each with its own KDCs). */
  realms: Record<string, RealmSpec>;
  afs?: AfsSpec;
  /** Your own builds (software.openafs.prefix), read from disk when the cell loads. */
  software?: { openafs?: AfsTree };
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

/** A service principal with a random key exported to a keytab (installed on `guest` when given). */
export interface KeytabSpec {
  principal: string; // without the realm
  guest?: string;
  enctypes: string[];
}

/** A realm: its KDC software, KDCs (the first is the master), principals and keytabs. */
export interface RealmSpec {
  realm: string;
  software: string; // catalog id: heimdal-0.72, mit-krb5-1.4.4
  kdcs: string[]; // guest names; the first is the master
  principals: string[]; // e.g. kula, kula/admin
  keytabs: KeytabSpec[];
}

/** The cell's own realm, and the realms (from CellSpec.realms) it trusts both ways. */
export interface KerberosSpec extends Omit<RealmSpec, 'realm'> {
  trusts: string[];
}

export interface SiteSpec {
  server: string;
  partition: string;
}

export interface VolumeSpec {
  name: string;
  server: string;
  partition: string; // /vicepa
  quota?: number; // KB; 0: no limit; undefined: vos create's default
  replicas: SiteSpec[]; // read-only sites
  backup: boolean;
}

/** A pts group; system:administrators is not one of these (its members make pts-user.admin). */
export interface GroupSpec {
  name: string;
  owner: string;
  members: string[]; // pts names
  id?: number;
}

/** A mount point: `path` names a directory entry; `volume` may end in .readonly or .backup. */
export interface MountSpec {
  path: string; // as written
  volume: string;
  rw: boolean;
}

/** Rights as letters in the order fs la prints them (rlidwkaABCDEFGH), by pts name. */
export interface AclSpec {
  path: string; // as written
  normal: Record<string, string>;
  negative: Record<string, string>;
}

export interface AfsSpec {
  software: string; // catalog id of the server software: openafs-1.4.2
  dbservers: string[];
  fileservers: Record<string, string[]>; // guest -> partitions
  clients: Record<string, string>; // guest -> client software id
  volumes: VolumeSpec[];
  users: Record<string, { id?: number }>; // by pts name
  groups: GroupSpec[];
  /** system:administrators' members, when the file declares them (else the default: see plan/desired.ts). */
  administrators?: string[];
  mounts: MountSpec[];
  acls: AclSpec[];
}
