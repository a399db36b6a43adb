// apply and destroy: the plan first, live progress, then what happened and what to do next.
import { converge } from '../../ops/apply.js';
import { withInterrupt } from '../../ops/interrupt.js';
import type { Session } from '../../ops/session.js';
import { renderPlan, renderSummary } from '../../render/plan.js';
import { concurrencyFlag, openSession, printFindings, progressView, type Command, type Flags } from '../command.js';
import { err, out } from '../output.js';

async function run(s: Session, flags: Flags, destroy: boolean): Promise<number> {
  const concurrency = concurrencyFlag(flags);
  const print = flags.quiet ? () => undefined : out;
  const view = await progressView(flags);
  const verb = destroy ? 'Destroy' : 'Apply';
  return withInterrupt(async (signal) => {
    const r = await converge(s, {
      destroy, signal, hooks: view, note: print,
      ...(concurrency ? { concurrency } : {}),
      planned: (p, driver) => {
        print(renderPlan({ ...p, findings: [] }, false));
        if (driver !== 'sim' && !destroy) for (const l of s.standIns(driver)) print(`Note: ${l}.`);
      },
    });
    await view.finished?.();
    if (r.result?.failed) {
      err(`Error: ${r.result.failed.address}: ${r.result.failed.message}`);
      err(`${verb} stopped: ${r.result.done} step(s) done and recorded in ${s.store.stateFile}; fix the cause and run it again.`);
    } else if (r.code === 130) {
      err(`Interrupted: ${r.result?.done ?? 0} step(s) done and recorded; run the command again to continue.`);
    } else if (r.plan?.changes.length === 0) {
      out(destroy ? 'Nothing to destroy.' : renderSummary(r.plan));
    } else if (r.plan) {
      out(`${verb} complete! Resources: ${r.plan.summary.add} added, ${r.plan.summary.change} changed, ${r.plan.summary.destroy} destroyed.`);
      if (r.leftovers?.length) out(`Removed leftovers no step recorded: ${r.leftovers.join(', ')}`);
    }
    return r.code;
  }, () => err('Interrupt received: finishing the steps under way, then saving state.'));
}

export const apply: Command = async (args, flags) => {
  const s = openSession(args, flags);
  printFindings(s);
  if (s.errors.length && !flags['skip-compat']) {
    err(`Error: ${s.errors.length} compat error(s) block apply (nothing was changed); fix them, or use --skip-compat to reproduce the failure.`);
    return 1;
  }
  return run(s, flags, false);
};

export const destroy: Command = async (args, flags) => run(openSession(args, flags), flags, true);
