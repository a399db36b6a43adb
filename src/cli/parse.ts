// argv -> command, positionals and typed flags, checked against the declaration (spec.ts): unknown
// commands and flags get "did you mean", missing values and bad choices say what was expected.
import { parseArgs } from 'node:util';
import { suggest } from '../config/suggest.js';
import { UserError } from '../diagnostics.js';
import { COMMAND_SPECS, FLAGS, commandSpec, flagsOf, type CommandSpec, type FlagName, type Flags } from './spec.js';

export type Parsed =
  | { kind: 'run'; command: CommandSpec; args: string[]; flags: Flags }
  | { kind: 'help'; command?: CommandSpec; /** no command at all: help goes to stderr, exit 1 */ bare?: boolean }
  | { kind: 'version'; json: boolean };

const COMMAND_NAMES = COMMAND_SPECS.map((c) => c.name);

function unknownCommand(name: string): UserError {
  const near = suggest(name, COMMAND_NAMES);
  return new UserError([{ message: `unknown command '${name}'`, hint: near ? `did you mean ${near}?` : "run 'cellctl help' for the list" }]);
}

/** The command named in argv (the first word that is not a flag), for help on a parse error. */
export function commandIn(argv: readonly string[]): CommandSpec | undefined {
  const word = argv.find((a) => !a.startsWith('-'));
  return word ? commandSpec(word) : undefined;
}

export function parseCommandLine(argv: readonly string[]): Parsed {
  const first = argv[0];
  if (first === undefined) return { kind: 'help', bare: true };
  if (first === '-h' || first === '--help') return { kind: 'help' };
  if (first === '-V' || first === '--version') return { kind: 'version', json: argv.includes('--json') };
  if (first.startsWith('-')) {
    throw new UserError([{ message: `expected a command before ${first}`, hint: 'cellctl COMMAND [options]; run cellctl help for the list' }]);
  }
  const command = commandSpec(first);
  if (!command) throw unknownCommand(first);
  const { args, flags } = parseFlags(command, argv.slice(1));
  if (flags.help) return { kind: 'help', command };
  if (command.name === 'help') {
    if (args.length === 0) return { kind: 'help' };
    const about = commandSpec(args[0]);
    if (!about) throw unknownCommand(args[0]);
    return { kind: 'help', command: about };
  }
  if (command.name === 'version') return { kind: 'version', json: Boolean(flags.json) };
  checkArgs(command, args);
  return { kind: 'run', command, args, flags };
}

function parseFlags(command: CommandSpec, argv: string[]): { args: string[]; flags: Flags } {
  const accepted = flagsOf(command);
  const byName = new Map(accepted.map((f) => [f.name as string, f]));
  const options = Object.fromEntries(accepted.map((f) => [f.name, { type: f.spec.type, ...(f.spec.short ? { short: f.spec.short } : {}), ...(f.spec.multiple ? { multiple: true } : {}) }]));
  // Not strict: every token is checked below, so the messages are ours, with suggestions.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const flags: Record<string, unknown> = {};
  const args: string[] = [];
  const usage = `run 'cellctl ${command.name} --help' for its options`;
  for (const t of tokens) {
    if (t.kind === 'positional') args.push(t.value);
    if (t.kind !== 'option') continue;
    const f = byName.get(t.name);
    if (!f) {
      const everywhere = (Object.keys(FLAGS) as FlagName[]).includes(t.name as FlagName);
      const near = suggest(t.name, [...byName.keys()]);
      throw new UserError([{
        message: everywhere ? `cellctl ${command.name} does not take ${t.rawName}` : `unknown flag ${t.rawName} for cellctl ${command.name}`,
        hint: near ? `did you mean --${near}?` : usage,
      }]);
    }
    if (f.spec.type === 'boolean') {
      if (t.inlineValue) throw new UserError([{ message: `${t.rawName} takes no value (got '${t.value}')`, hint: usage }]);
      flags[f.name] = true;
      continue;
    }
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && t.value.length > 1)) {
      throw new UserError([{ message: `${t.rawName} needs a value: --${f.name} ${f.value ?? 'VALUE'}`, hint: f.description }]);
    }
    if (f.spec.choices && !f.spec.choices.includes(t.value)) {
      const near = suggest(t.value, f.spec.choices);
      throw new UserError([{ message: `--${f.name} ${t.value}: expected ${f.spec.choices.join(', ')}`, ...(near ? { hint: `did you mean ${near}?` } : {}) }]);
    }
    if (f.spec.multiple) flags[f.name] = [...((flags[f.name] as string[] | undefined) ?? []), t.value];
    else {
      if (flags[f.name] !== undefined && flags[f.name] !== t.value) throw new UserError(`--${f.name} is given twice (${String(flags[f.name])} and ${t.value})`);
      flags[f.name] = t.value;
    }
  }
  return { args, flags: flags as Flags };
}

/** Required arguments present, no extra ones. */
function checkArgs(command: CommandSpec, args: string[]): void {
  const required = command.args.filter((a) => !a.optional);
  const variadic = command.args.some((a) => a.variadic);
  const usage = `usage: cellctl ${command.name} ${command.args.map((a) => (a.optional ? `[${a.name}]` : a.name)).join(' ')}`.trimEnd();
  if (args.length < required.length) {
    throw new UserError([{ message: `missing ${required[args.length].name} (${usage})` }]);
  }
  if (!variadic && args.length > command.args.length) {
    throw new UserError([{ message: `unexpected argument '${args[command.args.length]}' (${usage})` }]);
  }
}
