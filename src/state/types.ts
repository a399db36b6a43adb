import type { Attrs, Json, ResourceType } from '../plan/types.js';

export interface ResourceState {
  type: ResourceType;
  attrs: Attrs;
  deps: string[];
  outputs?: Attrs; // what the driver reported: domain id, ip, pid...
}

/** What was applied for one cell. Written atomically, one writer at a time. */
export interface CellState {
  version: 1;
  cell: string;
  file: string; // cell file it came from
  driver: string; // driver that applied it: sim, netns, libvirt
  serial: number; // bumped on every write
  resources: Record<string, ResourceState>;
  driverData?: Json; // the driver's own world (the sim hypervisor), saved with the resources
  pending?: Record<string, PendingStep>; // steps started but not finished when the state was saved
}

/** A driver call under way. After a crash, recovery undoes it (create) or finishes it (delete). */
export interface PendingStep {
  action: 'create' | 'update' | 'delete';
  resource: ResourceState;
}
