// Changes and plans: what apply will do to go from the recorded state to the cell file.
import type { Finding } from '../compat/types.js';
import type { Attrs, Resource, ResourceType } from './resources.js';

export type Action = 'create' | 'update' | 'replace' | 'delete';

export interface Change {
  address: string;
  type: ResourceType;
  action: Action;
  before?: Attrs; // recorded attrs (update, replace, delete)
  after?: Attrs; // desired attrs (create, update, replace)
  changed: string[]; // attribute names that differ
  reason?: string; // why replace rather than update: "kernel change needs a reboot"
  deps: string[];
}

export interface Plan {
  cell: string;
  file: string;
  changes: Change[]; // in a valid apply order (deletes reverse-dependency first)
  unchanged: number;
  findings: Finding[];
  desired: Resource[]; // what the driver will realize
  /** Resources of the cell the driver does not realize: shown, never recorded as created. */
  unmanaged?: { driver: string; reason?: string; addresses: string[] };
  summary: { add: number; change: number; destroy: number };
  /** --target: the addresses asked for; the plan holds them and what they need. */
  targets?: string[];
  /** Addresses whose changes --target left out. */
  untargeted?: string[];
}
