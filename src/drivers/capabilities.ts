// What each driver realizes, known without loading it, so plan can say what a driver will not manage.
import { RESOURCE_TYPES, type ResourceType } from '../plan/resources.js';
import type { Catalog } from '../catalog/types.js';
import type { Resource } from '../plan/resources.js';
import type { Capabilities, DriverName } from './driver.js';
import { qemuNotes } from './qemu/notes.js';
import { xenNotes } from './xen/driver/notes.js';

export interface DriverOptions { connect?: string }

const EVERYTHING: Capabilities = { realizes: new Set(RESOURCE_TYPES) };
const DOMAINS_ONLY: ResourceType[] = ['host', 'guest'];
/** Real Linux guests: their kernels, modules, /vicep partitions and kernel AFS clients. */
const GUEST_SIDE: ResourceType[] = ['host', 'guest', 'module', 'partition', 'afs-client'];

/** What a driver realizes, from its name and options alone. */
export function capabilitiesOf(name: DriverName, _opts: DriverOptions = {}): Capabilities {
  switch (name) {
    case 'sim':
    case 'netns':
      return EVERYTHING;
    case 'libvirt':
      return { realizes: new Set(DOMAINS_ONLY), unmanagedReason: 'the libvirt driver defines and starts domains; it provisions no services inside them' };
    case 'qemu':
      return {
        realizes: new Set(GUEST_SIDE),
        unmanagedReason: 'the qemu driver boots the guests, loads their modules, mounts /vicep partitions and runs the kernel AFS client; KDCs and AFS servers are not yet placed inside its guests',
      };
    case 'xen':
      return {
        realizes: new Set(GUEST_SIDE),
        unmanagedReason: 'the xen driver boots each host as a Xen hypervisor and the guests as domUs, loads their modules, mounts /vicep partitions and runs the kernel AFS client; KDCs and AFS servers are not yet placed inside its domUs',
        coldMigration: true,
      };
  }
}

/** What a driver will stand in for or change, said in plan and apply before it runs (catalog data, no driver loaded). */
export function planNotes(name: DriverName, resources: Resource[], catalog: Catalog): string[] {
  if (name === 'qemu') return qemuNotes(resources, catalog);
  return name === 'xen' ? xenNotes(resources, catalog) : [];
}
