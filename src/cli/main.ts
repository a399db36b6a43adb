#!/usr/bin/env node
// cellctl: parse the command line against its declaration (spec.ts), dispatch. The work is done by
// the pipeline stages; this stays thin.
import { VERSION } from '../version.js';
import { COMMANDS } from './commands/index.js';
import { commandHelp, globalHelp } from './help.js';
import { err, out, reportError } from './output.js';
import { commandIn, parseCommandLine } from './parse.js';

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    const code = reportError(e);
    const c = commandIn(argv);
    err(c ? `Run 'cellctl ${c.name} --help' for its usage.` : "Run 'cellctl --help' for the list of commands.");
    return code;
  }
  if (parsed.kind === 'version') {
    out(parsed.json ? JSON.stringify({ cellctl: VERSION, node: process.versions.node }) : `cellctl ${VERSION}`);
    return 0;
  }
  if (parsed.kind === 'help') {
    (parsed.bare ? err : out)(parsed.command ? commandHelp(parsed.command) : globalHelp());
    return parsed.bare ? 1 : 0;
  }
  try {
    return await COMMANDS[parsed.command.name](parsed.args, parsed.flags);
  } catch (e) {
    return reportError(e, { json: parsed.flags.json });
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
