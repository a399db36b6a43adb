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

/** v2 through the service layer's pts and vos (any placement): groups, quotas, RO sites and releases, backups. */
const SERVICE_V2: ResourceType[] = ['pts-group', 'quota', 'ro-site', 'release', 'backup'];
/** netns: every realm and its cross-realm keys; mount points and ACLs through libuafs's pioctls, keytabs on this machine. */
const NETNS_TYPES: ResourceType[] = [...V1_TYPES, ...SERVICE_V2, 'mount', 'acl', 'keytab', 'cross-realm'];
/** qemu: the services in its guests, v1 and the service layer's v2; mount points and ACLs through a guest's kernel client, keytabs in the guests. */
const QEMU_TYPES: ResourceType[] = [...V1_TYPES, ...SERVICE_V2, 'mount', 'acl', 'keytab', 'cross-realm'];
/** xen: the services in its domUs, v1 and the service layer's v2. */
const XEN_TYPES: ResourceType[] = [...V1_TYPES, ...SERVICE_V2];

/** The cell's realm only: another realm's KDC and principals are declined (its users stay pts entries). */
function cellRealmOnly(driver: string) {
  return (r: Resource, cell: { realm: string }): string | undefined =>
    (r.type === 'kdc' || r.type === 'principal') && r.attrs.realm !== cell.realm ? `the ${driver} driver runs one realm, ${cell.realm} (netns and qemu run every realm)` : undefined;
}

/** What a driver realizes, from its name and options alone (libvirt: from the URIs, see libvirtMode). */
export function capabilitiesOf(name: DriverName, opts: DriverOptions = {}): Capabilities {
  switch (name) {
    case 'sim':
      return EVERYTHING;
    case 'netns':
      // Heimdal's kdc is started in a namespace of this machine (services/kdc-heimdal.ts).
      return { realizes: new Set(NETNS_TYPES), runs: 'stand-ins', kdcProducts: ['mit-krb5', 'heimdal'] };
    case 'qemu':
      return {
        // MIT only: the Heimdal KDC is run from this machine's unpacked prefix into a namespace here, not into a VM.
        realizes: new Set(QEMU_TYPES), runs: 'stand-ins', kdcProducts: ['mit-krb5'],
      };
    case 'libvirt':
      if (libvirtMode(libvirtUris(opts)) === 'guests') {
        // the same real guests as --driver qemu, with the same service layer in them
        return {
          realizes: new Set(QEMU_TYPES), runs: 'stand-ins', kdcProducts: ['mit-krb5'],
        };
      }
      return {
        realizes: new Set(DOMAINS_ONLY),
        runs: 'catalog',
        unmanagedReason: 'on these libvirt connections (test://, Xen) the libvirt driver defines and starts domains only; it provisions no services inside them (real guests need qemu:// hosts)',
      };
    case 'xen':
      return {
        // the service layer's placement over the domU agent, MIT only (as qemu); what the kernel client makes
        // (mount points, ACLs), keytabs and other realms run through the same code but were never tried in a domU
        realizes: new Set(XEN_TYPES), runs: 'stand-ins', kdcProducts: ['mit-krb5'], declines: cellRealmOnly('xen'),
        unmanagedReason: 'the xen driver does not yet make mount points, ACLs, keytabs or other realms (the netns and qemu drivers do)',
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
