// Walk a plan through a driver: deletes in reverse dependency order, then creates/updates in
// dependency order, in parallel where the graph allows; stop cleanly at the first failure or
// on an abort (Ctrl-C). State is saved as it goes, consistent with the driver's world at any kill.
import type { ListrTask } from 'listr2';
import { performance } from 'node:perf_hooks';
import type { AppliedResource, Driver } from '../drivers/driver.js';
import type { Attrs, Change, Plan, Resource } from '../plan/types.js';
import type { CellState, ResourceState } from '../state/types.js';

export interface ExecuteOptions {
  fancy: boolean; // listr2's live renderer (a terminal); otherwise one plain line per step
  concurrency: number;
  print: (line: string) => void;
  save: (state: CellState) => void; // persists state + driver world atomically
  signal?: AbortSignal; // Ctrl-C: start nothing new, finish what runs, save
}

export interface ExecuteResult {
  done: number;
  failed?: { address: string; message: string };
  interrupted: boolean;
}

// State is saved every SAVE_EVERY_STEPS steps or SAVE_EVERY_MS, whichever comes first, which bounds
// what a kill -9 loses; but never sooner than SAVE_COST_FACTOR times the last save's cost, so a
// large state (MBs) is not rewritten every step.
const SAVE_EVERY_STEPS = 32;
const SAVE_EVERY_MS = 50;
const SAVE_COST_FACTOR = 4;
// Sim steps resolve as microtasks; yield to the event loop now and then so signals get through
// (every N steps, not every N ms, so the order of steps never depends on timing).
const YIELD_EVERY_STEPS = 32;

const PAST: Record<Change['action'], string> = { create: 'created', update: 'updated', replace: 'replaced', delete: 'destroyed' };

function asApplied(address: string, r: ResourceState): AppliedResource {
  return { ...r, address, name: address.slice(r.type.length + 1) };
}

