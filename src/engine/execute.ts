// Walk a plan through a driver: deletes dependents first, then creates/updates dependencies first,
// in parallel where the graph allows; stop cleanly at the first failure or on an abort (Ctrl-C).
// State is saved as it goes, so it matches the driver's world at any kill. What the user sees is
// drawn by whoever listens to the hooks (cli/views), never here.
import type { AppliedResource, Driver } from '../drivers/driver.js';
import { dependentsOf, topoOrder } from '../plan/dag.js';
import type { Attrs, Resource } from '../plan/resources.js';
import type { Change, Plan } from '../plan/types.js';
import { recordOf, type CellState, type ResourceState } from '../state/types.js';
import { SavePolicy } from './save-policy.js';

/** One step of an apply: the delete half or the create/update half of a change. */
export interface Step {
  address: string;
  phase: 'delete' | 'create';
  action: Change['action'];
  /** A delete with no driver call of its own: what it goes with ("goes with guest.x"). */
  moot?: string;
}

/** What the executor tells its listeners; every hook is optional. */
export interface ExecuteHooks {
  /** Before anything runs: every step, in the order they may start, and how many run at once. */
  begin?(steps: Step[], concurrency: number): void;
  started?(step: Step): void;
  done?(step: Step, outputs: Attrs | void): void;
  failed?(step: Step, message: string): void;
  /** Not run because the apply is stopping (a failure elsewhere, or Ctrl-C). */
  skipped?(step: Step, why: string): void;
  saved?(serial: number): void;
  stopping?(why: 'failed' | 'interrupted'): void;
  end?(result: ExecuteResult): void;
}

export interface ExecuteOptions {
  concurrency: number;
  save: (state: CellState) => void; // persists state + driver world atomically
  signal?: AbortSignal; // Ctrl-C: start nothing new, finish what runs, save
  hooks?: ExecuteHooks;
  /** destroy --force: a failed step stops nothing; every step is tried (failures are all reported). */
  keepGoing?: boolean;
}

export interface ExecuteResult {
  done: number;
  failed?: { address: string; message: string }; // the first failure
  /** Every failure, when keepGoing let the run go on after the first. */
  failures?: { address: string; message: string }[];
  interrupted: boolean;
}

// Sim steps resolve as microtasks; yield to the event loop now and then so signals get through
// (every N steps, not every N ms, so the order of steps never depends on timing).
const YIELD_EVERY_STEPS = 32;

export function asApplied(address: string, r: ResourceState): AppliedResource {
  return { ...r, address, name: address.slice(r.type.length + 1) };
}

/** The steps of a plan, in an order a pool may start them in without deadlock. */
export function planSteps(plan: Plan, state: CellState): { deletes: Step[]; creates: Step[]; waits: Map<string, string[]> } {
  const deleting = plan.changes.filter((c) => c.action === 'delete' || c.action === 'replace');
  const deleteSet = new Set(deleting.map((c) => c.address));
  // A delete waits for the deletes of what depends on it: the recorded graph, edges reversed.
  const recorded = deleting.map((c) => ({ address: c.address, deps: (state.resources[c.address]?.deps ?? []).filter((d) => deleteSet.has(d)) }));
  const blockers = dependentsOf(recorded);
  const deleteOrder = topoOrder(recorded.map((n) => ({ address: n.address, deps: blockers.get(n.address) ?? [] })));
  const creating = plan.changes.filter((c) => c.action !== 'delete');
  const createSet = new Set(creating.map((c) => c.address));
  const waits = new Map<string, string[]>();
  const actionOf = new Map(plan.changes.map((c) => [c.address, c.action]));
  const mootOf = new Map(plan.changes.filter((c) => c.moot).map((c) => [c.address, c.moot!]));
  const deletes = deleteOrder.map((address): Step => {
    waits.set(`delete:${address}`, (blockers.get(address) ?? []).map((b) => `delete:${b}`));
    const moot = mootOf.get(address);
    return { address, phase: 'delete' as const, action: actionOf.get(address)!, ...(moot ? { moot } : {}) };
  });
  const creates = creating.map((c) => {
    waits.set(`create:${c.address}`, c.deps.filter((d) => createSet.has(d)).map((d) => `create:${d}`));
    return { address: c.address, phase: 'create' as const, action: c.action };
  });
  return { deletes, creates, waits };
}

