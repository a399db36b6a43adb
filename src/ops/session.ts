// Everything a command needs about one cell: spec, catalog, findings, state store, secrets, driver.
import { join } from 'node:path';
import { loadCatalog } from '../catalog/load.js';
import type { Catalog } from '../catalog/types.js';
import { runCompat } from '../compat/index.js';
import type { Finding } from '../compat/types.js';
import { loadCell } from '../config/load.js';
import type { CellSpec } from '../config/types.js';
import { UserError } from '../diagnostics.js';
import type { Driver, DriverContext } from '../drivers/driver.js';
import { capabilitiesOf, DRIVER_NAMES, isDriverName, openDriver, planNotes, type DriverName } from '../drivers/index.js';
import { desiredResources, splitManaged } from '../plan/desired.js';
import { diff } from '../plan/diff.js';
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
}

export class Session {
  readonly store: StateStore;
  private lock?: Lock;
  private openDrivers: Driver[] = [];

  private constructor(
    readonly spec: CellSpec,
    readonly catalog: Catalog,
    readonly findings: Finding[],
    private readonly opts: SessionOptions,
  ) {
    this.store = new StateStore(stateRoot(spec.file, opts.stateDir), spec.cell);
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

  readState(): CellState | undefined {
    return this.store.read();
  }

  emptyState(driver: DriverName): CellState {
    return { version: 1, cell: this.spec.cell, file: this.spec.file, driver, serial: 0, resources: {} };
  }

  /** Plan against recorded state, for the resources the driver realizes; `destroy` plans towards nothing. */
  plan(state: CellState | undefined, opts: { destroy?: boolean; driver?: DriverName } = {}): Plan {
    const driver = opts.driver ?? this.driverName(state);
    const caps = capabilitiesOf(driver, { connect: this.opts.connect });
    const { managed, unmanaged } = splitManaged(opts.destroy ? [] : desiredResources(this.spec, this.catalog), caps.realizes);
    const p = diff(this.spec, managed, state, this.findings);
    if (unmanaged.length) p.unmanaged = { driver, ...(caps.unmanagedReason ? { reason: caps.unmanagedReason } : {}), addresses: unmanaged };
    return p;
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
   * What real software serves each catalog version on the real backends (from catalog data), and
   * what the driver itself stands in for (kernels, modules, memory on --driver qemu).
   */
  standIns(driver?: DriverName): string[] {
    const realizes = capabilitiesOf(driver ?? 'netns', { connect: this.opts.connect }).realizes;
    const used = new Set([
      ...(realizes.has('kdc') ? [this.spec.kerberos?.software] : []),
      ...(realizes.has('afs-db') || realizes.has('afs-fs') ? [this.spec.afs?.software] : []),
      ...(realizes.has('afs-client') ? Object.values(this.spec.afs?.clients ?? {}) : []),
    ]);
    const software = [...used].flatMap((id) => {
      const real = id ? this.catalog.software.get(id)?.debian_stand_in : undefined;
      return real ? [`${id} is served by ${real}`] : [];
    });
    return driver ? [...software, ...planNotes(driver, desiredResources(this.spec, this.catalog), this.catalog)] : software;
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
      secrets: new SecretStore(this.store.secretsFile),
      world: state.driverData,
      checkpoint: (world) => {
        if (o.readOnly) return;
        state.driverData = world;
        this.store.write(state);
      },
      log: this.opts.log ?? (() => undefined),
    };
    const d = await openDriver(name, ctx, { connect: this.opts.connect });
    this.openDrivers.push(d);
    return d;
  }

  async close(): Promise<void> {
    for (const d of this.openDrivers.splice(0)) await d.close();
    this.lock?.release();
    this.lock = undefined;
  }
}
