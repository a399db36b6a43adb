// apply and destroy: the plan first, a yes when it destroys or replaces, live progress, then what
// happened and what to do next. `apply PLANFILE` runs a plan saved by `plan --out`.
import { resolve } from 'node:path';
import { UserError } from '../../diagnostics.js';
import { converge, sweepUnreadable } from '../../ops/apply.js';
import { withInterrupt } from '../../ops/interrupt.js';
import { checkSavedPlan, readSavedPlan, type SavedPlan } from '../../ops/saved-plan.js';
import type { Session } from '../../ops/session.js';
import { findingJson } from '../../render/diagnostics.js';
import { ui } from '../../render/events.js';
import { renderPlan, renderSummary, targetLines, unmanagedLines } from '../../render/plan.js';
import { concurrencyFlag, openSession, printFindings, progressView, refreshFlag, type Command, type Flags } from '../command.js';
import { confirmer } from '../confirm.js';
import { err, out, terminalWidth } from '../output.js';

async function run(args: string[], flags: Flags, destroy: boolean, saved?: { plan: SavedPlan; file: string }): Promise<number> {
  const concurrency = concurrencyFlag(flags);
  const json = Boolean(flags.json);
  const emit = (e: object) => out(JSON.stringify(e));
  const print = flags.quiet || json ? () => undefined : out;
  const view = await progressView(flags);
  if (json) emit(ui.version());
  const s: Session = saved
    ? openSession(saved.plan.file, { ...flags, 'state-dir': saved.plan.stateDir, driver: saved.plan.driver, connect: saved.plan.connect }, (l) => view.log(l))
    : openSession(args[0], flags, (l) => view.log(l));
  if (!destroy) {
    if (json) for (const f of s.findings) emit(ui.diagnostic(findingJson(f)));
    else printFindings(s);
  }
  if (!saved && !destroy && s.errors.length && !flags['skip-compat']) {
    const message = `${s.errors.length} compat error(s) block apply (nothing was changed); fix them, or use --skip-compat to reproduce the failure.`;
    if (json) emit(ui.outcome(message, 'error'));
    err(`Error: ${message}`);
    return 1;
  }
  const verb = destroy ? 'Destroy' : 'Apply';
  const asker = confirmer(flags, destroy ? 'destroy' : 'apply');
  return withInterrupt(async (signal) => {
    const r = await converge(s, {
      destroy, signal, hooks: view, note: (l) => view.log(l), refresh: refreshFlag(flags), force: destroy && flags.force === true,
      ...(concurrency ? { concurrency } : {}),
      ...(flags.target ? { targets: flags.target } : {}),
      ...(saved ? { saved: (recorded) => checkSavedPlan(saved.plan, saved.file, recorded) } : { confirm: asker.confirm }),
      planned: (p, driver) => {
        if (json) {
          for (const c of p.changes) emit(ui.plannedChange(c));
          emit(ui.changeSummary(p, destroy ? 'destroy' : 'apply'));
          return;
        }
        if (p.changes.length > 0) print(renderPlan({ ...p, findings: [] }, false, terminalWidth()));
        else {
          const notes = [...unmanagedLines(p), ...targetLines(p)].join('\n').trimEnd();
          if (notes) print(notes);
        }
        if (driver !== 'sim' && !destroy) for (const l of s.standIns(driver)) print(`Note: ${l}.`);
      },
    });
    await view.finished?.();
    const say = (message: string, level: 'info' | 'error' = 'info', payload: object = {}) => {
      if (json) emit(ui.outcome(message, level, payload));
      else (level === 'error' ? err : out)(message);
    };
    if (r.cancelled) {
      say(`${verb} cancelled.`, 'error');
      return asker.interrupted ? 130 : 1;
    }
    for (const f of r.recovery ?? []) {
      say(`Error: ${f.address}: the ${f.action} an earlier run left unfinished could not be ${f.action === 'create' ? 'undone' : 'finished'}: ${f.message}`, 'error');
    }
    const orForce = destroy ? ', or `cellctl destroy --force` to tear down the rest anyway' : '';
    if (r.recovery?.length && !r.plan) {
      say(`${verb} stopped before any step: ${r.recovery.length} unfinished step(s) of an earlier run stay recorded as pending in ${s.store.stateFile}; fix the cause and run it again${orForce}.`, 'error');
      return r.code;
    }
    if (r.result?.failed && !r.unconfirmed && r.code !== 0) {
      // The progress view has shown the step's error; said again only when nothing showed it (--quiet).
      const { address, message } = r.result.failed;
      say(flags.quiet && !json ? `Error: ${address}: ${message}` : `Error: ${address} failed (its error is above).`, 'error');
      say(`${verb} stopped: ${r.result.done} step(s) done and recorded in ${s.store.stateFile}; fix the cause and run it again${orForce}.`, 'error');
    } else if (r.code === 130) {
      say(`Interrupted: ${r.result?.done ?? 0} step(s) done and recorded; run the command again to continue.`, 'error');
    } else if (r.plan?.changes.length === 0) {
      say(destroy ? 'Nothing to destroy: no resources are recorded.' : renderSummary(r.plan));
      if (r.leftovers?.length) say(`Removed leftovers no step recorded: ${r.leftovers.join(', ')}`);
    } else if (r.plan) {
      for (const f of r.result?.failures ?? []) say(`Warning: ${f.address}: ${f.message} (--force: went on)`, 'error');
      if (r.unconfirmed?.length) {
        say(`${verb} stopped: could not confirm that these are gone; they stay recorded in ${s.store.stateFile}:`, 'error');
        for (const u of r.unconfirmed) say(`  ${u.address}: ${u.message}`, 'error');
      } else {
        const sum = r.plan.summary;
        if (json) emit(ui.changeSummary(r.plan, destroy ? 'destroy' : 'apply', `${verb} complete! Resources: ${sum.add} added, ${sum.change} changed, ${sum.destroy} destroyed.`));
        else out(`${verb} complete! Resources: ${sum.add} added, ${sum.change} changed, ${sum.destroy} destroyed.`);
      }
      if (r.leftovers?.length) say(`Removed leftovers no step recorded: ${r.leftovers.join(', ')}`);
    }
    return r.code;
  }, () => err('Interrupt received: finishing the steps under way, then saving state.'));
}

export const apply: Command = async (args, flags) => {
  const saved = readSavedPlan(args[0]);
  if (saved) {
    // The plan says what, where (state dir) and with which driver: a flag cannot change it.
    const differs = { target: flags.target !== undefined, driver: flags.driver !== undefined && flags.driver !== saved.driver, 'state-dir': flags['state-dir'] !== undefined && resolve(flags['state-dir']) !== saved.stateDir };
    for (const [f, bad] of Object.entries(differs)) {
      if (bad) throw new UserError([{ message: `--${f} cannot change a saved plan (${args[0]})`, hint: 'give it to cellctl plan --out instead' }]);
    }
    return run(args, flags, saved.destroy, { plan: saved, file: args[0] });
  }
  return run(args, flags, false);
};

export const destroy: Command = async (args, flags) => {
  try {
    return await run(args, flags, true);
  } catch (e) {
    // A state file cellctl cannot read: --force still sweeps what the driver finds, and leaves the file.
    if (!(e instanceof UserError) || !flags.force || !/state file is damaged/.test(e.message)) throw e;
    err(`Error: ${e.message}`);
    const { leftovers, driver } = await sweepUnreadable(openSession(args[0], flags), e);
    err(`Destroy stopped: the state file was left as it is; --force removed what the ${driver} driver could find: ${leftovers.join(', ') || 'nothing'}.`);
    return 1;
  }
};
