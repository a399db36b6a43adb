// Resource addresses: "guest.shea", "volume.root.afs", "partition.service-m1./vicepa". The only
// place they are built or taken apart; a type never contains a dot, a name may.
import { ptsName } from '../config/afs.js';
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
  /** kula/admin -> kula.admin (pts names use a dot where Kerberos v5 uses a slash); bob@ATHENA.NET -> bob@athena.net. */
  ptsUser: (principal: string) => {
    const at = principal.indexOf('@');
    return at < 0 ? ptsName(principal) : `${ptsName(principal.slice(0, at))}@${principal.slice(at + 1).toLowerCase()}`;
  },
  /** A principal of the cell's realm by its name, another realm's qualified: kula, bob@ATHENA.NET. */
  principal: (principal: string, realm: string, cellRealm: string) => (realm === cellRealm ? principal : `${principal}@${realm}`),
  /** root.cell@service-m1/vicepa */
  roSite: (volume: string, server: string, partition: string) => `${volume}@${server}${partition}`,
  crossRealm: (clientRealm: string, serviceRealm: string) => `krbtgt/${serviceRealm}@${clientRealm}`,
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
  /** The pts-user of a pts name (kula.admin, bob@athena.net). */
  ptsName: (user: string) => address('pts-user', user),
  afsClient: (g: string) => address('afs-client', g),
  ptsGroup: (g: string) => address('pts-group', g),
  quota: (v: string) => address('quota', v),
  mount: (path: string) => address('mount', path),
  acl: (path: string) => address('acl', path),
  roSite: (volume: string, server: string, partition: string) => address('ro-site', names.roSite(volume, server, partition)),
  release: (v: string) => address('release', v),
  backup: (v: string) => address('backup', v),
  keytab: (principal: string) => address('keytab', principal),
  crossRealm: (clientRealm: string, serviceRealm: string) => address('cross-realm', names.crossRealm(clientRealm, serviceRealm)),
};
