// apply and destroy: lock, recover an interrupted run, refresh, plan, execute through the driver, record.
import { rmSync } from 'node:fs';
import { UserError } from '../diagnostics.js';
import type { Driver } from '../drivers/driver.js';
import type { DriverName } from '../drivers/index.js';
import { asApplied, execute, type ExecuteHooks, type ExecuteResult } from '../engine/execute.js';
import { recoverInterrupted, type RecoveryResult } from '../engine/recover.js';
import type { Refreshed } from '../plan/diff.js';
import type { Plan } from '../plan/types.js';
import type { CellState } from '../state/types.js';
import { approvalReason } from './approval.js';
import { refresh } from './refresh.js';
import type { Session } from './session.js';

export interface ConvergeOptions {
  destroy: boolean;
  concurrency?: number; // default: 1 on the sim (deterministic ids and logs), 4 on real drivers
  signal: AbortSignal;
  hooks?: ExecuteHooks;
  /** Compare with what really runs first (default true; --refresh=false skips). Destroy never needs it. */
  refresh?: boolean;
  /** destroy --force: a failed step stops nothing; what the driver finds is removed too, and what stays unconfirmed is said. */
  force?: boolean;
  /** Lines about recovery of an interrupted run. */
  note?: (line: string) => void;
  /** The plan about to be executed, before anything runs (what the user is shown first). */
  planned?: (plan: Plan, driver: DriverName) => void;
  /** --target: only these resources and what they need (destroy: and what depends on them). */
  targets?: string[];
  /** A saved plan to execute instead of planning; it throws when the recorded state moved. */
  saved?: (recorded: CellState | undefined) => Plan;
  /** Asked before a plan that destroys or replaces (see approval.ts); false cancels, nothing runs. */
  confirm?: (plan: Plan, why: string) => Promise<boolean>;
}

export interface ConvergeResult {
  code: 0 | 1 | 130;
  plan?: Plan;
  driver?: DriverName;
  result?: ExecuteResult;
  /** Pending steps of an interrupted run that could not be undone (they stay pending). */
  recovery?: RecoveryResult['failed'];
  /** What a destroy found and removed that no step had recorded. */
  leftovers?: string[];
  /** destroy --force: resources whose removal could not be confirmed (kept in the state). */
  unconfirmed?: { address: string; message: string }[];
  /** The confirmation was declined. */
  cancelled?: boolean;
}

/** One step at a time on the sim keeps domain ids and logs deterministic, at no cost (it is CPU-bound). */
export function defaultConcurrency(driver: DriverName): number {
  return driver === 'sim' ? 1 : 4;
}

/** Execute a plan with a session's state store. */
export function executePlan(s: Session, driver: Driver, state: CellState, p: Plan, o: { concurrency?: number; signal?: AbortSignal; hooks?: ExecuteHooks; keepGoing?: boolean }): Promise<ExecuteResult> {
  return execute(p, driver, state, {
    concurrency: o.concurrency ?? defaultConcurrency(driver.name),
    save: (st) => s.store.write(st),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.hooks ? { hooks: o.hooks } : {}),
    ...(o.keepGoing ? { keepGoing: true } : {}),
  });
}

