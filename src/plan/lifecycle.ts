// Which attribute changes a running resource can take in place, and why the others need a replacement.
import { attrsOf, type Attrs, type ResourceType } from './resources.js';

/** What says which OpenAFS runs: the catalog release, and your own build and its version. */
export const SERVER_SOFTWARE = ['software', 'prefix', 'version'];

type Rule = (before: Attrs, after: Attrs) => string | undefined; // undefined: in place; else the reason to replace

interface Lifecycle {
  inPlace: string[]; // attrs that change in place, unless a rule below says otherwise
  rules?: Record<string, Rule>;
  replaceReason?: Record<string, string>;
}

const LIFECYCLE: Record<ResourceType, Lifecycle> = {
  host: {
    inPlace: ['memory', 'dom0_memory', 'cpus', 'cpu_features', 'bridges', 'devices', 'shared_storage', 'uri'],
    replaceReason: { os: 'a new dom0 OS means reinstalling the host', xen: 'a new hypervisor means rebooting the host' },
  },
  guest: {
    inPlace: ['memory'],
    rules: {
      // xm mem-set balloons a running domain, but only up to the maxmem it was created with.
      memory: (b, a) =>
        (a.memory as number) <= (b.maxmem as number) && a.maxmem === b.maxmem
          ? undefined
          : `memory ${a.memory} MiB is above maxmem ${b.maxmem} MiB set at boot: needs a reboot`,
    },
    replaceReason: {
      kernel: 'kernel change needs a reboot',
      kernel_image: 'kernel change needs a reboot',
      maxmem: 'maxmem is fixed when the domain is created: needs a reboot',
      vcpus: 'vcpu count is fixed when the domain is created: needs a reboot',
      host: 'guest moves to another host (cellctl migrate moves it live)',
      os: 'a new guest OS needs a new domain',
      type: 'pv/hvm is chosen when the domain is built',
      root: 'root device is read at boot: needs a reboot',
      vifs: 'vif changes are applied by recreating the domain',
      disks: 'disk changes are applied by recreating the domain',
    },
  },
  module: { inPlace: [] },
  kdc: { inPlace: ['kdcs'], replaceReason: { role: 'master/replica role change re-creates the KDC database' } },
  principal: { inPlace: [] },
  'service-key': { inPlace: [] },
  // CellServDB rewritten, servers restarted; new software: restarted from it, one db server at a time (diff.ts)
  'afs-db': { inPlace: ['dbservers', ...SERVER_SOFTWARE] },
  'afs-fs': { inPlace: ['dbservers', 'partitions', ...SERVER_SOFTWARE] },
  partition: { inPlace: [] },
  volume: { inPlace: ['server', 'partition'] }, // vos move
  'pts-user': { inPlace: ['admin'], replaceReason: { id: 'an AFS id is fixed when pts createuser makes the user' } }, // pts adduser/removeuser system:administrators
  'afs-client': { inPlace: ['dbservers', 'prefix', 'version'] }, // afsd restarted from the build
  'pts-group': { inPlace: ['members', 'owner'], replaceReason: { id: 'an AFS id is fixed when pts creategroup makes the group' } }, // pts adduser/removeuser, pts chown
  quota: { inPlace: ['max_kb'] }, // fs setquota
  mount: { inPlace: ['volume', 'rw'] }, // fs rmmount, fs mkmount
  acl: { inPlace: ['normal', 'negative', 'volume'] }, // fs setacl -clear
  'ro-site': { inPlace: [], replaceReason: { server: 'a read-only site moves by vos remsite and vos addsite', partition: 'a read-only site moves by vos remsite and vos addsite' } },
  release: { inPlace: ['sites', 'content'] }, // vos release
  backup: { inPlace: ['server', 'partition', 'content'] }, // vos backup (vos move deletes the old backup volume)
  keytab: { inPlace: ['enctypes', 'guest'], replaceReason: { kdc: 'a new master KDC means a new key' } }, // ktadd -e, copied to the guest
  'cross-realm': { inPlace: [], replaceReason: { enctypes: 'the shared key is made again in both KDCs', kdcs: 'the shared key is made again in both KDCs' } },
};

/** Why `changed` needs a replacement, or undefined when the resource can be updated in place. */
export function replaceReason(type: ResourceType, changed: string[], before: Attrs, after: Attrs): string | undefined {
  const lc = LIFECYCLE[type];
  for (const attr of changed) {
    const rule = lc.rules?.[attr];
    if (rule) {
      const why = rule(before, after);
      if (why) return why;
    } else if (!lc.inPlace.includes(attr)) {
      return lc.replaceReason?.[attr] ?? `${attr} cannot change in place`;
    }
  }
  return undefined;
}

/**
 * The guests a resource lives on: it is gone once all of them are (a KDC with its guest, a principal
 * with every KDC of its realm, a volume with its fileserver and the VLDB's servers). Undefined for
 * what lives on no guest (hosts, guests). `guestsOf(type)`: the guests of the cell's recorded
 * resources of a type (the KDCs, the database servers).
 */
export function livesOn(r: { type: ResourceType; attrs: object }, guestsOf: (type: 'kdc' | 'afs-db') => string[]): string[] | undefined {
  const a = attrsOf(r);
  switch (r.type) {
    case 'host':
    case 'guest':
      return undefined;
    case 'volume':
      return [String(a.server), ...guestsOf('afs-db')];
    case 'principal':
    case 'service-key':
      return guestsOf('kdc');
    case 'pts-user':
    case 'pts-group':
      return guestsOf('afs-db');
    case 'quota':
    case 'mount':
    case 'acl':
    case 'release':
      return guestsOf('afs-db'); // in volumes on fileservers the VLDB finds: gone with the databases
    case 'ro-site':
    case 'backup':
      return [String(a.server), ...guestsOf('afs-db')];
    case 'keytab':
      return [...guestsOf('kdc'), ...(typeof a.guest === 'string' ? [a.guest] : [])];
    case 'cross-realm':
      return guestsOf('kdc');
    default:
      return typeof a.guest === 'string' ? [a.guest] : undefined;
  }
}
