// The README's examples work after its set-up (`npx cellctl ...` from the repository), and it
// names no file that does not exist.
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/parse.js';
import { CLI, ROOT } from '../paths.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** `npx cellctl ...` lines of the README's indented examples, without their comments. */
const examples = README.split('\n')
  .filter((l) => /^ {4}npx cellctl /.test(l))
  .map((l) => l.trim().replace(/\s+#.*$/, '').replace(/\s+[>|].*$/, '').replace(/^npx cellctl /, '').split(/\s+/));
/** Placeholders the reader fills in (MODULE.ko) are not files. */
const isPath = (w: string) => /^[\w.-]+\/[\w./-]*$/.test(w) && !/[A-Z]{3}/.test(w);

describe('README', () => {
  it('has examples, each a command line cellctl accepts, naming files that exist', () => {
    expect(examples.length).toBeGreaterThanOrEqual(15);
    for (const args of examples) {
      expect(parseCommandLine(args).kind, args.join(' ')).toBe('run');
      for (const w of args.filter(isPath).filter((w) => !w.startsWith('--'))) {
        if (args[args.indexOf(w) - 1] === '--out' || args[args.indexOf(w) - 1] === '--junit') continue; // written by the command
        expect(existsSync(join(ROOT, w)), `${args.join(' ')}: ${w}`).toBe(true);
      }
    }
    // Every example the README gives (outside the commands' own --help text) says npx.
    const prose = README.slice(0, README.indexOf('<!-- BEGIN generated help'));
    expect(prose).not.toMatch(/^ {4}cellctl /m);
    expect(prose).not.toMatch(/(?<!npx )cellctl (validate|plan|apply|smoke) cells/);
    expect(README).not.toContain('cells/two.yaml');
  });

  it('links only to files that exist', () => {
    for (const m of README.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
      if (/^https?:/.test(m[1])) continue;
      expect(existsSync(join(ROOT, m[1])), m[1]).toBe(true);
    }
    for (const m of README.matchAll(/`((?:cells|docs|schemas|src|test)\/[\w./-]+)`/g)) {
      if (m[1].includes('<') || m[1].includes('*')) continue;
      expect(existsSync(join(ROOT, m[1])), m[1]).toBe(true);
    }
  });

  it("the examples under 'Using it' run in order from a fresh checkout's directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellctl-readme-'));
    cpSync(join(ROOT, 'cells'), join(dir, 'cells'), { recursive: true });
    cpSync(join(ROOT, 'test', 'fixtures'), join(dir, 'test', 'fixtures'), { recursive: true });
    const env = { CI: 'true', CELLCTL_STATE_DIR: join(dir, 'state') };
    const using = README.slice(README.indexOf('## Using it'), README.indexOf('### Terraform habits'));
    const block = examples.filter((args) => using.includes(`npx cellctl ${args.join(' ')}`));
    expect(block.length).toBeGreaterThanOrEqual(15);
    for (const args of block) {
      // A script cannot type yes: destroy gets --auto-approve, as the README says for scripts.
      const run = args[0] === 'destroy' && !args.includes('--auto-approve') ? [...args, '--auto-approve'] : args;
      const r = await execa(process.execPath, [CLI, ...run], { cwd: dir, env, reject: false });
      // The one example that fails on purpose: reproducing the unknown-symbol refusal.
      const expected = args.includes('--skip-compat') ? 1 : 0;
      expect(r.exitCode, `${run.join(' ')}\n${String(r.stdout).slice(-400)}\n${String(r.stderr).slice(-400)}`).toBe(expected);
    }
    expect(existsSync(join(dir, 'libvirt-xml', 'service-m1.xml'))).toBe(true);
    expect(existsSync(join(dir, 'out.xml'))).toBe(true);
  });
});