export async function execute(plan: Plan, driver: Driver, state: CellState, opts: ExecuteOptions): Promise<ExecuteResult> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new Error(`execute: concurrency must be a whole number of at least 1, got ${opts.concurrency}`);
  }
  const hooks = opts.hooks ?? {};
  const desired = new Map<string, Resource>(plan.desired.map((r) => [r.address, r]));
  const result: ExecuteResult = { done: 0, interrupted: false };
  // Steps a recovery could not undo stay pending until a step on the same address settles them.
  const pending: NonNullable<CellState['pending']> = state.pending ?? {};
  state.pending = pending;
  let settled = 0; // steps that ran, failed or were skipped: every step must be one of these
  const policy = new SavePolicy();
  let started = 0;

  const save = () => {
    state.driverData = driver.snapshot();
    policy.measure(() => opts.save(state));
    hooks.saved?.(state.serial);
  };
  const stopped = () => opts.signal?.aborted || (result.failed !== undefined && !opts.keepGoing);

  const runStep = async (s: Step): Promise<void> => {
    settled++;
    if (++started % YIELD_EVERY_STEPS === 0) await new Promise(setImmediate);
    if (stopped()) return void hooks.skipped?.(s, opts.signal?.aborted ? 'interrupted' : 'stopped after a failure');
    hooks.started?.(s);
    try {
      let outputs: Attrs | void = undefined;
      if (s.phase === 'delete') {
        const prior = state.resources[s.address]!;
        pending[s.address] = { action: 'delete', resource: prior };
        if (!s.moot) await driver.delete(asApplied(s.address, prior));
        delete state.resources[s.address];
      } else {
        const r = desired.get(s.address)!;
        const next = recordOf(r);
        pending[s.address] = { action: s.action === 'update' ? 'update' : 'create', resource: next };
        outputs = s.action === 'update'
          ? await driver.update(asApplied(s.address, state.resources[s.address]!), r)
          : await driver.create(r);
        state.resources[s.address] = outputs ? { ...next, outputs } : next;
      }
      delete pending[s.address];
      result.done++;
      if (policy.due()) save();
      hooks.done?.(s, outputs);
    } catch (e) {
      // The step stays pending: the next run undoes whatever part of it the driver did.
      const message = (e as Error).message;
      if (result.failed === undefined) {
        result.failed = { address: s.address, message };
        if (!opts.keepGoing) hooks.stopping?.('failed');
      }
      if (opts.keepGoing) (result.failures ??= []).push({ address: s.address, message });
      hooks.failed?.(s, message);
    }
  };

  /** A pool that starts steps in list order, each after the steps it waits for. */
  const runPhase = async (steps: Step[], waits: Map<string, string[]>) => {
    const finished = new Map<string, Promise<void>>();
    let next = 0;
    const worker = async () => {
      while (next < steps.length) {
        const s = steps[next++];
        const key = `${s.phase}:${s.address}`;
        let done!: () => void;
        finished.set(key, new Promise<void>((r) => (done = r)));
        await Promise.all((waits.get(key) ?? []).map((w) => finished.get(w)));
        await runStep(s).finally(done);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, steps.length) }, worker));
  };

  const { deletes, creates, waits } = planSteps(plan, state);
  hooks.begin?.([...deletes, ...creates], opts.concurrency);
  const onAbort = () => hooks.stopping?.('interrupted');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await runPhase(deletes, waits);
    await runPhase(creates, waits);
    if (settled !== deletes.length + creates.length) {
      throw new Error(`execute: ${deletes.length + creates.length - settled} of ${deletes.length + creates.length} steps never ran`);
    }
    // Dependencies can change without the resource changing (a volume list shrinks): keep them current.
    for (const [address, r] of desired) {
      const rec = state.resources[address];
      if (rec) rec.deps = r.deps;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    result.interrupted = Boolean(opts.signal?.aborted);
    if (Object.keys(pending).length === 0) delete state.pending;
    save();
    hooks.end?.(result);
  }
  return result;
}
