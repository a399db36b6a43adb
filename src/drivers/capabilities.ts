// What each driver realizes, known without loading it, so plan can say what a driver will not manage.
import type { Catalog } from '../catalog/types.js';
import { RESOURCE_TYPES, V1_TYPES, type Resource, type ResourceType } from '../plan/resources.js';
import type { Capabilities, DriverName } from './driver.js';
import { netnsNotes } from './netns/notes.js';
import { qemuNotes } from './qemu/notes.js';

export interface DriverOptions { connect?: string }

const EVERYTHING: Capabilities = { realizes: new Set(RESOURCE_TYPES), runs: 'catalog' };
const DOMAINS_ONLY: ResourceType[] = ['host', 'guest'];

const PART_B = 'issue #15 part B';

/** v2 through the service layer's pts and vos (any placement): groups, quotas, RO sites and releases, backups. */
const SERVICE_V2: ResourceType[] = ['pts-group', 'quota', 'ro-site', 'release', 'backup'];
/** netns: all but cross-realm keys (one realm); mount points and ACLs through libuafs's pioctls, keytabs on this machine. */
const NETNS_TYPES: ResourceType[] = [...V1_TYPES, ...SERVICE_V2, 'mount', 'acl', 'keytab'];
/** qemu: the services in its guests, v1 and the service layer's v2. */
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

/** What a driver realizes, from its name and options alone. */
export function capabilitiesOf(name: DriverName, _opts: DriverOptions = {}): Capabilities {
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
      return { realizes: new Set(DOMAINS_ONLY), runs: 'catalog', unmanagedReason: 'the libvirt driver defines and starts domains; it provisions no services inside them' };
  }
}

/** What a driver will stand in for or change, said in plan and apply before it runs (catalog data, no driver loaded). */
export function planNotes(name: DriverName, resources: Resource[], catalog: Catalog): string[] {
  return name === 'qemu' ? qemuNotes(resources, catalog) : name === 'netns' ? netnsNotes(resources, catalog) : [];
}
