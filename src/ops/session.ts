// Everything a command needs about one cell: spec, catalog, findings, state store, secrets, driver.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { serviceKeyEnctypes } from '../catalog/keys.js';
import { loadCatalog } from '../catalog/load.js';
import type { Catalog } from '../catalog/types.js';
import { runCompat } from '../compat/index.js';
import type { Finding } from '../compat/types.js';
import { loadCell } from '../config/load.js';
import type { CellSpec } from '../config/types.js';
import { UserError } from '../diagnostics.js';
import type { Driver, DriverContext } from '../drivers/driver.js';
import { capabilitiesOf, DRIVER_NAMES, isDriverName, openDriver, planNotes, type DriverName, type DriverOptions } from '../drivers/index.js';
import { desiredResources, splitManaged } from '../plan/desired.js';
import { diff, type Refreshed } from '../plan/diff.js';
import { targetPlan } from '../plan/target.js';
import type { Resource } from '../plan/resources.js';
import type { Plan } from '../plan/types.js';
import { acquireLock, type Lock } from '../state/lock.js';
import { SecretStore } from '../state/secrets.js';
import { StateStore, stateRoot } from '../state/store.js';
import type { CellState } from '../state/types.js';

export interface SessionOptions {
  stateDir?: string;
  driver?: string;
  connect?: string;
  log?: (line: string) => void;
  /** Said on stderr whatever --quiet says: modes corrected, a state from another file used with --force. */
  warn?: (line: string) => void;
  /** --force: use a state written from another cell file (destroy: and remove everything found). */
  force?: boolean;
}

export class Session {
  readonly store: StateStore;
  /** The state read was written from another cell file and taken with --force: apply records it as this file's. */
  adopted = false;
  private lock?: Lock;
  private openDrivers: Driver[] = [];

  private constructor(
    readonly spec: CellSpec,
    readonly catalog: Catalog,
    readonly findings: Finding[],
    private readonly opts: SessionOptions,
  ) {
    this.store = new StateStore(stateRoot(spec.file, opts.stateDir), spec.cell);
    this.store.warn = this.warn;
  }

  get warn(): (line: string) => void {
    return this.opts.warn ?? (() => undefined);
  }

  get force(): boolean {
    return this.opts.force === true;
  }

  /** Load and check the cell file (throws UserError with positions on bad input). */
  static load(file: string, opts: SessionOptions = {}): Session {
    const catalog = loadCatalog();
    const spec = loadCell(file, catalog);
    return new Session(spec, catalog, runCompat(spec, catalog), opts);
  }

  get errors(): Finding[] {
    return this.findings.filter((f) => f.severity === 'error');
  }

  /** The recorded state; a state written from another cell file (same cell name) is refused unless --force. */
  readState(): CellState | undefined {
    const state = this.store.read();
    if (state && state.file !== this.spec.file && (Object.keys(state.resources).length > 0 || state.pending)) {
      if (!this.force) {
        throw new UserError(
          `${this.store.stateFile} was written from ${state.file}, not ${this.spec.file} (both describe cell ${this.spec.cell}); ` +
          'use --state-dir to keep the two apart, or --force to take this state as the one of this file',
        );
      }
      this.warn(`using the state of ${state.file} for ${this.spec.file} (--force)`);
      state.file = this.spec.file;
      this.adopted = true;
    }
    return state;
  }

  /** The secret store, read and checked now: a damaged one stops a command before any step. */
  secrets(): SecretStore {
    return new SecretStore(this.store.secretsFile, this.warn);
  }

  emptyState(driver: DriverName): CellState {
    return { version: 1, cell: this.spec.cell, file: this.spec.file, driver, serial: 0, lineage: randomUUID(), resources: {} };
  }

  /**
   * Plan against recorded state, for the resources the driver realizes; `destroy` plans towards
   * nothing; `targets` keeps those resources and what they need (--target); `refreshed`: what the
   * driver found (see refresh()), so drift shows as changes.
   */
  plan(state: CellState | undefined, opts: { destroy?: boolean; driver?: DriverName; targets?: string[]; refreshed?: Refreshed } = {}): Plan {
    const driver = opts.driver ?? this.driverName(state);
    const caps = capabilitiesOf(driver, this.driverOptions(state));
    const { managed, unmanaged, declined } = splitManaged(opts.destroy ? [] : desiredResources(this.spec, this.catalog, caps.runs), caps, this.spec);
    const p = diff(this.spec, managed, state, this.findings, opts.refreshed);
    if (unmanaged.length) {
      p.unmanaged = {
        driver, ...(caps.unmanagedReason ? { reason: caps.unmanagedReason } : {}), addresses: unmanaged,
        ...(Object.keys(declined).length ? { declined } : {}),
      };
    }
    return opts.targets?.length ? targetPlan(p, opts.targets, state?.resources ?? {}, Boolean(opts.destroy)) : p;
  }

  /**
   * What a driver is told besides its context: libvirt's URIs (they decide what it realizes): --connect,
   * else each host's uri from the cell file, else the one its host was applied with.
   */
  driverOptions(state?: CellState): DriverOptions {
    const recorded = (host: string) => {
      const uri = state?.resources[`host.${host}`]?.outputs?.uri;
      return typeof uri === 'string' ? uri : null;
    };
    const hostUris = Object.entries(this.spec.hosts).map(([name, h]) => h.uri ?? recorded(name));
    return { ...(this.opts.connect ? { connect: this.opts.connect } : {}), hostUris };
  }

