// The command line's one declaration: parsing, suggestions, per-command help, the man page, and
// the bash/zsh/fish completions are all made from it and agree with the commands that exist.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { completionScript } from '../../src/cli/completion.js';
import { commandHelp, globalHelp } from '../../src/cli/help.js';
import { manPage } from '../../src/cli/manpage.js';
import { parseCommandLine } from '../../src/cli/parse.js';
import { COMMAND_SPECS, ENVIRONMENT, FLAGS, commandSpec, flagsOf } from '../../src/cli/spec.js';
import type { UserError } from '../../src/diagnostics.js';
import { CLI } from '../paths.js';

async function cellctl(args: string[]) {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, env: { CI: 'true' } });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
/** A test title that says when it is skipped and why. */
const needing = (cmd: string, title: string) => (which(cmd) ? title : `${title} — skipped: ${cmd} is not installed`);
const parseError = (argv: string[]) => {
  try {
    parseCommandLine(argv);
  } catch (e) {
    return (e as UserError).diagnostics.map((d) => `${d.message}${d.hint ? ` (${d.hint})` : ''}`).join('\n');
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
};

describe('the declaration', () => {
  it('declares exactly the commands that exist (plus help and version)', () => {
    expect(COMMAND_SPECS.map((c) => c.name).sort()).toEqual([...Object.keys(COMMANDS), 'help', 'version'].sort());
  });

  it('documents every flag, the environment and the exit codes', () => {
    for (const [name, f] of Object.entries(FLAGS)) expect(f.description, name).toMatch(/\w{3}/);
    const help = globalHelp();
    for (const e of ENVIRONMENT) expect(help).toContain(e.name);
    for (const code of ['0', '1', '2', '130']) expect(help).toMatch(new RegExp(`^  ${code}\\s`, 'm'));
    for (const v of ['CELLCTL_STATE_DIR', 'CELLCTL_DEBUG', 'CELLCTL_CACHE_DIR', 'CELLCTL_KDC_MASTER_PASSWORD', 'CELLCTL_PW_', 'CI', 'NO_COLOR']) expect(help).toContain(v);
  });

  it('gives each command its own help, naming every flag it takes', () => {
    const seen = new Set<string>();
    for (const c of COMMAND_SPECS) {
      const h = commandHelp(c);
      expect(seen.has(h), c.name).toBe(false);
      seen.add(h);
      expect(h).toMatch(new RegExp(`^Usage: cellctl ${c.name}\\b`));
      for (const f of flagsOf(c)) expect(h, `${c.name} --${f.name}`).toContain(`--${f.name}`);
      for (const line of h.split('\n')) expect(line.length, `${c.name}: ${line}`).toBeLessThanOrEqual(80);
    }
    // What the issue found missing from the old single usage text.
    for (const f of ['--json', '--skip-compat', '--concurrency N']) expect(commandHelp(commandSpec('smoke')!)).toContain(f);
    expect(commandHelp(commandSpec('validate')!)).toContain('--json');
    expect(commandHelp(commandSpec('apply')!)).toContain('-q, --quiet');
    expect(commandHelp(commandSpec('apply')!)).toContain('130 interrupted');
  });
});

describe('parsing', () => {
  it('types flags from the declaration', () => {
    const p = parseCommandLine(['plan', 'c.yaml', '--json', '--target', 'guest.a', '--target=host.b', '-q', '--out', 'p.plan']);
    expect(p).toMatchObject({ kind: 'run', args: ['c.yaml'], flags: { json: true, target: ['guest.a', 'host.b'], quiet: true, out: 'p.plan' } });
  });

  it('suggests the nearest command and flag', () => {
    expect(parseError(['aply'])).toBe("unknown command 'aply' (did you mean apply?)");
    expect(parseError(['plan', 'c.yaml', '--jsno'])).toBe('unknown flag --jsno for cellctl plan (did you mean --json?)');
    expect(parseError(['plan', 'c.yaml', '--auto-aprove'])).toBe("unknown flag --auto-aprove for cellctl plan (run 'cellctl plan --help' for its options)");
    expect(parseError(['apply', 'c.yaml', '--auto-aprove'])).toBe('unknown flag --auto-aprove for cellctl apply (did you mean --auto-approve?)');
    expect(parseError(['status', 'c.yaml', '--junit', 'x'])).toBe("cellctl status does not take --junit (run 'cellctl status --help' for its options)");
  });

  it('says what a flag or an argument needs', () => {
    expect(parseError(['plan', 'c.yaml', '--out'])).toMatch(/^--out needs a value: --out FILE/);
    expect(parseError(['apply', 'c.yaml', '--driver', 'simm'])).toBe('--driver simm: expected sim, netns, libvirt, qemu, xen (did you mean sim?)');
    expect(parseError(['apply', 'c.yaml', '--json=yes'])).toMatch(/--json takes no value/);
    expect(parseError(['plan'])).toMatch(/^missing CELL.yaml \(usage: cellctl plan CELL.yaml\)/);
    expect(parseError(['plan', 'a.yaml', 'b.yaml'])).toMatch(/^unexpected argument 'b.yaml'/);
  });

  it('takes help and version in the usual places', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['help', 'apply'])).toMatchObject({ kind: 'help', command: { name: 'apply' } });
    expect(parseCommandLine(['apply', '-h'])).toMatchObject({ kind: 'help', command: { name: 'apply' } });
    for (const v of [['-V'], ['--version'], ['version']]) expect(parseCommandLine(v)).toMatchObject({ kind: 'version' });
  });
});

