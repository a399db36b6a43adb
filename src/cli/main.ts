#!/usr/bin/env node
// cellctl: argument parsing and dispatch. The work is done by the pipeline stages; this stays thin.
import { parseArgs } from 'node:util';
import { err, out, reportError } from './output.js';
import { COMMANDS } from './commands/index.js';
import type { Flags } from './command.js';

const USAGE = `usage: cellctl <command> [options]

  validate CELL.yaml              check the file and the compat rules
  plan CELL.yaml                  show what apply would change (--json, --detailed-exitcode)
  apply CELL.yaml                 bring the cell up (--driver sim|netns|libvirt|qemu, --skip-compat)
  destroy CELL.yaml               tear everything down, dependents first
  status CELL.yaml                hosts, domains, services, drift
  console CELL.yaml [GUEST]       a guest's boot console and kernel log (like xm create -c)
  smoke CELL.yaml                 apply into a throwaway state, run the checks, tear down (--junit FILE)
  migrate CELL.yaml GUEST --to HOST   live-migrate a guest
  export CELL.yaml --format xl|libvirt --out DIR
  check-module MODULE.ko --symvers Module.symvers [--config .config]

options: --state-dir DIR (env CELLCTL_STATE_DIR; default .cellctl/ beside the file)
         --driver NAME  --connect URI  --json  --quiet`;

function parseFlags(argv: string[]) {
  return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' }, 'detailed-exitcode': { type: 'boolean' }, 'state-dir': { type: 'string' },
        driver: { type: 'string' }, connect: { type: 'string' }, 'skip-compat': { type: 'boolean' },
        junit: { type: 'string' }, to: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' },
        symvers: { type: 'string' }, config: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' }, concurrency: { type: 'string' },
      },
    });
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (e) {
    err(`Error: ${(e as Error).message}`);
    err(USAGE);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    out('cellctl 0.1.0');
    return 0;
  }
  const [name, ...args] = positionals;
  if (values.help || !name) {
    (name || values.help ? out : err)(USAGE);
    return values.help ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    err(`Error: unknown command '${name}'`);
    err(USAGE);
    return 1;
  }
  try {
    return await command(args, values as Flags);
  } catch (e) {
    return reportError(e);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.exitCode = reportError(e);
  },
);
