// What each driver realizes, known without loading it, so plan can say what a driver will not manage.
import { RESOURCE_TYPES, type ResourceType } from '../plan/resources.js';
import type { Catalog } from '../catalog/types.js';
import type { Resource } from '../plan/resources.js';
import type { Capabilities, DriverName } from './driver.js';
import { qemuNotes } from './qemu/notes.js';

export interface DriverOptions { connect?: string }

const EVERYTHING: Capabilities = { realizes: new Set(RESOURCE_TYPES) };
const DOMAINS_ONLY: ResourceType[] = ['host', 'guest'];

/** What a driver realizes, from its name and options alone. */
export function capabilitiesOf(name: DriverName, _opts: DriverOptions = {}): Capabilities {
  switch (name) {
    case 'sim':
    case 'netns':
    case 'qemu': // real Linux guests: kernels, modules, KDCs, AFS servers and kernel AFS clients in them
      return EVERYTHING;
    case 'libvirt':
      return { realizes: new Set(DOMAINS_ONLY), unmanagedReason: 'the libvirt driver defines and starts domains; it provisions no services inside them' };
  }
}

/** What a driver will stand in for or change, said in plan and apply before it runs (catalog data, no driver loaded). */
export function planNotes(name: DriverName, resources: Resource[], catalog: Catalog): string[] {
  return name === 'qemu' ? qemuNotes(resources, catalog) : [];
}
