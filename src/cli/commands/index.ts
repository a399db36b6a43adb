// The commands by name. Each parses its arguments, calls ops, picks a view, returns an exit code.
import type { Command } from '../command.js';
import { apply, destroy } from './apply.js';
import { checkModuleCmd } from './check-module.js';
import { exportCmd } from './export.js';
import { migrateCmd } from './migrate.js';
import { plan } from './plan.js';
import { smokeCmd } from './smoke.js';
import { consoleCmd, statusCmd } from './status.js';
import { validate } from './validate.js';

export const COMMANDS: Record<string, Command> = {
  validate, plan, apply, destroy,
  status: statusCmd, console: consoleCmd, migrate: migrateCmd,
  smoke: smokeCmd, export: exportCmd, 'check-module': checkModuleCmd,
};