  /** Every resource of the cell, managed by `driver` or not, for the software it runs. */
  allResources(driver: DriverName): Resource[] {
    return desiredResources(this.spec, this.catalog, capabilitiesOf(driver, this.driverOptions()).runs);
  }

  /** The driver to use: --driver, else the one that applied the recorded state, else sim. */
  driverName(state: CellState | undefined): DriverName {
    const name = this.opts.driver ?? state?.driver ?? 'sim';
    if (!isDriverName(name)) throw new UserError(`unknown driver '${name}' (expected ${DRIVER_NAMES.join(', ')})`);
    const hasResources = state && Object.keys(state.resources).length > 0;
    if (hasResources && state.driver !== name) {
      throw new UserError(`the cell's state was applied with --driver ${state.driver}; destroy it first or use --driver ${state.driver}`);
    }
    return name;
  }

  /**
   * What real software serves each catalog version the driver runs (from catalog data:
   * debian_stand_in, stand_in, service_key), the keys it takes where they differ from the catalog's,
   * and what the driver itself stands in for (kernels, modules, memory on --driver qemu).
   */
  standIns(driver?: DriverName, state?: CellState, withPlanNotes = true): string[] {
    const caps = capabilitiesOf(driver ?? 'netns', this.driverOptions(state));
    const realizes = caps.realizes;
    const used = new Set([
      ...(realizes.has('kdc') ? [this.spec.kerberos?.software, ...Object.values(this.spec.realms).map((r) => r.software)] : []),
      ...(realizes.has('afs-db') || realizes.has('afs-fs') ? [this.spec.afs?.software] : []),
      ...(realizes.has('afs-client') ? Object.values(this.spec.afs?.clients ?? {}) : []),
    ]);
    const tree = this.spec.software?.openafs;
    const treeUnused = tree && driver && driver !== 'netns' && driver !== 'sim' && (realizes.has('afs-db') || realizes.has('afs-client'));
    const fromTree = new Set(tree ? [this.spec.afs?.software, ...(tree.programs['afsd.fuse'] ? Object.values(this.spec.afs?.clients ?? {}) : [])] : []);
    const notes = [...used].flatMap((id) => {
      const sw = id ? this.catalog.software.get(id) : undefined;
      if (tree && !treeUnused && fromTree.has(id)) return [`${id} is served by your OpenAFS build: ${tree.version ?? 'no version'} from ${tree.prefix} (software.openafs.prefix)`];
      if (!sw?.debian_stand_in) return [];
      const later = sw.stand_in && !sw.debian_stand_in.includes(this.catalog.software.get(sw.stand_in.id)?.version ?? '\0') ? ` (its catalog stand-in, ${sw.stand_in.id}, comes with issue #15 part B)` : '';
      return [`${id} is served by ${sw.debian_stand_in}${later}`];
    });
    if (treeUnused) notes.push(`software.openafs.prefix (${tree.prefix}) is run by --driver netns only: --driver ${driver} runs Debian's OpenAFS 1.8.9 in its guests, and openafs.ko built from openafs-modules-dkms, not the build's src/libafs`);
    const afs = this.spec.afs;
    const krb = this.spec.kerberos;
    if (afs && krb && realizes.has('service-key')) {
      const declared = serviceKeyEnctypes(this.catalog, afs.software, krb.software, 'catalog');
      const real = serviceKeyEnctypes(this.catalog, afs.software, krb.software, 'stand-ins');
      if (declared.join() !== real.join()) notes.push(`afs/${this.spec.cell} is keyed ${real.join(', ')} there (what the stand-ins take), where ${afs.software} takes ${declared.join(', ') || 'nothing the KDC makes'}`);
    }
    return driver && withPlanNotes ? [...notes, ...planNotes(driver, desiredResources(this.spec, this.catalog, caps.runs), this.catalog, this.driverOptions(state))] : notes;
  }

  lockState(command: string): void {
    this.lock = acquireLock(this.store.lockFile, command);
  }

  /**
   * A driver on this cell's state. Its checkpoints write the state file (the caller holds the lock);
   * a read-only driver (status, console) keeps whatever it changes to itself.
   */
  async driver(name: DriverName, state: CellState, o: { readOnly?: boolean } = {}): Promise<Driver> {
    const ctx: DriverContext = {
      cell: this.spec.cell,
      realm: this.spec.realm,
      stateDir: join(this.store.dir, name),
      catalog: this.catalog,
      secrets: this.secrets(),
      world: state.driverData,
      checkpoint: (world) => {
        if (o.readOnly) return;
        state.driverData = world;
        this.store.write(state);
      },
      log: this.opts.log ?? (() => undefined),
    };
    const d = await openDriver(name, ctx, this.driverOptions(state));
    this.openDrivers.push(d);
    return d;
  }

  async close(): Promise<void> {
    for (const d of this.openDrivers.splice(0)) await d.close();
    this.lock?.release();
    this.lock = undefined;
  }
}
