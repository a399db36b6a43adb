// plan: the terraform-style preview, --json, --out FILE for `apply FILE`, --detailed-exitcode.
import { planNow } from '../../ops/refresh.js';
import { savePlan } from '../../ops/saved-plan.js';
import { planJson, renderPlan } from '../../render/plan.js';
import { openSession, refreshFlag, type Command } from '../command.js';
import { err, out, terminalWidth } from '../output.js';

export const plan: Command = async (args, flags) => {
  const s = openSession(args[0], flags);
  const destroy = Boolean(flags.destroy);
  const { plan: p, driver, state } = await planNow(s, { refresh: refreshFlag(flags), destroy, ...(flags.target ? { targets: flags.target } : {}) });
  if (flags.json) out(JSON.stringify(planJson(p, state), null, 2));
  else {
    out(renderPlan(p, undefined, terminalWidth()));
    if (driver !== 'sim') for (const l of s.standIns(driver, state)) out(`Note (--driver ${driver}): ${l}.`);
  }
  if (s.errors.length && !destroy) {
    if (!flags.json) err(`Error: ${s.errors.length} compat error(s): apply would refuse this cell${flags.out ? `; no plan was saved to ${flags.out}` : ''}.`);
    return 1;
  }
  if (flags.out) {
    savePlan(flags.out, s, p, { state, driver, destroy, ...(flags.connect ? { connect: flags.connect } : {}) });
    if (!flags.json) out(`\nSaved the plan to ${flags.out}. To perform exactly these actions, run:\n    cellctl apply ${flags.out}`);
  }
  return flags['detailed-exitcode'] && p.changes.length > 0 ? 2 : 0;
};