function outputSummary(outputs: object | void): string {
  if (!outputs) return '';
  const parts = Object.entries(outputs)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .slice(0, 4)
    .map(([k, v]) => `${k}=${v}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * Steps a killed run had started but not recorded: undo half-done creates and finish deletes,
 * so the driver's world matches the recorded resources again. An interrupted update is simply
 * planned again (updates converge).
 */
export async function recoverInterrupted(state: CellState, driver: Driver, print: (l: string) => void): Promise<number> {
  const pending = Object.entries(state.pending ?? {});
  for (const [address, p] of pending) {
    if (p.action === 'update') continue;
    try {
      await driver.delete(asApplied(address, p.resource));
      print(`${address}: cleaned up after an interrupted ${p.action}`);
    } catch {
      // The driver never got that far: nothing to undo.
    }
    if (p.action === 'delete') delete state.resources[address];
  }
  delete state.pending;
  return pending.length;
}

export async function execute(plan: Plan, driver: Driver, state: CellState, opts: ExecuteOptions): Promise<ExecuteResult> {
  const desired = new Map<string, Resource>(plan.desired.map((r) => [r.address, r]));
  const result: ExecuteResult = { done: 0, interrupted: false };
  const pending: Record<string, NonNullable<CellState['pending']>[string]> = {};
  state.pending = pending;
  let lastSave = performance.now();
  let saveCost = 0;
  let unsaved = 0; // steps done since the last save
  let started = 0;

  const save = () => {
    state.driverData = driver.snapshot();
    const t0 = performance.now();
    opts.save(state);
    lastSave = performance.now();
    saveCost = lastSave - t0;
    unsaved = 0;
  };
  const maybeSave = () => {
    const elapsed = performance.now() - lastSave;
    if ((++unsaved >= SAVE_EVERY_STEPS || elapsed >= SAVE_EVERY_MS) && elapsed >= SAVE_COST_FACTOR * saveCost) save();
  };
  const stopped = () => opts.signal?.aborted || result.failed !== undefined;

  const step = (c: Change, phase: 'delete' | 'create', waitFor: Promise<void>[]) => {
    let resolveDone!: () => void;
    const promise = new Promise<void>((r) => (resolveDone = r));
    const sym = phase === 'delete' ? '-' : c.action === 'update' ? '~' : '+';
    const title = `${sym} ${c.address}`;
    const run = async (): Promise<string | undefined> => {
      try {
        await Promise.all(waitFor);
        if (++started % YIELD_EVERY_STEPS === 0) await new Promise(setImmediate);
        if (stopped()) return 'not started';
        let outputs: Attrs | void = undefined;
        if (phase === 'delete') {
          pending[c.address] = { action: 'delete', resource: state.resources[c.address] };
          await driver.delete(asApplied(c.address, state.resources[c.address]));
          delete state.resources[c.address];
        } else {
          const r = desired.get(c.address)!;
          const next: ResourceState = { type: r.type, attrs: r.attrs, deps: r.deps };
          pending[c.address] = { action: c.action === 'update' ? 'update' : 'create', resource: next };
          outputs = c.action === 'update'
            ? await driver.update(asApplied(c.address, state.resources[c.address]), r)
            : await driver.create(r);
          state.resources[c.address] = outputs ? { ...next, outputs } : next;
        }
        delete pending[c.address];
        result.done++;
        maybeSave();
        if (!opts.fancy) opts.print(`${title}: ${phase === 'delete' ? 'destroyed' : PAST[c.action]}${outputSummary(outputs)}`);
        return undefined;
      } catch (e) {
        // The step stays pending: the next run undoes whatever part of it the driver did.
        const message = (e as Error).message;
        result.failed ??= { address: c.address, message };
        if (!opts.fancy) opts.print(`${title}: FAILED: ${message}`);
        throw e;
      } finally {
        resolveDone();
      }
    };
    const task: ListrTask = {
      title,
      task: async (_ctx, t) => {
        const skipped = await run();
        if (skipped) t.skip(`${title}: ${skipped}`);
      },
    };
    return { promise, task, run };
  };

  const runPhase = async (changes: Change[], phase: 'delete' | 'create', waitsOf: (c: Change) => string[]) => {
    if (changes.length === 0 || stopped()) return;
    const promises = new Map<string, Promise<void>>();
    const steps = changes.map((c) => {
      const s = step(c, phase, waitsOf(c).map((a) => promises.get(a)!).filter(Boolean));
      promises.set(c.address, s.promise);
      return s;
    });
    if (opts.fancy) {
      const { Listr } = await import('listr2'); // a terminal's renderer; plain runs never load it
      const listr = new Listr(steps.map((s) => s.task), {
        concurrent: opts.concurrency, exitOnError: false, registerSignalListeners: false,
      });
      await listr.run().catch(() => undefined);
      return;
    }
    // No renderer: a pool that starts steps in (topological) order, so it cannot deadlock.
    let next = 0;
    const worker = async () => {
      while (next < steps.length) await steps[next++].run().catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, steps.length) }, worker));
  };

  try {
    // Phase 1: deletes and the destroy half of replacements, dependents first.
    const deletes = plan.changes.filter((c) => c.action === 'delete' || c.action === 'replace');
    const deleting = new Set(deletes.map((c) => c.address));
    const blockers = new Map<string, string[]>(); // address -> resources (being deleted) that depend on it
    for (const a of deleting) {
      for (const d of state.resources[a]?.deps ?? []) if (deleting.has(d)) (blockers.get(d) ?? blockers.set(d, []).get(d)!).push(a);
    }
    await runPhase(dependentsFirst(deletes, blockers), 'delete', (c) => blockers.get(c.address) ?? []);
    // Phase 2: creates, updates and the create half of replacements, dependencies first.
    const creates = plan.changes.filter((c) => c.action !== 'delete');
    const creating = new Set(creates.map((c) => c.address));
    await runPhase(creates, 'create', (c) => c.deps.filter((d) => creating.has(d)));
    // Dependencies can change without the resource changing (a volume list shrinks): keep them current.
    for (const [address, r] of desired) {
      const rec = state.resources[address];
      if (rec) rec.deps = r.deps;
    }
  } finally {
    result.interrupted = Boolean(opts.signal?.aborted);
    if (Object.keys(pending).length === 0) delete state.pending;
    save();
  }
  return result;
}

/** Order deletes so every resource comes after those that depend on it (the pool starts steps in order). */
function dependentsFirst(deletes: Change[], blockers: Map<string, string[]>): Change[] {
  const byAddr = new Map(deletes.map((c) => [c.address, c]));
  const out: Change[] = [];
  const seen = new Set<string>();
  const visit = (a: string) => {
    if (seen.has(a)) return;
    seen.add(a);
    for (const b of blockers.get(a) ?? []) visit(b);
    out.push(byAddr.get(a)!);
  };
  for (const c of deletes) visit(c.address);
  return out;
}
