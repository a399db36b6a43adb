// The commands. Each parses its arguments, calls the pipeline, formats the result, returns an exit code.
import { planJson, renderPlan } from '../../render/plan.js';
import { apply, destroy, printFindings } from '../../ops/apply.js';
import { err, out } from '../output.js';
import { consoleCmd, migrateCmd, statusCmd } from '../../ops/status.js';
import { smokeCmd } from '../../ops/smoke.js';
import { checkModuleCmd, exportCmd } from './tools.js';
import { openSession, type Command, type Flags } from '../command.js';

const validate: Command = async (args, flags) => {
  const s = openSession(args, flags);
  if (flags.json) out(JSON.stringify({ cell: s.spec.cell, file: s.spec.file, findings: s.findings, errors: s.errors.length }, null, 2));
  else {
    printFindings(s);
    out(s.errors.length ? `${s.spec.file}: ${s.errors.length} error(s) block apply.` : `${s.spec.file}: valid (cell ${s.spec.cell}, ${Object.keys(s.spec.guests).length} guests).`);
  }
  return s.errors.length ? 1 : 0;
};

const plan: Command = async (args, flags) => {
  const s = openSession(args, flags);
  const state = s.readState();
  const p = s.plan(state);
  if (flags.json) out(JSON.stringify(planJson(p), null, 2));
  else {
    out(renderPlan(p));
    if (s.driverName(state) === 'netns') for (const l of s.standIns()) out(`Note (--driver netns): ${l}.`);
  }
  if (s.errors.length) {
    if (!flags.json) err(`Error: ${s.errors.length} compat error(s): apply would refuse this cell.`);
    return 1;
  }
  return flags['detailed-exitcode'] && p.changes.length > 0 ? 2 : 0;
};

export const COMMANDS: Record<string, Command> = {
  validate, plan, apply, destroy,
  status: statusCmd, console: consoleCmd, migrate: migrateCmd,
  smoke: smokeCmd, export: exportCmd, 'check-module': checkModuleCmd,
};
