// The commands by name. Each takes its checked arguments and flags, calls ops, picks a view,
// returns an exit code. Their arguments and flags are declared in ../spec.ts.
import type { Command } from '../command.js';
import { apply, destroy } from './apply.js';
import { checkModuleCmd } from './check-module.js';
import { execCmd } from './exec.js';
import { exportCmd } from './export.js';
import { graphCmd } from './graph.js';
import { migrateCmd } from './migrate.js';
import { outputCmd } from './output.js';
import { plan } from './plan.js';
import { catalogCmd, completionCmd, explainCmd } from './reference.js';
import { smokeCmd } from './smoke.js';
import { stateCmd } from './state.js';
import { consoleCmd, statusCmd } from './status.js';
import { validate } from './validate.js';

export const COMMANDS: Record<string, Command> = {
  validate, plan, apply, destroy,
  status: statusCmd, console: consoleCmd, migrate: migrateCmd, graph: graphCmd, state: stateCmd,
  smoke: smokeCmd, export: exportCmd, exec: execCmd, output: outputCmd, 'check-module': checkModuleCmd,
  catalog: catalogCmd, explain: explainCmd, completion: completionCmd,
};
