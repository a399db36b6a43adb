// What each driver realizes, known without loading it, so plan can say what a driver will not manage.
import { RESOURCE_TYPES, V1_TYPES, type Resource, type ResourceType } from '../plan/resources.js';
import type { Capabilities, DriverName } from './driver.js';

export interface DriverOptions { connect?: string }

const EVERYTHING: Capabilities = { realizes: new Set(RESOURCE_TYPES), runs: 'catalog' };
const DOMAINS_ONLY: ResourceType[] = ['host', 'guest'];

const PART_B = 'issue #15 part B';

/** netns: one realm (the cell's), users whose ids the ptserver picks; the v2 types come with part B. */
function netnsDeclines(r: Resource, cell: { realm: string }): string | undefined {
  switch (r.type) {
    case 'kdc':
    case 'principal':
      return r.attrs.realm !== cell.realm ? `the netns driver runs one realm, ${cell.realm}, until ${PART_B}` : undefined;
    case 'pts-user':
      if (r.attrs.principal.includes('@')) return `another realm's user needs that realm (${PART_B})`;
      return r.attrs.id !== undefined ? `explicit AFS ids (pts createuser -id) come with ${PART_B}` : undefined;
    default:
      return undefined;
  }
}

/** What a driver realizes, from its name and options alone. */
export function capabilitiesOf(name: DriverName, _opts: DriverOptions = {}): Capabilities {
  switch (name) {
    case 'sim':
      return EVERYTHING;
    case 'netns':
      return {
        realizes: new Set(V1_TYPES), runs: 'stand-ins', declines: netnsDeclines,
        unmanagedReason: `the netns driver makes groups, quotas, mount points, ACLs, replicas, backup volumes, keytabs and cross-realm keys with ${PART_B}`,
      };
    case 'libvirt':
      return { realizes: new Set(DOMAINS_ONLY), runs: 'catalog', unmanagedReason: 'the libvirt driver defines and starts domains; it provisions no services inside them' };
  }
}
