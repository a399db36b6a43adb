// `cellctl --help` and `cellctl COMMAND --help`, written from the declaration in spec.ts.
import { wrapWords } from '../render/wrap.js';
import { COMMAND_SPECS, ENVIRONMENT, EXIT_CODES, flagLabel, flagsOf, type CommandSpec } from './spec.js';

const WIDTH = 80;

/** Two columns, the second wrapped at WIDTH under itself; a first column too wide gets its own line. */
function columns(rows: [string, string][], indent = 2): string[] {
  const width = Math.min(24, Math.max(...rows.map(([a]) => a.length)));
  const pad = ' '.repeat(indent + width + 2);
  return rows.flatMap(([a, b]) => {
    const text = wrapWords(b, WIDTH - pad.length);
    const head = a.length > width ? [`${' '.repeat(indent)}${a}`, `${pad}${text[0] ?? ''}`] : [`${' '.repeat(indent)}${a.padEnd(width)}  ${text[0] ?? ''}`];
    return [...head, ...text.slice(1).map((l) => pad + l)].map((l) => l.trimEnd());
  });
}

export function usageLine(c: CommandSpec): string {
  const args = c.args.map((a) => (a.optional ? `[${a.name}${a.variadic ? '...' : ''}]` : a.name));
  return ['cellctl', c.name, ...args, ...(c.flags.length ? ['[options]'] : [])].join(' ');
}

export function globalHelp(): string {
  return [
    'Usage: cellctl COMMAND [ARGS] [options]',
    '',
    'Declarative test cells for AFS and Kerberos: one YAML file -> plan -> compat',
    'checks -> apply, on a simulated Xen hypervisor (default) or for real',
    '(--driver netns, --driver libvirt).',
    '',
    'Commands:',
    ...columns(COMMAND_SPECS.map((c) => [c.name, c.summary])),
    '',
    'Options every command takes:',
    '  -h, --help       help for the command',
    'Before a command:',
    '  -V, --version    print the version',
    '',
    'Environment:',
    ...columns(ENVIRONMENT.map((e) => [e.name, e.meaning])),
    '',
    'Exit codes:',
    ...columns(EXIT_CODES.map((x) => [String(x.code), x.meaning])),
    '',
    "Run 'cellctl help COMMAND' or 'cellctl COMMAND --help' for a command's options.",
    'Finding codes: cellctl explain; catalog ids: cellctl catalog.',
  ].join('\n');
}

export function commandHelp(c: CommandSpec): string {
  const flags = flagsOf(c);
  const env = flags.flatMap((f) => (f.spec.env ? [`  ${f.spec.env}  same as --${f.name}`] : []));
  const exits = [{ code: 0, meaning: 'success' }, { code: 1, meaning: 'error' }, ...(c.exits ?? [])];
  const interruptible = ['apply', 'destroy', 'smoke'].includes(c.name);
  if (interruptible) exits.push({ code: 130, meaning: 'interrupted (Ctrl-C); what finished is recorded' });
  return [
    `Usage: ${usageLine(c)}`,
    '',
    ...wrapWords(c.description, WIDTH),
    '',
    'Options:',
    ...columns(flags.map((f) => [flagLabel(f.name, f.spec, f.value), f.description + (f.spec.choices && !f.description.includes(f.spec.choices[0]) ? ` (${f.spec.choices.join(', ')})` : '')])),
    ...(env.length ? ['', 'Environment:', ...env] : []),
    ...(c.examples.length ? ['', 'Examples:', ...c.examples.flatMap((e) => [`  # ${e.what}`, `  cellctl ${e.command}`])] : []),
    '',
    ...wrapWords(`Exit codes: ${exits.map((x) => `${x.code} ${x.meaning}`).join('; ')}.`, WIDTH),
  ].join('\n');
}
