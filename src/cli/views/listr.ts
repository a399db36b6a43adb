// Live progress on a terminal (listr2). The engine runs the steps; each task here only waits for
// its step's outcome, with the same concurrency, so the list shows what really runs. A step's
// details (outputs, its driver's log lines) stay under its title.
import type { Step } from '../../engine/execute.js';
import type { View } from '../command.js';
import { outputSummary, stepTitle } from './plain.js';

interface Task { output: string; skip(message: string): void }
interface Slot {
  task?: Task;
  lines: string[]; // written before listr started the task
  outcome?: () => void; // arrived before listr started the task
  resolve?: () => void;
  reject?: (e: Error) => void;
}

export async function listrView(print: (line: string) => void): Promise<View> {
  const { Listr } = await import('listr2'); // a terminal's renderer; plain runs never load it
  const slots = new Map<string, Slot>();
  const key = (s: Step) => `${s.phase}:${s.address}`;
  const running: string[] = [];
  let run: Promise<unknown> | undefined;
  const write = (k: string, line: string) => {
    const slot = slots.get(k);
    if (!slot) return;
    if (slot.task) slot.task.output = line;
    else slot.lines.push(line);
  };
  const settle = (s: Step, f: (slot: Slot) => void) => {
    const k = key(s);
    const i = running.indexOf(k);
    if (i >= 0) running.splice(i, 1);
    const slot = slots.get(k);
    if (!slot) return;
    if (slot.task) f(slot);
    else slot.outcome = () => f(slot);
  };
  return {
    begin(steps, concurrency) {
      for (const s of steps) slots.set(key(s), { lines: [] });
      const list = new Listr(
        steps.map((s) => ({
          title: stepTitle(s),
          task: (_ctx: unknown, task: Task) =>
            new Promise<void>((resolve, reject) => {
              const slot = slots.get(key(s))!;
              Object.assign(slot, { task, resolve, reject });
              for (const l of slot.lines.splice(0)) task.output = l;
              slot.outcome?.();
            }),
          rendererOptions: { persistentOutput: true, outputBar: Infinity },
        })),
        {
          concurrent: Math.max(1, concurrency), exitOnError: false, registerSignalListeners: false,
          rendererOptions: { collapseErrors: false, collapseSkips: false },
        },
      );
      run = list.run().catch(() => undefined);
    },
    started: (s) => void running.push(key(s)),
    done: (s, outputs) => {
      const summary = outputSummary(outputs).trim().replace(/^\((.*)\)$/, '$1');
      if (summary) write(key(s), summary);
      settle(s, (slot) => slot.resolve!());
    },
    failed: (s, message) => settle(s, (slot) => slot.reject!(new Error(message))),
    skipped: (s, why) => settle(s, (slot) => {
      slot.task!.skip(why);
      slot.resolve!();
    }),
    // A driver's line goes under the step that is running (the latest one started), else above the list.
    log: (line) => (run && running.length ? write(running[running.length - 1], line) : print(`  ${line}`)),
    finished: async () => {
      await run;
      run = undefined;
    },
  };
}
