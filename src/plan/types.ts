// Changes and plans: what apply will do to go from the recorded state to the cell file.
import type { Finding } from '../compat/types.js';
import type { Attrs, Resource, ResourceType } from './resources.js';

/**
 * What a driver finds of a recorded resource when it looks (refresh). `reason` says what was found,
 * in the plan's words: "found not running: will be restarted", "domain crashed".
 */
export type Observed =
  | { state: 'present' }
  | { state: 'absent'; reason: string } // gone: apply makes it again
  | { state: 'degraded'; reason: string; repair: 'update' | 'replace' } // there but not working: repaired in place, or re-made
  | { state: 'unknown'; reason: string }; // the driver cannot tell (said in plan and status; apply leaves it)

export type Action = 'create' | 'update' | 'replace' | 'delete';

export interface Change {
  address: string;
  type: ResourceType;
  action: Action;
  before?: Attrs; // recorded attrs (update, replace, delete)
  after?: Attrs; // desired attrs (create, update, replace)
  changed: string[]; // attribute names that differ
  reason?: string; // why replace rather than update: "kernel change needs a reboot"; or what refresh found
  /** The change repairs drift: refresh found the resource gone or not working (`reason` says how). */
  drift?: boolean;
  /** A delete that goes with something else deleted in the same plan (its guest): no step of its own. */
  moot?: string;
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
  unmanaged?: { driver: string; reason?: string; addresses: string[]; declined?: Record<string, string> };
  /** Recorded resources the driver could not read back (refresh): shown, left as they are. */
  unknown?: { address: string; reason: string }[];
  /** Whether the recorded state was compared with what really runs (false: --refresh=false, or never applied). */
  refreshed?: boolean;
  summary: { add: number; change: number; destroy: number };
  /** --target: the addresses asked for; the plan holds them and what they need. */
  targets?: string[];
  /** Addresses whose changes --target left out. */
  untargeted?: string[];
}
