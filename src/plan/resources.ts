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
export type AfsDbAttrs = { guest: string; cell: string; software: string; dbservers: string[] };
export type AfsFsAttrs = { guest: string; cell: string; software: string; partitions: string[]; dbservers: string[] };
export type PartitionAttrs = { guest: string; path: string };
export type VolumeAttrs = { volume: string; server: string; partition: string };
/** user in pts form: kula.admin for kula/admin. */
export type PtsUserAttrs = { user: string; principal: string; admin: boolean };
export type AfsClientAttrs = { guest: string; cell: string; software: string; module: string | null; dbservers: string[] };

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
}
export type ResourceType = keyof AttrsByType;

export const RESOURCE_TYPES: readonly ResourceType[] = [
  'host', 'guest', 'module', 'kdc', 'principal', 'service-key', 'afs-db', 'afs-fs', 'partition', 'volume', 'pts-user', 'afs-client',
];

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
