// apply and destroy: lock, recover an interrupted run, plan, execute through the driver, record.
import { rmSync } from 'node:fs';
import type { Driver } from '../drivers/driver.js';
import type { DriverName } from '../drivers/index.js';
import { execute, type ExecuteHooks, type ExecuteResult } from '../engine/execute.js';
import { recoverInterrupted } from '../engine/recover.js';
import type { Plan } from '../plan/types.js';
import type { CellState } from '../state/types.js';
import { approvalReason } from './approval.js';
import type { Session } from './session.js';

export interface ConvergeOptions {
  destroy: boolean;
  concurrency?: number; // default: 1 on the sim (deterministic ids and logs), 4 on real drivers
  signal: AbortSignal;
  hooks?: ExecuteHooks;
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
  /** What a destroy found and removed that no step had recorded. */
  leftovers?: string[];
  /** The confirmation was declined. */
  cancelled?: boolean;
}

/** One step at a time on the sim keeps domain ids and logs deterministic, at no cost (it is CPU-bound). */
export function defaultConcurrency(driver: DriverName): number {
  return driver === 'sim' ? 1 : 4;
}

/** Execute a plan with a session's state store. */
export function executePlan(s: Session, driver: Driver, state: CellState, p: Plan, o: { concurrency?: number; signal?: AbortSignal; hooks?: ExecuteHooks }): Promise<ExecuteResult> {
  return execute(p, driver, state, {
    concurrency: o.concurrency ?? defaultConcurrency(driver.name),
    save: (st) => s.store.write(st),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.hooks ? { hooks: o.hooks } : {}),
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
    let driver: Driver | undefined;
    if (state.pending) {
      driver = await s.driver(driverName, state);
      await recoverInterrupted(state, driver, o.note ?? (() => undefined));
      state.driverData = driver.snapshot();
      s.store.write(state);
    }
    const p = saved ?? s.plan(state, { destroy: o.destroy, driver: driverName, targets: o.targets });
    o.planned?.(p, driverName);
    if (p.changes.length === 0) return { code: 0, plan: p, driver: driverName };
    const why = approvalReason(p, o.destroy);
    if (why && o.confirm && !(await o.confirm(p, why))) return { code: 1, plan: p, driver: driverName, cancelled: true };
    if (o.signal.aborted) return { code: 130, plan: p, driver: driverName };
    driver ??= await s.driver(driverName, state);
    state.driver = driverName;
    const result = await executePlan(s, driver, state, p, o);
    if (result.failed) return { code: 1, plan: p, driver: driverName, result };
    if (result.interrupted) return { code: 130, plan: p, driver: driverName, result };
    let leftovers: string[] | undefined;
    if (o.destroy && !p.targets?.length) { // a targeted destroy leaves the rest of the cell
      leftovers = (await driver.purge?.()) ?? [];
      await s.close(); // drivers flush before their files go
      rmSync(s.store.dir, { recursive: true, force: true });
    }
    return { code: 0, plan: p, driver: driverName, result, ...(leftovers ? { leftovers } : {}) };
  } finally {
    await s.close();
  }
}