/** Shared by apply and destroy. */
export async function converge(s: Session, o: ConvergeOptions): Promise<ConvergeResult> {
  s.lockState(o.destroy ? 'destroy' : 'apply');
  try {
    const recorded = s.readState();
    const driverName = s.driverName(recorded);
    const saved = o.saved?.(recorded);
    const state = recorded ?? s.emptyState(driverName);
    const force = o.destroy && o.force === true;
    // The driver opens the secret store: a damaged one stops here, before anything is changed.
    const driver = await s.driver(driverName, state);
    let recovery: RecoveryResult['failed'] | undefined;
    if (state.pending) {
      const r = await recoverInterrupted(state, driver, o.note ?? (() => undefined));
      state.driverData = driver.snapshot();
      s.store.write(state);
      if (r.failed.length) {
        recovery = r.failed;
        if (!force) return { code: 1, driver: driverName, recovery };
      }
    }
    let refreshed: Refreshed | undefined;
    // A saved plan was made against what was there then (plan refreshed); it is applied as saved.
    if (!saved && !o.destroy && o.refresh !== false && Object.keys(state.resources).length > 0) refreshed = await refresh(state, driver);
    const p = saved ?? s.plan(state, { destroy: o.destroy, driver: driverName, targets: o.targets, ...(refreshed ? { refreshed } : {}) });
    o.planned?.(p, driverName);
    const base = { plan: p, driver: driverName, ...(recovery ? { recovery } : {}) };
    if (p.changes.length === 0) {
      if (s.adopted && !o.destroy) s.store.write(state);
      // No state at all: nothing recorded, but --force still sweeps what the driver finds of the cell.
      if (!o.destroy || (!recorded && !force)) return { code: 0, ...base };
      return { code: 0, ...base, ...(await finishDestroy(s, driver, state)) };
    }
    const why = approvalReason(p, o.destroy);
    if (why && o.confirm && !(await o.confirm(p, why))) return { code: 1, ...base, cancelled: true };
    if (o.signal.aborted) return { code: 130, ...base };
    // Write-ahead: the state names its driver (and file) before anything real is made, so a kill at
    // any moment leaves a state that `destroy` opens with the right driver.
    state.driver = driverName;
    state.file = s.spec.file;
    state.driverData = driver.snapshot();
    s.store.write(state);
    const result = await executePlan(s, driver, state, p, { ...o, keepGoing: force });
    if (result.interrupted) return { code: 130, ...base, result };
    if (result.failed && !force) return { code: 1, ...base, result };
    // A targeted destroy leaves the rest of the cell (and its state) as it is.
    if (!o.destroy || p.targets?.length) return { code: 0, ...base, result };
    const end = await finishDestroy(s, driver, state);
    return { code: end.unconfirmed?.length ? 1 : 0, ...base, result, ...end };
  } finally {
    await s.close();
  }
}

/**
 * After a destroy's steps: the driver sweeps what it can still find of the cell (recorded or not),
 * then every resource still recorded (a failed step under --force) is read back. Gone ones are
 * confirmed; the others stay recorded, so nothing real is forgotten. With nothing left, the cell's
 * state directory goes.
 */
async function finishDestroy(s: Session, driver: Driver, state: CellState): Promise<Pick<ConvergeResult, 'leftovers' | 'unconfirmed'>> {
  const leftovers = (await driver.purge?.()) ?? [];
  const unconfirmed: { address: string; message: string }[] = [];
  for (const [address, r] of Object.entries(state.resources)) {
    const seen = await driver.read(asApplied(address, r)).catch((e: Error) => ({ state: 'unknown' as const, reason: e.message }));
    if (seen.state === 'absent') delete state.resources[address];
    else unconfirmed.push({ address, message: seen.state === 'present' ? 'still there' : seen.reason });
  }
  if (unconfirmed.length) {
    state.driverData = driver.snapshot();
    s.store.write(state);
    return { leftovers, unconfirmed };
  }
  await s.close(); // drivers flush before their files go
  rmSync(s.store.dir, { recursive: true, force: true });
  return { leftovers };
}

/** destroy --force with a state file cellctl cannot read: sweep what the driver finds, leave the file. */
export async function sweepUnreadable(s: Session, why: UserError): Promise<{ leftovers: string[]; driver: DriverName }> {
  const named = s.store.peekDriver(); // --driver wins; else the driver the damaged file still names
  const name = s.driverName(named ? { ...s.emptyState('sim'), driver: named } : undefined);
  try {
    s.lockState('destroy --force');
    const driver = await s.driver(name, s.emptyState(name), { readOnly: true });
    return { leftovers: (await driver.purge?.()) ?? [], driver: name };
  } catch (e) {
    throw new UserError(`${why.message}\n(destroy --force could not sweep with --driver ${name} either: ${(e as Error).message})`);
  } finally {
    await s.close();
  }
}
