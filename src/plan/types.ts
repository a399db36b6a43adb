// Resources, changes and plans. Addresses are stable: "guest.shea", "volume.root.afs".
import type { Finding } from '../compat/types.js';
import type { DiskSpec, VifSpec } from '../config/types.js';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type Attrs = { [k: string]: Json };

export type ResourceType =
  | 'host'
  | 'guest'
  | 'module'
  | 'kdc'
  | 'principal'
  | 'service-key'
  | 'afs-db'
  | 'afs-fs'
  | 'partition'
  | 'volume'
  | 'pts-user'
  | 'afs-client';

export interface Resource {
  address: string; // `${type}.${name}`
  type: ResourceType;
  name: string;
  attrs: Attrs; // see the *Attrs interfaces below, by type
  deps: string[]; // addresses this one needs first
}

// Attribute shapes, by resource type (what drivers receive in Resource.attrs).
export interface HostAttrs {
  os: string; xen: string; memory: number; dom0_memory: number; cpus: number;
  cpu_features: string[]; bridges: string[]; devices: string[]; shared_storage: string[]; uri: string | null;
}
export interface GuestAttrs {
  host: string; os: string; kernel: string; kernel_image: string; type: 'pv' | 'hvm';
  memory: number; maxmem: number; vcpus: number; vifs: VifSpec[]; disks: DiskSpec[]; root: string | null;
}
export interface ModuleAttrs { guest: string; module: string; name: string } // module: catalog id or .ko path
export interface KdcAttrs { guest: string; realm: string; role: 'master' | 'replica'; master: string; software: string; kdcs: string[] }
export interface PrincipalAttrs { realm: string; principal: string; kdc: string } // password lives in the secret store
export interface ServiceKeyAttrs { principal: string; realm: string; cell: string; kdc: string; enctypes: string[] }
export interface AfsDbAttrs { guest: string; cell: string; software: string; dbservers: string[] }
export interface AfsFsAttrs { guest: string; cell: string; software: string; partitions: string[]; dbservers: string[] }
export interface PartitionAttrs { guest: string; path: string }
export interface VolumeAttrs { volume: string; server: string; partition: string }
export interface PtsUserAttrs { user: string; principal: string; admin: boolean } // user in pts form: kula.admin
export interface AfsClientAttrs { guest: string; cell: string; software: string; module: string | null; dbservers: string[] }

export type Action = 'create' | 'update' | 'replace' | 'delete';

export interface Change {
  address: string;
  type: ResourceType;
  action: Action;
  before?: Attrs; // recorded attrs (update, replace, delete)
  after?: Attrs; // desired attrs (create, update, replace)
  changed: string[]; // attribute names that differ
  reason?: string; // why replace rather than update: "kernel change needs a reboot"
  deps: string[];
}

export interface Plan {
  cell: string;
  file: string;
  changes: Change[]; // in a valid apply order (deletes reverse-dependency first)
  unchanged: number;
  findings: Finding[];
  desired: Resource[];
  summary: { add: number; change: number; destroy: number };
}
