// Resources: what a cell is made of, one attribute shape per type. A Resource is a union keyed
// on `type`, so `switch (r.type)` narrows `r.attrs` with no casts.
import type { DiskSpec, VifSpec } from '../config/types.js';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
/** Any resource's attributes seen generically (diff, render, state). */
export type Attrs = { [k: string]: Json };

export type HostAttrs = {
  os: string; xen: string; memory: number; dom0_memory: number; cpus: number;
  cpu_features: string[]; bridges: string[]; devices: string[]; shared_storage: string[]; uri: string | null;
};
export type GuestAttrs = {
  host: string; os: string; kernel: string; kernel_image: string; type: 'pv' | 'hvm';
  memory: number; maxmem: number; vcpus: number; vifs: VifSpec[]; disks: DiskSpec[]; root: string | null;
};
/** module: a catalog id or the path of a .ko file. */
export type ModuleAttrs = { guest: string; module: string; name: string };
export type KdcAttrs = { guest: string; realm: string; role: 'master' | 'replica'; master: string; software: string; kdcs: string[] };
/** The password lives in the secret store, never here. */
export type PrincipalAttrs = { realm: string; principal: string; kdc: string };
export type ServiceKeyAttrs = { principal: string; realm: string; cell: string; kdc: string; enctypes: string[] };
/** prefix, version: your own OpenAFS build (software.openafs.prefix) and what its bosserver reports; absent: the packaged one. */
export type AfsBuild = { prefix?: string; version?: string };
export type AfsDbAttrs = { guest: string; cell: string; software: string; dbservers: string[] } & AfsBuild;
export type AfsFsAttrs = { guest: string; cell: string; software: string; partitions: string[]; dbservers: string[] } & AfsBuild;
export type PartitionAttrs = { guest: string; path: string };
export type VolumeAttrs = { volume: string; server: string; partition: string };
/**
 * user in pts form: kula.admin for kula/admin, bob@athena.net for bob@ATHENA.NET (principal: qualified
 * only for another realm's user). `id`: given only when the cell file fixes it (pts createuser -id).
 */
export type PtsUserAttrs = { user: string; principal: string; admin: boolean; id?: number };
export type AfsClientAttrs = { guest: string; cell: string; software: string; module: string | null; dbservers: string[] } & AfsBuild;
/** A pts group; members are pts user names. */
export type PtsGroupAttrs = { group: string; owner: string; members: string[]; id?: number };
/** fs setquota: the volume's quota in 1-KB blocks, 0 for none. */
export type QuotaAttrs = { volume: string; max_kb: number };
/** fs mkmount: the entry `dir` in volume `in_volume` mounts `volume` (which may end in .readonly or .backup). */
export type MountAttrs = { path: string; in_volume: string; dir: string; volume: string; rw: boolean };
/** fs setacl -clear on the root directory of `volume` (the one `path` reaches); rights in fs la's letters. */
export type AclAttrs = { path: string; volume: string; normal: Record<string, string>; negative: Record<string, string> };
/** vos addsite: a read-only site of a volume. */
export type RoSiteAttrs = { volume: string; server: string; partition: string };
/** vos release: the RO sites get a clone of the RW; `content` lists what the RW holds that the file declares (mount points, ACLs). */
export type ReleaseAttrs = { volume: string; sites: string[]; content: string[] };
/** vos backup: NAME.backup beside the RW (it moves with it), holding what `content` says. */
export type BackupAttrs = { volume: string; server: string; partition: string; content: string[] };
/** A service principal with a random key, extracted to a keytab (installed on `guest`). */
export type KeytabAttrs = { principal: string; realm: string; kdc: string; guest: string | null; enctypes: string[] };
/** krbtgt/SERVICE@CLIENT: the same key in both realms' master KDCs lets CLIENT's users get SERVICE's tickets. */
export type CrossRealmAttrs = { principal: string; client_realm: string; service_realm: string; kdcs: string[]; enctypes: string[] };

export interface AttrsByType {
  host: HostAttrs;
  guest: GuestAttrs;
  module: ModuleAttrs;
  kdc: KdcAttrs;
  principal: PrincipalAttrs;
  'service-key': ServiceKeyAttrs;
  'afs-db': AfsDbAttrs;
  'afs-fs': AfsFsAttrs;
  partition: PartitionAttrs;
  volume: VolumeAttrs;
  'pts-user': PtsUserAttrs;
  'afs-client': AfsClientAttrs;
  'pts-group': PtsGroupAttrs;
  quota: QuotaAttrs;
  mount: MountAttrs;
  acl: AclAttrs;
  'ro-site': RoSiteAttrs;
  release: ReleaseAttrs;
  backup: BackupAttrs;
  keytab: KeytabAttrs;
  'cross-realm': CrossRealmAttrs;
}
export type ResourceType = keyof AttrsByType;

export const RESOURCE_TYPES: readonly ResourceType[] = [
  'host', 'guest', 'module', 'kdc', 'principal', 'service-key', 'afs-db', 'afs-fs', 'partition', 'volume', 'pts-user', 'afs-client',
  'pts-group', 'quota', 'mount', 'acl', 'ro-site', 'release', 'backup', 'keytab', 'cross-realm',
];

/** The types of cell file v1: what every driver with services realizes. */
export const V1_TYPES: readonly ResourceType[] = RESOURCE_TYPES.slice(0, 12);

export interface ResourceOf<T extends ResourceType> {
  address: string; // `${type}.${name}`, built by addrs.ts
  type: T;
  name: string;
  attrs: AttrsByType[T];
  deps: string[]; // addresses this one needs first
}
export type Resource = { [T in ResourceType]: ResourceOf<T> }[ResourceType];

/** A resource of one type, typed, or undefined. */
export function ofType<T extends ResourceType>(r: { type: ResourceType }, type: T): r is { type: T; attrs: AttrsByType[T] } & typeof r {
  return r.type === type;
}

/** The attributes as plain JSON, for code that treats every type alike. */
export function attrsOf(r: { attrs: object }): Attrs {
  return r.attrs as Attrs;
}
