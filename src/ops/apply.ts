// apply and destroy: lock, plan, execute through the driver, record state.
import { rmSync } from 'node:fs';
import { execute, recoverInterrupted, type ExecuteResult } from '../engine/execute.js';
import type { Driver } from '../drivers/driver.js';
import type { CellState } from '../state/types.js';
import type { Session } from './session.js';
import { renderFinding, renderPlan, renderSummary } from '../render/plan.js';
import type { Plan } from '../plan/types.js';
import { openSession, type Command, type Flags } from '../cli/command.js';
import { err, fancyOutput, out } from '../cli/output.js';

export function printFindings(s: Session): void {
  for (const f of s.findings) (f.severity === 'error' ? err : out)(renderFinding(f));
}

/** Execute a plan with the output settings of the command line. */
export function executePlan(s: Session, driver: Driver, state: CellState, p: Plan, flags: Flags, signal?: AbortSignal): Promise<ExecuteResult> {
  return execute(p, driver, state, {
    fancy: fancyOutput() && !flags.quiet,
    // The sim is CPU-bound: one step at a time keeps domain ids and logs deterministic, at no cost.
    concurrency: Number(flags.concurrency ?? (state.driver === 'sim' ? 1 : 4)),
    print: flags.quiet ? () => undefined : out,
    save: (st) => s.store.write(st),
    signal,
  });
}

/** Ctrl-C aborts the signal instead of killing the process, so state is saved and the lock released. */
export async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    if (!ac.signal.aborted) err('Interrupt received: finishing the steps under way, then saving state.');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await run(ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Shared by apply and destroy: lock, recover an interrupted run, plan, execute, record. */
function converge(s: Session, flags: Flags, destroy: boolean): Promise<{ code: number; plan?: Plan }> {
  return withInterrupt(async (signal) => {
    s.lockState(destroy ? 'destroy' : 'apply');
    try {
      const recorded = s.readState();
      const driverName = s.driverName(recorded);
      const state = recorded ?? s.emptyState(driverName);
      let driver: Driver | undefined;
      if (state.pending) {
        driver = await s.driver(driverName, state);
        await recoverInterrupted(state, driver, flags.quiet ? () => undefined : out);
        state.driverData = driver.snapshot();
        s.store.write(state);
      }
      const p = s.plan(state, { destroy });
      if (!flags.quiet) {
        out(renderPlan({ ...p, findings: [] }, false));
        if (driverName === 'netns' && !destroy) for (const l of s.standIns()) out(`Note: ${l}.`);
      }
      if (p.changes.length === 0) return { code: 0, plan: p };
      if (signal.aborted) return { code: 130 };
      driver ??= await s.driver(driverName, state);
      state.driver = driverName;
      const res = await executePlan(s, driver, state, p, flags, signal);
      if (res.failed) {
        err(`Error: ${res.failed.address}: ${res.failed.message}`);
        err(`Apply stopped: ${res.done} step(s) done and recorded in ${s.store.stateFile}; fix the cause and run it again.`);
        return { code: 1, plan: p };
      }
      if (res.interrupted) {
        err(`Interrupted: ${res.done} step(s) done and recorded; run the command again to continue.`);
        return { code: 130, plan: p };
      }
      const verb = destroy ? 'Destroy' : 'Apply';
      out(`${verb} complete! Resources: ${p.summary.add} added, ${p.summary.change} changed, ${p.summary.destroy} destroyed.`);
      if (destroy) {
        const leftovers = (await driver.purge?.()) ?? [];
        if (leftovers.length) out(`Removed leftovers no step recorded: ${leftovers.join(', ')}`);
        await s.close(); // drivers flush before their files go
        rmSync(s.store.dir, { recursive: true, force: true });
      }
      return { code: 0, plan: p };
    } finally {
      await s.close();
    }
  });
}

export async function applySession(s: Session, flags: Flags): Promise<number> {
  printFindings(s);
  if (s.errors.length && !flags['skip-compat']) {
    err(`Error: ${s.errors.length} compat error(s) block apply (nothing was changed); fix them, or use --skip-compat to reproduce the failure.`);
    return 1;
  }
  const { code, plan: p } = await converge(s, flags, false);
  if (code === 0 && p?.changes.length === 0) out(renderSummary(p));
  return code;
}

export const apply: Command = async (args, flags) => applySession(openSession(args, flags), flags);

export const destroy: Command = async (args, flags) => {
  const s = openSession(args, flags);
  const { code, plan: p } = await converge(s, flags, true);
  if (code === 0 && p?.changes.length === 0) out('Nothing to destroy.');
  return code;
};

