// Walk a plan through a driver: deletes in reverse dependency order, then creates/updates in
// dependency order, in parallel where the graph allows; stop cleanly at the first failure.
import { Listr, type ListrTask } from 'listr2';
import type { AppliedResource, Driver } from '../drivers/driver.js';
import type { Attrs, Change, Plan, Resource } from '../plan/types.js';
import type { CellState } from '../state/types.js';

export interface ExecuteOptions {
  fancy: boolean; // listr2's live renderer (a terminal); otherwise one plain line per step
  concurrency: number;
  print: (line: string) => void;
  save: (state: CellState) => void; // persists state + driver world atomically
}

export interface ExecuteResult {
  done: number;
  failed?: { address: string; message: string };
  interrupted: boolean;
}

const SAVE_EVERY_MS = 50; // bounds what a kill -9 can lose, without an fsync per step

const PAST: Record<Change['action'], string> = { create: 'created', update: 'updated', replace: 'replaced', delete: 'destroyed' };

function applied(address: string, state: CellState): AppliedResource {
  const r = state.resources[address];
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

export async function execute(plan: Plan, driver: Driver, state: CellState, opts: ExecuteOptions): Promise<ExecuteResult> {
  const desired = new Map<string, Resource>(plan.desired.map((r) => [r.address, r]));
  const result: ExecuteResult = { done: 0, interrupted: false };
  let lastSave = Date.now();
  const record = () => {
    state.driverData = driver.snapshot();
    if (Date.now() - lastSave >= SAVE_EVERY_MS) {
      opts.save(state);
      lastSave = Date.now();
    }
  };
  const onSigint = () => {
    result.interrupted = true;
    opts.print('Interrupt received: finishing the steps under way, then saving state.');
  };
  process.on('SIGINT', onSigint);

  const stopped = () => result.interrupted || result.failed !== undefined;

  const step = (c: Change, phase: 'delete' | 'create', waitFor: Promise<void>[]): { promise: Promise<void>; task: ListrTask } => {
    let resolveDone!: () => void;
    const promise = new Promise<void>((r) => (resolveDone = r));
    const sym = phase === 'delete' ? '-' : c.action === 'update' ? '~' : '+';
    const title = `${sym} ${c.address}`;
    const run = async (): Promise<string | undefined> => {
      try {
        await Promise.all(waitFor);
        if (stopped()) return 'not started';
        let outputs: Attrs | void = undefined;
        if (phase === 'delete') {
          await driver.delete(applied(c.address, state));
          delete state.resources[c.address];
        } else {
          const r = desired.get(c.address)!;
          outputs = c.action === 'update'
            ? await driver.update(applied(c.address, state), r)
            : await driver.create(r);
          state.resources[c.address] = { type: r.type, attrs: r.attrs, deps: r.deps, ...(outputs ? { outputs } : {}) };
        }
        result.done++;
        record();
        if (!opts.fancy) opts.print(`${title}: ${phase === 'delete' ? 'destroyed' : PAST[c.action]}${outputSummary(outputs)}`);
        return undefined;
      } catch (e) {
        const message = (e as Error).message;
        result.failed ??= { address: c.address, message };
        if (!opts.fancy) opts.print(`${title}: FAILED: ${message}`);
        throw e;
      } finally {
        resolveDone();
      }
    };
    return {
      promise,
      task: {
        title,
        task: async (_ctx, task) => {
          const skipped = await run();
          if (skipped) task.skip(`${title}: ${skipped}`);
        },
      },
    };
  };

  const runPhase = async (changes: Change[], phase: 'delete' | 'create', waitsOf: (c: Change) => string[]) => {
    if (changes.length === 0 || stopped()) return;
    const promises = new Map<string, Promise<void>>();
    const tasks: ListrTask[] = [];
    for (const c of changes) {
      const s = step(c, phase, waitsOf(c).map((a) => promises.get(a)!).filter(Boolean));
      promises.set(c.address, s.promise);
      tasks.push(s.task);
    }
    if (opts.fancy) {
      const listr = new Listr(tasks, {
        concurrent: opts.concurrency, exitOnError: false, registerSignalListeners: false,
        rendererOptions: { collapseErrors: false },
      });
      await listr.run().catch(() => undefined);
    } else {
      // Same tasks, no renderer: a pool that starts them in (topological) order, so it cannot deadlock.
      let next = 0;
      const worker = async () => {
        while (next < tasks.length) {
          const t = tasks[next++];
          await (t.task as (ctx: unknown, task: { skip(): void }) => Promise<void>)(undefined, { skip() {} }).catch(() => undefined);
        }
      };
      await Promise.all(Array.from({ length: Math.min(opts.concurrency, tasks.length) }, worker));
    }
  };

  try {
    // Phase 1: deletes and the destroy half of replacements, dependents first.
    const deletes = plan.changes.filter((c) => c.action === 'delete' || c.action === 'replace').reverse();
    const deleting = new Set(deletes.map((c) => c.address));
    const blockers = new Map<string, string[]>(); // address -> resources (being deleted) that depend on it
    for (const a of deleting) {
      for (const d of state.resources[a]?.deps ?? []) if (deleting.has(d)) (blockers.get(d) ?? blockers.set(d, []).get(d)!).push(a);
    }
    await runPhase(topoForDeletes(deletes, blockers), 'delete', (c) => blockers.get(c.address) ?? []);
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
    process.off('SIGINT', onSigint);
    state.driverData = driver.snapshot();
    opts.save(state);
  }
  return result;
}

/** Order deletes so every resource comes after those that depend on it (the pool starts tasks in order). */
function topoForDeletes(deletes: Change[], blockers: Map<string, string[]>): Change[] {
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
