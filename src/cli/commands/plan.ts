import { planJson, renderPlan } from '../../render/plan.js';
import { openSession, type Command } from '../command.js';
import { err, out } from '../output.js';

export const plan: Command = async (args, flags) => {
  const s = openSession(args, flags);
  const state = s.readState();
  const driver = s.driverName(state);
  const p = s.plan(state, { driver });
  if (flags.json) out(JSON.stringify(planJson(p), null, 2));
  else {
    out(renderPlan(p));
    if (driver !== 'sim') for (const l of s.standIns(driver)) out(`Note (--driver ${driver}): ${l}.`);
  }
  if (s.errors.length) {
    if (!flags.json) err(`Error: ${s.errors.length} compat error(s): apply would refuse this cell.`);
    return 1;
  }
  return flags['detailed-exitcode'] && p.changes.length > 0 ? 2 : 0;
};
