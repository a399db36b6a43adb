// The one driver interface. Drivers never read YAML: they get typed resources with plain attrs.
import type { Catalog } from '../catalog/types.js';
import type { Runs } from '../catalog/keys.js';
import type { Attrs, Resource, ResourceType } from '../plan/resources.js';
import type { Observed } from '../plan/types.js';
import type { SecretStore } from '../state/secrets.js';
import type { ResourceState } from '../state/types.js';

export const DRIVER_NAMES = ['sim', 'netns', 'libvirt', 'qemu', 'xen'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

export interface DriverContext {
  cell: string;
  realm: string;
  stateDir: string; // per-cell directory the driver may use for files (images, daemons' dirs)
  catalog: Catalog;
  secrets: SecretStore;
  /** The driver's world as it was last saved with the state (undefined for a new cell). */
  world: unknown;
  /**
   * Save the state with this world (what snapshot() returns) now. A driver calls it before it
   * makes something real (write-ahead), so a kill at any moment leaves nothing the next run cannot find.
   */
  checkpoint(world: unknown): void;
  log(line: string): void; // one progress/detail line; never pass secrets
}

/** What a driver really realizes; the rest of a plan is shown as "not managed by <driver>". */
export interface Capabilities {
  realizes: ReadonlySet<ResourceType>;
  /** Why the other types are not realized, said in plan, apply and smoke. */
  unmanagedReason?: string;
  /** Why one resource of a type it realizes is beyond it (another realm's KDC, say); undefined: it is not. */
  declines?(r: Resource, cell: { realm: string }): string | undefined;
  /** The software it runs: the catalog's (modelled), or what really runs in its place (catalog stand_in). */
  runs: Runs;
  /** The KDC products it really runs (catalog product ids), the first standing in for any other; none: it runs no KDC. */
  kdcProducts?: readonly string[];
  /** migrate --cold: the guest is saved on one host and restored on the other (it stops meanwhile). */
  coldMigration?: boolean;
}

export interface MigrateOptions {
  cold?: boolean; // save + restore instead of a live move (only where capabilities.coldMigration)
}

export type AppliedResource = ResourceState & { address: string; name: string };

export type CheckKind =
  | 'guest-running' | 'kdc-answers' | 'kinit' | 'afs-quorum' | 'volume-listed' | 'pts-user'
  | 'bos-status' | 'client-module' | 'client-tokens' | 'client-file-rw' | 'client-anon-refused' | 'afs-resolves'
  // the AFS client's fs commands: listacl, setacl then writes allowed and refused, listquota, checkservers
  | 'client-acl-list' | 'client-acl-write' | 'client-quota' | 'client-servers'
  // cell file v2: a driver that does not run one of these skips it, saying so
  | 'pts-group' | 'acl-write' | 'quota-exceeded' | 'ro-release' | 'mount-point' | 'cross-realm-token' | 'keytab-kinit';

/** One end-to-end check a driver runs against a live cell. */
export interface Check {
  id: string; // stable: "kinit.kula@shea"
  kind: CheckKind;
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
export interface ServiceStatus { address: string; guest: string; state: 'up' | 'down'; pid?: number; detail?: string }
export interface DriverStatus {
  hosts: { name: string; memory: number; used: number; free: number }[];
  domains: DomainStatus[];
  services: ServiceStatus[];
}

export type { Observed } from '../plan/types.js';
export const PRESENT: Observed = { state: 'present' };

/** A principal's keys (principal qualified), as a keytab file holds them. */
export interface KeytabKeys { principal: string; kvno: number; keys: { enctype: string; key: Buffer }[] }

/** cellctl exec: a command inside a guest, with the cell's client files and the guest's PATH. */
export interface ExecRequest {
  guest: string;
  argv: string[];
  /** --as: log in first (kinit with this password, then aklog), in a ticket cache and PAG of this run's own. */
  as?: { principal: string; password: string };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface Driver {
  readonly name: DriverName;
  readonly capabilities: Capabilities;
  /** What is really there of a recorded resource; never changes anything. */
  read(prior: AppliedResource): Promise<Observed>;
  create(r: Resource): Promise<Attrs | void>; // returns outputs to record
  update(prior: AppliedResource, r: Resource): Promise<Attrs | void>;
  delete(prior: AppliedResource): Promise<void>;
  console(guest: string): Promise<string>;
  status(): Promise<DriverStatus>;
  check(c: Check): Promise<CheckResult>;
  migrate(guest: string, toHost: string, o?: MigrateOptions): Promise<Attrs | void>;
  /** Runs a command in a guest; resolves to its exit status. Absent: the driver has no way into a guest. */
  exec?(req: ExecRequest): Promise<number>;
  /** A keytab's keys as the realm's KDC has them (cellctl export --format client); undefined: it has none to give. */
  keytab?(principal: string): Promise<KeytabKeys | undefined>;
  /** Remove whatever of this cell the driver can still find, recorded or not (after a full destroy). */
  purge?(): Promise<string[]>;
  /** The world to save with the state (plain JSON data); undefined when there is nothing of the driver's own. */
  snapshot(): unknown;
  close(): Promise<void>;
}
