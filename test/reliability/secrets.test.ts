// Secrets never leave secrets.json: not on stdout or stderr of any command, not in the JUnit file,
// not in state.json; and both state files are private (0600).
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cellctl, ensureBuilt, ROOT, tempDir } from './helpers.js';

const CELL = 'tproa.net'; // principals kula and kula/admin, a KDC, an AFS cell
let dir: string;
let file: string;

/** Every captured text, by where it came from, so a failure says which command leaked. */
type Outputs = Record<string, string>;

async function run(outputs: Outputs, label: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const r = await cellctl(args, { env });
  outputs[`${label} stdout`] = r.stdout;
  outputs[`${label} stderr`] = r.stderr;
  return r.exitCode ?? -1;
}

function leaks(outputs: Outputs, secrets: string[]): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(outputs)) {
    for (const s of secrets) if (text.includes(s)) found.push(`${where} contains secret ${s.slice(0, 3)}…`);
  }
  return found;
}

function secretValues(stateDir: string): string[] {
  const f = join(stateDir, CELL, 'secrets.json');
  return Object.values(JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>);
}

function expectPrivate(stateDir: string): void {
  for (const name of ['state.json', 'secrets.json']) {
    const f = join(stateDir, CELL, name);
    expect(existsSync(f), `${name} missing`).toBe(true);
    expect((statSync(f).mode & 0o777).toString(8), `${name} mode`).toBe('600');
  }
}

beforeAll(() => {
  ensureBuilt();
  dir = tempDir('secrets');
  file = join(dir, 'tproa.yaml');
  copyFileSync(join(ROOT, 'cells/tproa.yaml'), file);
});

describe('secrets', () => {
  it('generated secrets appear in no output of plan, apply, status, console, and not in state.json', async () => {
    const stateDir = join(dir, 'generated');
    const outputs: Outputs = {};
    const sd = ['--state-dir', stateDir];
    expect(await run(outputs, 'plan', ['plan', file, ...sd])).toBe(0);
    expect(await run(outputs, 'plan --json', ['plan', file, ...sd, '--json'])).toBe(0);
    expect(await run(outputs, 'apply', ['apply', file, ...sd])).toBe(0);
    expect(await run(outputs, 'plan after apply', ['plan', file, ...sd, '--json'])).toBe(0);
    expect(await run(outputs, 'status', ['status', file, ...sd])).toBe(0);
    expect(await run(outputs, 'status --json', ['status', file, ...sd, '--json'])).toBe(0);
    expect(await run(outputs, 'console', ['console', file, ...sd])).toBe(0);
    const secrets = secretValues(stateDir);
    // The KDC master password, both principals' passwords and the random keys: nothing to scan would prove nothing.
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    expect(leaks(outputs, secrets)).toEqual([]);
    const state = readFileSync(join(stateDir, CELL, 'state.json'), 'utf8');
    expect(leaks({ 'state.json': state }, secrets)).toEqual([]);
    expectPrivate(stateDir);
    // destroy too (it prints the plan of what goes)
    expect(await run(outputs, 'destroy', ['destroy', file, ...sd, '--auto-approve'])).toBe(0);
    expect(leaks(outputs, secrets)).toEqual([]);
  }, 60_000);

  it('secrets given in the environment appear in no output, including smoke --json and its JUnit file', async () => {
    const env = {
      CELLCTL_KDC_MASTER_PASSWORD: 'Master-Secret-0b3f9a',
      CELLCTL_PW_KULA: 'Kula-Secret-77e1c2',
      CELLCTL_PW_KULA_ADMIN: 'KulaAdmin-Secret-5d40aa',
    };
    const known = Object.values(env);
    const stateDir = join(dir, 'env');
    const junit = join(dir, 'smoke.xml');
    const outputs: Outputs = {};
    const sd = ['--state-dir', stateDir];
    await run(outputs, 'smoke --json', ['smoke', file, '--junit', junit, '--json'], env);
    await run(outputs, 'smoke', ['smoke', file], env);
    expect(existsSync(junit), 'smoke wrote no JUnit file').toBe(true);
    outputs['junit file'] = readFileSync(junit, 'utf8');
    const report = JSON.parse(outputs['smoke --json stdout']) as { checks: { kind: string }[] };
    // kinit and client token checks are the ones that use the passwords.
    expect(report.checks.some((c) => c.kind === 'kinit' || c.kind === 'client-tokens')).toBe(true);
    expect(await run(outputs, 'apply', ['apply', file, ...sd], env)).toBe(0);
    expect(await run(outputs, 'status', ['status', file, ...sd], env)).toBe(0);
    expect(await run(outputs, 'console', ['console', file, ...sd], env)).toBe(0);
    // The environment was used: the store generated no passwords of its own for these.
    const stored = Object.keys(JSON.parse(readFileSync(join(stateDir, CELL, 'secrets.json'), 'utf8')) as object);
    expect(stored.filter((k) => k === 'kdc-master' || k.startsWith('principal:'))).toEqual([]);
    const all = [...known, ...secretValues(stateDir)];
    expect(leaks(outputs, all)).toEqual([]);
    expect(leaks({ 'state.json': readFileSync(join(stateDir, CELL, 'state.json'), 'utf8') }, all)).toEqual([]);
    expectPrivate(stateDir);
  }, 60_000);
});