describe('the compiled CLI', () => {
  it('prints per-command help, suggestions and parse errors without a stack', async () => {
    const plan = await cellctl(['plan', '--help']);
    const smoke = await cellctl(['smoke', '--help']);
    expect(plan.code).toBe(0);
    expect(plan.out).not.toBe(smoke.out);
    expect(smoke.out).toContain('--junit FILE');
    const typo = await cellctl(['aply', 'cells/tproa.yaml']);
    expect(typo.code).toBe(1);
    expect(typo.err).toBe("Error: unknown command 'aply' (did you mean apply?)\nRun 'cellctl --help' for the list of commands.");
    const flag = await cellctl(['plan', 'cells/tproa.yaml', '--jsno']);
    expect(flag.err).toBe("Error: unknown flag --jsno for cellctl plan (did you mean --json?)\nRun 'cellctl plan --help' for its usage.");
    expect(flag.err).not.toMatch(/ERR_PARSE_ARGS|\n\s+at /);
    for (const v of [['-V'], ['version'], ['--version']]) expect((await cellctl(v)).out).toMatch(/^cellctl \d+\.\d+\.\d+$/);
    const help = await cellctl(['help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Exit codes:');
  });
});

describe('man page', () => {
  it.skipIf(!which('groff'))(needing('groff', 'is roff that groff formats without warnings'), () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellctl-man-'));
    const file = join(dir, 'cellctl.1');
    writeFileSync(file, manPage('0.0.0'));
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const text = r.stdout.replace(/.\x08/g, '');
    for (const c of COMMAND_SPECS) expect(text).toContain(`cellctl ${c.name}`);
    expect(text).toContain('EXIT STATUS');
    expect(text).toContain('CELLCTL_PW_<PRINCIPAL>');
  });
});

describe('shell completion', () => {
  const catalog = loadCatalog();
  const scripts = mkdtempSync(join(tmpdir(), 'cellctl-completion-'));
  const write = (shell: 'bash' | 'zsh' | 'fish') => {
    const f = join(scripts, `cellctl.${shell}`);
    writeFileSync(f, completionScript(shell, catalog));
    return f;
  };

  it.skipIf(!which('bash'))(needing('bash', 'bash: commands, flags, flag values, files, finding codes and catalog ids'), () => {
    const f = write('bash');
    const complete = (line: string) => {
      const words = line.split(' ');
      const script = `source ${f}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _cellctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync('bash', ['-c', script], { encoding: 'utf8', cwd: join(import.meta.dirname, '..', '..') }).trim().split('\n').filter(Boolean);
    };
    expect(complete('cellctl ap')).toEqual(['apply']);
    expect(complete('cellctl plan cells/tproa.yaml --de')).toEqual(['--detailed-exitcode', '--destroy']);
    expect(complete('cellctl apply cells/tproa.yaml --driver ')).toEqual(['sim', 'netns', 'libvirt', 'qemu', 'xen']);
    expect(complete('cellctl explain module-gpl')).toEqual(['module-gpl-only-symbol']);
    expect(complete('cellctl catalog kernels linux-2.6.16-')).toEqual(['linux-2.6.16-xen-3.0.2']);
    expect(complete('cellctl validate cells/tpr').sort()).toEqual(['cells/tproa-2hosts.yaml', 'cells/tproa-3db.yaml', 'cells/tproa-full.yaml', 'cells/tproa.yaml']);
    expect(complete('cellctl state ')).toEqual(['list', 'show']);
    expect(complete('cellctl state show cells/tproa.yaml --state-dir /tmp ')).toEqual([]);
  });

  it.skipIf(!which('zsh'))(needing('zsh', 'zsh: the script parses and registers _cellctl'), () => {
    const f = write('zsh');
    expect(spawnSync('zsh', ['-n', f]).status).toBe(0);
    const r = spawnSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -D && source ${f} && print -r -- $_comps[cellctl]`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('_cellctl');
  });

  it.skipIf(!which('fish'))(needing('fish', 'fish: commands, flags and their values complete'), () => {
    const f = write('fish');
    const complete = (line: string) =>
      execFileSync('fish', ['--no-config', '-c', `source ${f}; complete -C '${line}'`], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split('\t')[0]);
    expect(complete('cellctl ap')).toContain('apply');
    expect(complete('cellctl apply x.yaml --auto')).toContain('--auto-approve');
    expect(complete('cellctl apply x.yaml --driver ')).toEqual(expect.arrayContaining(['sim', 'netns', 'libvirt']));
    expect(complete('cellctl explain ')).toContain('module-gpl-only-symbol');
  });
});
