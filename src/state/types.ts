import type { Attrs, AttrsByType, Resource, ResourceType } from '../plan/resources.js';

/** A resource as recorded: its attrs (typed by `type`), and what the driver reported (domain id, ip, pid...). */
export type ResourceState = {
  [T in ResourceType]: { type: T; attrs: AttrsByType[T]; deps: string[]; outputs?: Attrs };
}[ResourceType];

/** What was applied for one cell. Written atomically, one writer at a time. */
export interface CellState {
  version: 1;
  cell: string;
  file: string; // cell file it came from
  driver: string; // driver that applied it: sim, netns, libvirt, qemu
  serial: number; // bumped on every write
  lineage?: string; // random id given when the state is created: a saved plan is refused by another state
  resources: Record<string, ResourceState>;
  driverData?: unknown; // the driver's own world (the sim hypervisor), saved with the resources
  pending?: Record<string, PendingStep>; // steps started but not finished when the state was saved
}

/** A driver call under way. After a crash, recovery undoes it (create) or finishes it (delete). */
export interface PendingStep {
  action: 'create' | 'update' | 'delete';
  resource: ResourceState;
}

/** The record of a resource as applied (its type and attrs stay paired). */
export function recordOf(r: Resource, outputs?: Attrs | void): ResourceState {
  return { type: r.type, attrs: r.attrs, deps: r.deps, ...(outputs ? { outputs } : {}) } as ResourceState;
}
