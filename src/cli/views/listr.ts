// Live progress on a terminal (listr2). The engine runs the steps; each task here only waits for
// its step's outcome, with the same concurrency, so the list shows what really runs.
import type { ExecuteHooks, Step } from '../../engine/execute.js';
import { outputSummary, stepTitle } from './plain.js';

interface Waiter { resolve(detail: string): void; reject(e: Error): void; skip(why: string): void }

export async function listrView(): Promise<ExecuteHooks & { finished(): Promise<void> }> {
  const { Listr } = await import('listr2'); // a terminal's renderer; plain runs never load it
  const waiters = new Map<string, Waiter>();
  const early = new Map<string, (w: Waiter) => void>(); // outcomes that arrive before their task starts waiting
  const key = (s: Step) => `${s.phase}:${s.address}`;
  const settle = (s: Step, f: (w: Waiter) => void) => {
    const w = waiters.get(key(s));
    if (w) f(w);
    else early.set(key(s), f);
  };
  let run: Promise<unknown> = Promise.resolve();
  return {
    begin(steps, concurrency) {
      const list = new Listr(
        steps.map((s) => ({
          title: stepTitle(s),
          task: (_ctx: unknown, t: { output: string; skip(m: string): void }) =>
            new Promise<void>((resolve, reject) => {
              const w: Waiter = {
                resolve: (detail) => { if (detail) t.output = detail; resolve(); },
                reject,
                skip: (why) => { t.skip(`${stepTitle(s)}: ${why}`); resolve(); },
              };
              const pending = early.get(key(s));
              if (pending) pending(w);
              else waiters.set(key(s), w);
            }),
          rendererOptions: { persistentOutput: true },
        })),
        { concurrent: Math.max(1, concurrency), exitOnError: false, registerSignalListeners: false },
      );
      run = list.run().catch(() => undefined);
    },
    done: (s, outputs) => settle(s, (w) => w.resolve(outputSummary(outputs).trim())),
    failed: (s, message) => settle(s, (w) => w.reject(new Error(message))),
    skipped: (s, why) => settle(s, (w) => w.skip(why)),
    finished: () => run.then(() => undefined),
  };
}
