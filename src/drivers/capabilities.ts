// What each driver realizes, known without loading it, so plan can say what a driver will not manage.
import type { Catalog } from '../catalog/types.js';
import { RESOURCE_TYPES, V1_TYPES, type Resource, type ResourceType } from '../plan/resources.js';
import type { Capabilities, DriverName } from './driver.js';
import { libvirtMode } from './libvirt/uri.js';
import { netnsNotes } from './netns/notes.js';
import { qemuNotes } from './qemu/notes.js';
import { xenNotes } from './xen/driver/notes.js';

export interface DriverOptions {
  connect?: string; // libvirt: --connect, every host's URI
  hostUris?: (string | null)[]; // libvirt: the cell file's hosts.<h>.uri
}

/** The libvirt URIs a cell uses: --connect for every host, else each host's own. */
export function libvirtUris(opts: DriverOptions): (string | null)[] {
  return opts.connect ? [opts.connect] : opts.hostUris ?? [];
}

const EVERYTHING: Capabilities = { realizes: new Set(RESOURCE_TYPES), runs: 'catalog' };
const DOMAINS_ONLY: ResourceType[] = ['host', 'guest'];

const PART_B = 'issue #15 part B';

/** v2 through the service layer's pts and vos (any placement): groups, quotas, RO sites and releases, backups. */
const SERVICE_V2: ResourceType[] = ['pts-group', 'quota', 'ro-site', 'release', 'backup'];
/** netns: all but cross-realm keys (one realm); mount points and ACLs through libuafs's pioctls, keytabs on this machine. */
const NETNS_TYPES: ResourceType[] = [...V1_TYPES, ...SERVICE_V2, 'mount', 'acl', 'keytab'];
/** qemu and xen: the services in their guests, v1 and the service layer's v2. */
const QEMU_TYPES: ResourceType[] = [...V1_TYPES, ...SERVICE_V2];

/** One realm (the cell's) per cell: another realm's users are pts entries only (no KDC gives them tickets). */
function oneRealm(driver: string) {
  return (r: Resource, cell: { realm: string }): string | undefined => {
    switch (r.type) {
      case 'kdc':
      case 'principal':
      case 'keytab':
        return r.attrs.realm !== cell.realm ? `the ${driver} driver runs one realm, ${cell.realm}, until ${PART_B}` : undefined;
      default:
        return undefined;
    }
  };
}

/** What a driver realizes, from its name and options alone (libvirt: from the URIs, see libvirtMode). */
export function capabilitiesOf(name: DriverName, opts: DriverOptions = {}): Capabilities {
  switch (name) {
    case 'sim':
      return EVERYTHING;
    case 'netns':
      return {
        realizes: new Set(NETNS_TYPES), runs: 'stand-ins', declines: oneRealm('netns'),
        unmanagedReason: `the netns driver runs one realm: cross-realm keys come with ${PART_B}`,
      };
    case 'qemu':
      return {
        realizes: new Set(QEMU_TYPES), runs: 'stand-ins', declines: oneRealm('qemu'),
        unmanagedReason: `the qemu driver does not yet make mount points, ACLs or keytabs (the netns driver does), and runs one realm: cross-realm keys come with ${PART_B}`,
      };
    case 'libvirt':
      if (libvirtMode(libvirtUris(opts)) === 'guests') {
        // the same real guests as --driver qemu, with the same service layer in them
        return {
          realizes: new Set(QEMU_TYPES), runs: 'stand-ins', declines: oneRealm('libvirt'),
          unmanagedReason: `on QEMU hosts the libvirt driver runs what the qemu driver runs: it does not yet make mount points, ACLs or keytabs (the netns driver does), and runs one realm: cross-realm keys come with ${PART_B}`,
        };
      }
      return {
        realizes: new Set(DOMAINS_ONLY),
        runs: 'catalog',
        unmanagedReason: 'on these libvirt connections (test://, Xen) the libvirt driver defines and starts domains only; it provisions no services inside them (real guests need qemu:// hosts)',
      };
    case 'xen':
      return {
        realizes: new Set(QEMU_TYPES), runs: 'stand-ins', declines: oneRealm('xen'),
        unmanagedReason: `the xen driver does not yet make mount points, ACLs or keytabs (the netns driver does), and runs one realm: cross-realm keys come with ${PART_B}`,
        coldMigration: true,
      };
  }
}

/** What a driver will stand in for or change, said in plan and apply before it runs (catalog data, no driver loaded). */
export function planNotes(name: DriverName, resources: Resource[], catalog: Catalog, opts: DriverOptions = {}): string[] {
  if (name === 'xen') return xenNotes(resources, catalog);
  const realGuests = name === 'qemu' || (name === 'libvirt' && libvirtMode(libvirtUris(opts)) === 'guests');
  return realGuests ? qemuNotes(resources, catalog) : name === 'netns' ? netnsNotes(resources, catalog) : [];
}
