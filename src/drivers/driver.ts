// The one driver interface. Drivers never read YAML: they get resources with plain attrs.
import type { Catalog } from '../catalog/types.js';
import type { Attrs, Json, Resource } from '../plan/types.js';
import type { ResourceState } from '../state/types.js';
import type { SecretStore } from '../state/secrets.js';

export interface DriverContext {
  cell: string;
  realm: string;
  stateDir: string; // per-cell directory the driver may use for files (images, daemons' dirs)
  catalog: Catalog;
  secrets: SecretStore;
  /** Resources applied so far (updated as apply goes). */
  applied(): Readonly<Record<string, ResourceState>>;
  /** The driver's saved world from the state file (sim), or undefined. */
  data?: Json;
  log(line: string): void; // one progress/detail line; never pass secrets
}

export interface AppliedResource extends ResourceState {
  address: string;
  name: string;
}

export interface CheckSpec {
  id: string; // stable: "kinit.kula@shea"
  kind:
    | 'guest-running' | 'kdc-answers' | 'kinit' | 'afs-quorum' | 'volume-listed' | 'pts-user'
    | 'bos-status' | 'client-module' | 'client-tokens' | 'client-file-rw' | 'client-anon-refused'
    | 'afs-resolves' | 'caveat';
  name: string; // human title
  guest?: string; // where it runs
  params: Attrs;
}

export interface CheckResult {
  status: 'pass' | 'fail' | 'skip';
  message: string; // one line
  detail?: string; // console/kernel-log excerpt, command output (never secrets)
}

export interface DomainStatus {
  id: number | null; name: string; host: string; state: string; memory: number; vifs: string[];
}
export interface DriverStatus {
  hosts: { name: string; memory: number; used: number; free: number }[];
  domains: DomainStatus[];
  services: { address: string; guest: string; state: 'up' | 'down'; pid?: number; detail?: string }[];
}

export interface Driver {
  readonly name: string;
  create(r: Resource): Promise<Attrs | void>; // returns outputs to record
  update(prior: AppliedResource, r: Resource): Promise<Attrs | void>;
  delete(prior: AppliedResource): Promise<void>;
  console(guest: string): Promise<string>;
  status(): Promise<DriverStatus>;
  check(c: CheckSpec): Promise<CheckResult>;
  migrate(guest: string, toHost: string): Promise<Attrs | void>;
  /** Remove whatever of this cell the driver can still find, recorded or not (after a full destroy). */
  purge?(): Promise<string[]>;
  /** The world to save with the state (sim); undefined for drivers whose world is real. */
  snapshot(): Json | undefined;
  close(): Promise<void>;
}
