// apply and destroy: the plan first, live progress, then what happened and what to do next.
import { UserError } from '../../diagnostics.js';
import { converge, sweepUnreadable } from '../../ops/apply.js';
import { withInterrupt } from '../../ops/interrupt.js';
import type { Session } from '../../ops/session.js';
import { renderPlan, renderSummary } from '../../render/plan.js';
import { concurrencyFlag, openSession, printFindings, progressView, refreshFlag, type Command, type Flags } from '../command.js';
import { err, out } from '../output.js';

async function run(s: Session, flags: Flags, destroy: boolean): Promise<number> {
  const concurrency = concurrencyFlag(flags);
  const refresh = refreshFlag(flags);
  const print = flags.quiet ? () => undefined : out;
  const view = await progressView(flags);
  const verb = destroy ? 'Destroy' : 'Apply';
  return withInterrupt(async (signal) => {
    const r = await converge(s, {
      destroy, signal, hooks: view, note: print, refresh, force: destroy && flags.force === true,
      ...(concurrency ? { concurrency } : {}),
      planned: (p, driver) => {
        print(renderPlan({ ...p, findings: [] }, false));
        if (driver !== 'sim' && !destroy) for (const l of s.standIns()) print(`Note: ${l}.`);
      },
    });
    await view.finished?.();
    for (const f of r.recovery ?? []) {
      err(`Error: ${f.address}: the ${f.action} an earlier run left unfinished could not be ${f.action === 'create' ? 'undone' : 'finished'}: ${f.message}`);
    }
    if (r.recovery?.length && !r.plan) {
      err(`${verb} stopped before any step: ${r.recovery.length} unfinished step(s) of an earlier run stay recorded as pending in ${s.store.stateFile}; ` +
        `fix the cause and run it again${destroy ? ', or `cellctl destroy --force` to remove everything anyway' : ''}.`);
      return r.code;
    }
    const failures = r.result?.failures ?? (r.result?.failed ? [r.result.failed] : []);
    if (r.result?.failed && !r.unconfirmed && r.code !== 0) {
      err(`Error: ${r.result.failed.address}: ${r.result.failed.message}`);
      err(`${verb} stopped: ${r.result.done} step(s) done and recorded in ${s.store.stateFile}; fix the cause and run it again` +
        (destroy ? ', or `cellctl destroy --force` to tear down the rest anyway.' : '.'));
    } else if (r.code === 130) {
      err(`Interrupted: ${r.result?.done ?? 0} step(s) done and recorded; run the command again to continue.`);
    } else if (r.plan?.changes.length === 0) {
      out(destroy ? 'Nothing to destroy.' : renderSummary(r.plan));
      if (r.leftovers?.length) out(`Removed leftovers no step recorded: ${r.leftovers.join(', ')}`);
    } else if (r.plan) {
      for (const f of failures) err(`Warning: ${f.address}: ${f.message} (--force: went on)`);
      if (r.unconfirmed?.length) {
        err(`${verb} stopped: could not confirm that these are gone; they stay recorded in ${s.store.stateFile}:`);
        for (const u of r.unconfirmed) err(`  ${u.address}: ${u.message}`);
      } else {
        out(`${verb} complete! Resources: ${r.plan.summary.add} added, ${r.plan.summary.change} changed, ${r.plan.summary.destroy} destroyed.`);
      }
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

export const destroy: Command = async (args, flags) => {
  const s = openSession(args, flags);
  try {
    return await run(s, flags, true);
  } catch (e) {
    // A state file cellctl cannot read: --force still sweeps what the driver finds, and leaves the file.
    if (!(e instanceof UserError) || !flags.force || !/state file is damaged/.test(e.message)) throw e;
    err(`Error: ${e.message}`);
    const { leftovers, driver } = await sweepUnreadable(s, e);
    err(`Destroy stopped: the state file was left as it is; --force removed what the ${driver} driver could find: ${leftovers.join(', ') || 'nothing'}.`);
    return 1;
  }
};
