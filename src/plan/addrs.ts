// Resource addresses: "guest.shea", "volume.root.afs", "partition.service-m1./vicepa". The only
// place they are built or taken apart; a type never contains a dot, a name may.
import { RESOURCE_TYPES, type ResourceType } from './resources.js';

const TYPES = new Set<string>(RESOURCE_TYPES);

export function address(type: ResourceType, name: string): string {
  return `${type}.${name}`;
}

/** Type and name of an address; undefined when it is not one. */
export function parseAddress(a: string): { type: ResourceType; name: string } | undefined {
  const dot = a.indexOf('.');
  const type = a.slice(0, dot);
  if (dot <= 0 || dot === a.length - 1 || !TYPES.has(type)) return undefined;
  return { type: type as ResourceType, name: a.slice(dot + 1) };
}

/** The name in an address of a known type, or undefined. */
export function nameIn(a: string, type: ResourceType): string | undefined {
  const p = parseAddress(a);
  return p?.type === type ? p.name : undefined;
}

/** Names of resources, in the form their addresses use. */
export const names = {
  module: (guest: string, module: string) => `${guest}.${module}`,
  partition: (guest: string, path: string) => `${guest}.${path}`,
  serviceKey: (cell: string) => `afs/${cell}`,
  /** kula/admin -> kula.admin (pts names use a dot where Kerberos v5 uses a slash). */
  ptsUser: (principal: string) => principal.replace('/', '.'),
};

/** Addresses by type, for callers that know what they point at. */
export const addr = {
  host: (h: string) => address('host', h),
  guest: (g: string) => address('guest', g),
  module: (guest: string, module: string) => address('module', names.module(guest, module)),
  kdc: (g: string) => address('kdc', g),
  principal: (p: string) => address('principal', p),
  serviceKey: (cell: string) => address('service-key', names.serviceKey(cell)),
  afsDb: (g: string) => address('afs-db', g),
  afsFs: (g: string) => address('afs-fs', g),
  partition: (guest: string, path: string) => address('partition', names.partition(guest, path)),
  volume: (v: string) => address('volume', v),
  ptsUser: (principal: string) => address('pts-user', names.ptsUser(principal)),
  afsClient: (g: string) => address('afs-client', g),
};
