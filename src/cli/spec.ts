// The one declaration of cellctl's command line: commands, their arguments and flags, the
// environment and the exit codes. Parsing, `--help`, suggestions, the man page and the shell
// completions are all made from it (parse.ts, help.ts, manpage.ts, completion.ts).
import { DRIVER_NAMES } from '../drivers/driver.js';

export interface FlagSpec {
  short?: string;
  type: 'boolean' | 'string';
  /** Repeatable: the values are collected in a list. */
  multiple?: boolean;
  /** The value's placeholder in help: DIR, FILE... */
  value?: string;
  /** Allowed values (checked when parsing, offered by completion). */
  choices?: readonly string[];
  /** What to complete for a free value. */
  complete?: Completion;
  env?: string;
  description: string;
}

/** What a shell should offer for an argument: files, directories, fixed words, or a list cellctl knows. */
export type Completion = 'cell' | 'file' | 'dir' | 'command' | 'code' | 'catalog-kind' | 'state-sub' | 'shell' | 'none';

export const FLAGS = {
  json: { type: 'boolean', description: 'machine-readable output on stdout' },
  quiet: { short: 'q', type: 'boolean', description: 'results and errors only, no progress lines' },
  help: { short: 'h', type: 'boolean', description: 'show help for the command and exit' },
  version: { short: 'V', type: 'boolean', description: "print cellctl's version and exit" },
  'state-dir': {
    type: 'string', value: 'DIR', complete: 'dir', env: 'CELLCTL_STATE_DIR',
    description: 'where state is kept (default: .cellctl/ beside the cell file)',
  },
  driver: {
    type: 'string', value: 'NAME', choices: DRIVER_NAMES,
    description: 'backend: sim (simulated Xen, the default), netns (real daemons, root), libvirt, qemu (real Linux guests, root) or xen (real Xen hosts and domUs, root); default: the one that applied the state',
  },
  connect: { type: 'string', value: 'URI', complete: 'none', description: 'libvirt URI for every host: qemu:///system?socket=DIR/libvirt-sock (a libvirtd cellctl runs), qemu+ssh://root@HOST/system, test:///default' },
  'skip-compat': { type: 'boolean', description: 'go ahead although compat rules refuse the cell (to reproduce a failure on purpose)' },
  concurrency: { type: 'string', value: 'N', complete: 'none', description: 'steps run at once, 1 to 64 (default: 1 on sim, 4 on real drivers)' },
  'auto-approve': { type: 'boolean', description: 'do not ask before destroying or replacing resources' },
  refresh: {
    type: 'string', value: 'true|false', choices: ['true', 'false'],
    description: 'read what really runs first, so drift shows as changes (default true; --refresh=false skips it, as terraform)',
  },
  force: {
    type: 'boolean',
    description: 'destroy: go on past failures and remove everything recorded or found, saying what could not be confirmed; any command: take over a state written from another cell file',
  },
  target: {
    type: 'string', value: 'ADDR', multiple: true, complete: 'none',
    description: 'only this resource and what it needs (repeatable), e.g. guest.shea',
  },
  destroy: { type: 'boolean', description: 'plan the destruction of every resource' },
  'detailed-exitcode': { type: 'boolean', description: 'exit 0 when nothing changes, 2 when something does, 1 on error' },
  out: { type: 'string', value: 'FILE', complete: 'file', description: 'write the result to FILE' },
  type: { type: 'string', value: 'TYPE', choices: ['plan', 'apply'], description: 'plan: resources and dependencies; apply: the steps of the plan and their order' },
  junit: { type: 'string', value: 'FILE', complete: 'file', description: 'write a JUnit XML report (also when the cell is refused)' },
  to: { type: 'string', value: 'HOST', complete: 'none', description: 'the host to move the guest to' },
  cold: { type: 'boolean', description: 'move the guest stopped (xl save on one host, xl restore on the other) where a live move cannot work; --driver xen' },
  format: { type: 'string', value: 'FORMAT', choices: ['xl', 'libvirt', 'client'], description: 'xl.cfg files, libvirt domain XML, or the client files to join the cell (default: xl)' },
  as: { type: 'string', value: 'PRINCIPAL', complete: 'none', description: 'kinit and aklog as PRINCIPAL first (its password from the cell\'s secrets), in a ticket cache and PAG of its own' },
  'show-secrets': { type: 'boolean', description: 'include the principals\' passwords (from the cell\'s secrets.json)' },
  symvers: { type: 'string', value: 'FILE', complete: 'file', description: "the kernel's Module.symvers" },
  config: { type: 'string', value: 'FILE', complete: 'file', description: "the kernel's .config (checks the options the module needs)" },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;

type ValueOf<F extends FlagSpec> = F['type'] extends 'boolean' ? boolean : F extends { multiple: true } ? string[] : string;
/** Parsed flags, typed from the declaration. */
export type Flags = { -readonly [K in FlagName]?: ValueOf<(typeof FLAGS)[K]> };

export interface ArgSpec {
  name: string; // as shown: CELL.yaml, GUEST
  optional?: boolean;
  /** Takes every remaining argument. */
  variadic?: boolean;
  complete: Completion;
}

/** A flag as a command uses it: the shared declaration, or with its own placeholder and words. */
export type CommandFlag = FlagName | { flag: FlagName; value?: string; description: string };

export interface CommandSpec {
  name: string;
  args: ArgSpec[];
  summary: string; // one line, for the command list
  description: string; // a paragraph, for `--help` and the man page
  flags: CommandFlag[];
  examples: { command: string; what: string }[];
  /** Exit codes beyond 0 and 1, for this command. */
  exits?: { code: number; meaning: string }[];
}

const CELL: ArgSpec = { name: 'CELL.yaml', complete: 'cell' };
/** Flags of every command that opens a cell's state. */
const STATE: CommandFlag[] = ['state-dir'];
const DRIVE: CommandFlag[] = ['driver', 'connect'];
const OUTPUT: CommandFlag[] = ['json', 'quiet'];

export const COMMAND_SPECS: readonly CommandSpec[] = [
  {
    name: 'validate', args: [CELL], summary: 'check the cell file and the compat rules',
    description: 'Reads the cell file (schema, references, catalog ids) and runs every compat rule. Errors name file:line:col and what was expected; nothing is applied.',
    flags: [...OUTPUT, ...STATE],
    examples: [{ command: 'validate cells/tproa.yaml', what: 'check the tproa.net cell' }, { command: 'validate cells/awesmoe.yaml --json', what: 'diagnostics as JSON (exit 1: refused)' }],
  },
  {
    name: 'plan', args: [CELL], summary: 'show what apply would change',
    description: 'Compares the cell file with the recorded state and shows, terraform-style, what apply would do: + create, ~ update in place, -/+ replace (with the reason), - destroy; then the compat findings.',
    flags: [...OUTPUT, 'detailed-exitcode', 'refresh', { flag: 'out', value: 'FILE', description: 'save the plan to FILE; `cellctl apply FILE` then does exactly it' }, 'target', 'destroy', ...DRIVE, ...STATE, 'force'],
    examples: [
      { command: 'plan cells/tproa.yaml', what: 'preview' },
      { command: 'plan cells/tproa.yaml --out tproa.plan', what: 'save the plan for apply' },
      { command: 'plan cells/tproa.yaml --json', what: 'the plan as JSON (format_version 2)' },
    ],
    exits: [{ code: 2, meaning: 'with --detailed-exitcode: the plan has changes' }],
  },
  {
    name: 'apply', args: [{ name: 'CELL.yaml|PLANFILE', complete: 'file' }], summary: 'bring the cell up (or apply a saved plan)',
    description: 'Plans, then creates, updates and replaces resources in dependency order, saving state as it goes. Asks for `yes` first when the plan destroys or replaces anything. Given a file saved by `plan --out`, applies exactly that plan, refused if the state changed since.',
    flags: ['auto-approve', 'target', 'skip-compat', 'refresh', 'concurrency', ...OUTPUT, ...DRIVE, ...STATE, 'force'],
    examples: [
      { command: 'apply cells/tproa.yaml', what: 'boot the cell on the simulated hypervisor' },
      { command: 'apply tproa.plan', what: 'apply a saved plan' },
      { command: 'apply cells/tproa.yaml --target volume.root.cell', what: 'that volume and what it needs' },
    ],
  },
  {
    name: 'destroy', args: [CELL], summary: 'tear the cell down, dependents first',
    description: 'Destroys every resource of the cell (or the targets and what depends on them), dependents first; asks for `yes` unless --auto-approve.',
    flags: ['auto-approve', 'target', 'concurrency', 'force', ...OUTPUT, ...DRIVE, ...STATE],
    examples: [
      { command: 'destroy cells/tproa.yaml', what: 'everything, after typing yes' },
      { command: 'destroy cells/tproa.yaml --auto-approve', what: 'in a script' },
      { command: 'destroy cells/tproa.yaml --force --auto-approve', what: 'after a failure: remove whatever is found, say what could not be confirmed' },
    ],
  },
  {
    name: 'status', args: [CELL], summary: "hosts' memory, domains, services, drift",
    description: 'What the driver has running for the cell, read back now: hosts with their memory, domains, services with their pids, and what apply would change (drift).',
    flags: [...OUTPUT, 'detailed-exitcode', 'refresh', ...DRIVE, ...STATE, 'force'],
    examples: [{ command: 'status cells/tproa.yaml', what: 'what runs' }, { command: 'status cells/tproa.yaml --detailed-exitcode', what: 'exit 2 when what runs has drifted' }],
    exits: [{ code: 2, meaning: 'with --detailed-exitcode: drift (apply would change something)' }],
  },
  {
    name: 'console', args: [CELL, { name: 'GUEST', optional: true, complete: 'none' }], summary: "a guest's boot console and kernel log",
    description: "A guest's boot console and kernel log, like `xm create -c`; every guest's when none is named.",
    flags: [...OUTPUT, ...DRIVE, ...STATE],
    examples: [{ command: 'console cells/tproa.yaml service-m1', what: "service-m1's boot messages" }],
  },
  {
    name: 'smoke', args: [CELL], summary: 'throwaway apply, end-to-end checks, teardown',
    description: "Applies the cell into a temporary state, runs the cell's checks end to end (kinit, tokens, a file written and read in /afs, volumes listed...), tears it down. A check whose prerequisite failed is skipped, not failed; compat warnings are reported as warnings. Exits 1 on any failure.",
    flags: ['junit', 'skip-compat', 'concurrency', ...OUTPUT, ...DRIVE, { flag: 'state-dir', value: 'DIR', description: 'make the throwaway state inside DIR (removed afterwards); default: the system temp dir' }],
    examples: [
      { command: 'smoke cells/tproa.yaml --junit out.xml', what: 'for CI' },
      { command: 'smoke cells/awesmoe.yaml --skip-compat', what: 'reproduce the unknown-symbol failure' },
    ],
  },
  {
    name: 'exec', args: [CELL, { name: 'GUEST', complete: 'none' }, { name: 'CMD', variadic: true, complete: 'none' }],
    summary: 'run a command inside a guest',
    description: "Runs CMD inside a guest of the applied cell, with the cell's krb5.conf, CellServDB and ThisCell and the guest's PATH; stdin, stdout, stderr and the exit status pass through. Put `--` before CMD when it has options. --as PRINCIPAL gets tickets and a token first. sim: the simulator's own kinit, klist, tokens, aklog, pts, vos, fs, ls, cat, echo ... > FILE (and sh -c 'LINE'), answering from the simulated cell; netns: the real commands, by nsenter into the guest's namespaces.",
    flags: ['as', ...STATE, 'force'],
    examples: [
      { command: 'exec cells/tproa.yaml service-m1 --as kula/admin -- fs la /afs', what: 'the ACL of root.afs, as an administrator' },
      { command: "exec cells/tproa.yaml service-m1 --as kula -- sh -c 'tokens; klist'", what: 'a command line' },
      { command: 'exec cells/tproa.yaml service-m1 -- vos listvldb', what: 'the volume location database' },
    ],
    exits: [{ code: 127, meaning: 'the command is not found on the guest' }],
  },
  {
    name: 'migrate', args: [CELL, { name: 'GUEST', complete: 'none' }], summary: 'live-migrate a guest to another host',
    description: 'Moves a running guest to another host of the cell, as `xm migrate --live` would: both hosts on the same bridges, the disks on storage both reach, memory free on the target. With --cold (--driver xen) the guest is saved on one host and restored on the other (xl save + xl restore): it stops meanwhile.',
    flags: ['to', 'cold', ...OUTPUT, ...DRIVE, ...STATE],
    examples: [
      { command: 'migrate cells/two-hosts.yaml mobile --to squid', what: 'move mobile from kraken to squid' },
      { command: 'migrate cells/two-hosts.yaml shea2 --to squid --cold', what: 'on --driver xen: xl save + xl restore, shea2 stops meanwhile' },
    ],
  },
  {
    name: 'graph', args: [CELL], summary: 'the dependency graph in DOT',
    description: "The plan's graph in Graphviz DOT: with --type plan (default) every resource and what it depends on; with --type apply the steps the plan runs, coloured by action, each pointing at the steps it waits for.",
    flags: ['type', 'target', 'destroy', ...DRIVE, ...STATE],
    examples: [{ command: 'graph cells/tproa.yaml | dot -Tsvg > tproa.svg', what: 'draw it (Graphviz)' }],
  },
  {
    name: 'state', args: [{ name: 'list|show', complete: 'state-sub' }, CELL, { name: 'ADDR', optional: true, variadic: true, complete: 'none' }],
    summary: 'list recorded resources, or show one',
    description: '`state list CELL.yaml [ADDR...]` lists the addresses recorded in the state (those starting with ADDR); `state show CELL.yaml ADDR` shows one resource as recorded: its attributes, what the driver reported, its dependencies.',
    flags: [...OUTPUT, ...STATE],
    examples: [{ command: 'state list cells/tproa.yaml', what: 'every recorded resource' }, { command: 'state show cells/tproa.yaml guest.service-m1', what: 'one of them' }],
  },
  {
    name: 'export', args: [CELL], summary: 'the cell as xl.cfg files, libvirt XML or client files',
    description: "Writes one domain configuration per guest, in xl.cfg or libvirt domain XML; or, with --format client, what a machine outside needs to join the applied cell: CellServDB, ThisCell, krb5.conf (every realm, the KDCs' addresses) and the service keytabs (0600).",
    flags: ['format', { flag: 'out', value: 'DIR', description: 'directory to write the files to' }, ...OUTPUT, ...STATE],
    examples: [
      { command: 'export cells/tproa.yaml --format xl --out xl/', what: 'xl.cfg files in xl/' },
      { command: 'export cells/tproa.yaml --format client --out client/', what: 'CellServDB, ThisCell, krb5.conf, keytabs in client/' },
    ],
  },
  {
    name: 'output', args: [CELL, { name: 'NAME', optional: true, complete: 'none' }], summary: "the applied cell's addresses, KDCs, servers, principals",
    description: "What the applied cell offers, as terraform output: cell, realms with their KDCs, database servers, fileservers, clients, guests' addresses, principals, volumes, keytabs; NAME prints one of them. Passwords are shown only with --show-secrets (they live in the cell's secrets.json).",
    flags: ['show-secrets', ...OUTPUT, ...STATE],
    examples: [
      { command: 'output cells/tproa.yaml', what: 'everything' },
      { command: 'output cells/tproa.yaml kdcs --json', what: 'the KDCs of each realm, as JSON' },
    ],
  },
  {
    name: 'check-module', args: [{ name: 'MODULE.ko', complete: 'file' }], summary: 'will a real .ko load into a real kernel?',
    description: "Judges a real kernel module against a kernel's Module.symvers (and .config) as modpost and the module loader would: licence and GPL-only symbols, unknown symbols, namespaces, symbol versions, vermagic.",
    flags: ['symvers', 'config', ...OUTPUT],
    examples: [{ command: 'check-module openafs.ko --symvers Module.symvers --config .config', what: "against a kernel's build files" }],
  },
  {
    name: 'catalog', args: [{ name: 'KIND', optional: true, complete: 'catalog-kind' }, { name: 'ID', optional: true, complete: 'none' }],
    summary: 'what cellctl knows: Xen, OSes, kernels, modules, software',
    description: "The catalog cell files name things from: Xen releases, OSes, kernels (with their exports), kernel modules, Kerberos and AFS software; what each runs on, and where each fact comes from. Without KIND, a count per kind; with KIND, its ids; with an ID, everything about it.",
    flags: [...OUTPUT],
    examples: [{ command: 'catalog kernels', what: 'every kernel' }, { command: 'catalog modules openafs-1.4.2-linux', what: 'a module, and the kernels it loads into' }],
  },
  {
    name: 'explain', args: [{ name: 'CODE', optional: true, complete: 'code' }], summary: 'what a finding code means and how to fix it',
    description: 'Explains a finding code ([module-gpl-only-symbol] and the like): what it means, what the system would say, how to fix it. Without CODE, lists every code.',
    flags: [...OUTPUT],
    examples: [{ command: 'explain module-gpl-only-symbol', what: 'the awesmoe.org refusal' }],
  },
  {
    name: 'completion', args: [{ name: 'bash|zsh|fish', complete: 'shell' }], summary: 'shell completion script',
    description: 'Prints a completion script for bash, zsh or fish. bash: `source <(npx cellctl completion bash)`; zsh: put `npx cellctl completion zsh` in a file named _cellctl on $fpath; fish: `npx cellctl completion fish > ~/.config/fish/completions/cellctl.fish`.',
    flags: [],
    examples: [{ command: 'completion bash > /etc/bash_completion.d/cellctl', what: 'install for bash' }],
  },
  {
    name: 'help', args: [{ name: 'COMMAND', optional: true, complete: 'command' }], summary: 'help for cellctl or one command',
    description: 'The list of commands, or one command\'s arguments, options and examples (the same as `cellctl COMMAND --help`).',
    flags: [],
    examples: [{ command: 'help apply', what: "apply's options" }],
  },
  {
    name: 'version', args: [], summary: "print cellctl's version",
    description: "Prints cellctl's version (also `--version`, `-V`).",
    flags: ['json'],
    examples: [],
  },
];

/** Flags every command accepts. */
export const GLOBAL_FLAGS: readonly FlagName[] = ['help'];

export const ENVIRONMENT: readonly { name: string; meaning: string }[] = [
  { name: 'CELLCTL_STATE_DIR', meaning: 'where state is kept, as --state-dir (default: .cellctl/ beside the cell file)' },
  { name: 'CELLCTL_KDC_MASTER_PASSWORD', meaning: "the KDC master password (default: generated once, kept 0600 in the cell's secrets.json)" },
  { name: 'CELLCTL_PW_<PRINCIPAL>', meaning: "a principal's password: CELLCTL_PW_KULA_ADMIN for kula/admin (default: generated, kept like the master password)" },
  { name: 'CELLCTL_CACHE_DIR', meaning: 'cache for slow reusable builds: guest kernels, initramfs images, modules (default: $XDG_CACHE_HOME/cellctl or ~/.cache/cellctl)' },
  { name: 'CELLCTL_DEBUG', meaning: 'when set, an unexpected error also prints its stack trace' },
  { name: 'CI', meaning: 'when set, progress is plain lines even on a terminal (no live view)' },
  { name: 'NO_COLOR', meaning: 'when set, the live view uses no colours' },
];

export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
  { code: 0, meaning: 'success (plan --detailed-exitcode: no changes)' },
  { code: 1, meaning: 'an error: bad input, compat errors, a failed step or check, a declined confirmation' },
  { code: 2, meaning: 'plan --detailed-exitcode: success, and the plan has changes' },
  { code: 130, meaning: 'interrupted (Ctrl-C): the steps under way were finished and recorded; run the command again to continue' },
];

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMAND_SPECS.find((c) => c.name === name);
}

/** A command's flags with their shared declaration and the command's own words, plus the global ones. */
export function flagsOf(cmd: CommandSpec): { name: FlagName; spec: FlagSpec; value?: string; description: string }[] {
  const own = cmd.flags.map((f) => {
    const name = typeof f === 'string' ? f : f.flag;
    const spec: FlagSpec = FLAGS[name];
    return typeof f === 'string'
      ? { name, spec, value: spec.value, description: spec.description }
      : { name, spec, value: f.value ?? spec.value, description: f.description };
  });
  const global = GLOBAL_FLAGS.filter((g) => !own.some((o) => o.name === g)).map((name) => ({ name, spec: FLAGS[name] as FlagSpec, value: undefined, description: FLAGS[name].description }));
  return [...own, ...global];
}

/** "-q, --quiet" / "--out FILE" as help shows a flag. */
export function flagLabel(name: string, spec: FlagSpec, value?: string): string {
  const v = spec.type === 'string' ? ` ${value ?? spec.value ?? 'VALUE'}` : '';
  return `${spec.short ? `-${spec.short}, ` : ''}--${name}${v}`;
}
