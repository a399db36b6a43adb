// End to end through the compiled CLI on the simulated hypervisor, each command its own process.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCell } from '../../bench/gen.js';
import { differences, normalise } from '../reliability/helpers.js';
import { CELLS, CLI, FIXTURES } from '../paths.js';


async function cellctl(args: string[], env: Record<string, string> = {}) {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, env: { CI: 'true', ...env } });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

function scratch(cell: string): { dir: string; file: string; state: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cellctl-cli-'));
  const file = join(dir, cell);
  copyFileSync(join(CELLS, cell), file);
  return { dir, file, state: join(dir, 'state') };
}

beforeAll(() => {
  statSync(CLI); // npm test compiles first; a missing build is an error, not a skip
});

describe('tproa.net on the simulated hypervisor', () => {
  const t = scratch('tproa.yaml');
  const sd = ['--state-dir', t.state];

  it('plans, applies, shows status and console, is idempotent, destroys', async () => {
    const plan = await cellctl(['plan', t.file, ...sd]);
    expect(plan.code).toBe(0);
    expect(plan.out).toContain('+ guest.service-m1');
    expect(plan.out).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy\./);
    expect(plan.out).toContain('[arla-panic-reports]');

    const apply = await cellctl(['apply', t.file, ...sd]);
    expect(apply.err).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.out).toMatch(/\+ guest.service-m1: created/);
    expect(apply.out).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed\./);

    const status = await cellctl(['status', t.file, ...sd]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/kraken\s+1024\s+512\s+512/);
    expect(status.out).toMatch(/Domain-0/);
    expect(status.out).toMatch(/service-m1\s+kraken\s+\S+\s+256/);
    expect(status.out).toContain('Drift: none');

    const console = await cellctl(['console', t.file, 'service-m1', ...sd]);
    expect(console.code).toBe(0);
    expect(console.out).toContain('NetBSD 3.1 (XEN3_DOMU-nodebug) #0: Thu Nov 9 20:52:31 CST 2006');
    expect(console.out).toContain('total memory = 252 MB');
    expect(console.out).toContain('avail memory = 246 MB');

    const again = await cellctl(['apply', t.file, ...sd]);
    expect(again.code).toBe(0);
    expect(again.out.match(/No changes\./g)).toHaveLength(1); // said once
    expect((await cellctl(['plan', t.file, ...sd, '--detailed-exitcode'])).code).toBe(0);

    const refused = await cellctl(['destroy', t.file, ...sd]);
    expect(refused.code).toBe(1); // stdin is not a terminal: no one to say yes
    expect(refused.err).toContain('refusing to destroy without a yes: the plan destroys 15 resources');
    expect(refused.err).toContain('--auto-approve');
    const destroy = await cellctl(['destroy', t.file, ...sd, '--auto-approve']);
    expect(destroy.code).toBe(0);
    expect(destroy.out).toMatch(/Destroy complete! Resources: 0 added, 0 changed, \d+ destroyed\./);
    expect((await cellctl(['plan', t.file, ...sd, '--detailed-exitcode'])).code).toBe(2);
  });

  it('applies only what changed: memory balloon in place, a removed volume alone', async () => {
    const u = scratch('tproa.yaml');
    const s = ['--state-dir', u.state];
    // A volume besides root.afs and root.cell, which the client needs (afs-root-volume-missing).
    writeFileSync(u.file, readFileSync(u.file, 'utf8').replace(/( {4}- \{ name: root\.cell.*\n)/, '$1    - { name: home, server: service-m1, partition: /vicepa }\n'));
    expect((await cellctl(['apply', u.file, ...s])).code).toBe(0);
    const text = readFileSync(u.file, 'utf8');
    writeFileSync(u.file, text.replace('    memory: 256', '    memory: 200\n    maxmem: 256'));
    // maxmem now written out equals the old implicit one, so only memory changes.
    const plan = await cellctl(['plan', u.file, ...s, '--json']);
    const changes = JSON.parse(plan.out).resource_changes.filter((c: any) => c.change.actions[0] !== 'no-op');
    expect(changes).toEqual([expect.objectContaining({ address: 'guest.service-m1', change: expect.objectContaining({ actions: ['update'], changed: ['memory'] }) })]);
    const apply = await cellctl(['apply', u.file, ...s]);
    expect(apply.out).toContain('~ guest.service-m1: updated');
    expect(apply.out).toContain('Resources: 0 added, 1 changed, 0 destroyed.');
    const status = await cellctl(['status', u.file, ...s]);
    expect(status.out).toMatch(/service-m1\s+kraken\s+\S+\s+200/);

    writeFileSync(u.file, readFileSync(u.file, 'utf8').replace(/    - \{ name: home.*\n/, ''));
    const asks = await cellctl(['apply', u.file, ...s]);
    expect(asks.code).toBe(1); // a plan that destroys needs a yes
    expect(asks.err).toContain('the plan destroys 1 resource,');
    const shrink = await cellctl(['apply', u.file, ...s, '--auto-approve']);
    expect(shrink.out).toContain('- volume.home: destroyed');
    expect(shrink.out).toContain('Resources: 0 added, 0 changed, 1 destroyed.');
  });

  it('smoke passes and writes JUnit', async () => {
    const junit = join(t.dir, 'out.xml');
    const r = await cellctl(['smoke', t.file, '--junit', junit]);
    expect(r.out).toMatch(/Smoke tproa.net: 19 passed, 0 failed, 0 skipped; 1 warning\(s\)\./);
    expect(r.code).toBe(0);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.tproa.net.checks" [^>]* tests="19" failures="0" errors="0" skipped="0"/);
    expect(xml).toMatch(/fs listquota \/afs\/tproa\.net: root\.cell quota \d+ KB, \d+ KB used/); // the sim models quotas (cell file v2)
    expect(xml).toContain('kinit kula@TPROA.NET from service-m1');
    // The Arla caveat is a warning: a property and a line of output, not a passing testcase.
    expect(xml).toContain('<property name="warning.arla-panic-reports"');
    expect(xml).not.toMatch(/<testcase name="[^"]*arla-panic-reports/);
    // Apply and teardown stand apart from the checks, with their real times.
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.tproa.net.lifecycle" [^>]* tests="2" failures="0"/);
    expect(xml).toMatch(/<testcase name="teardown" classname="cellctl.smoke.tproa.net.lifecycle" time="(?!0\.000)\d+\.\d{3}"/);
  });
});

describe('determinism', () => {
  it('the same cell applied twice gives the same state, sim world, consoles and logs', async () => {
    const runs = [];
    for (const _ of [1, 2]) {
      const dir = mkdtempSync(join(tmpdir(), 'cellctl-det-'));
      const file = join(dir, 'cell.yaml');
      writeFileSync(file, generateCell(40, { cell: 'det.test' }));
      const sd = ['--state-dir', join(dir, 'state')];
      expect((await cellctl(['apply', file, ...sd])).code).toBe(0);
      const state = JSON.parse(readFileSync(join(dir, 'state', 'det.test', 'state.json'), 'utf8'));
      delete state.file;
      delete state.serial; // how often state was saved on the way
      delete state.lineage; // the state's identity: random, as terraform's
      delete state.integrity; // its checksum covers the two above
      runs.push({ state: normalise(state), console: (await cellctl(['console', file, ...sd])).out });
    }
    expect(differences(runs[1], runs[0])).toEqual([]);
    expect(runs[0].console).toMatch(/^Using config file "g00"\.$/m);
  });
});

describe('awesmoe.org: the unknown symbol hustle', () => {
  it('plan refuses naming both symbols and the fix', async () => {
    const t = scratch('awesmoe.yaml');
    const r = await cellctl(['plan', t.file, '--state-dir', t.state]);
    expect(r.code).toBe(1);
    const all = r.out + r.err;
    expect(all).toContain('[module-gpl-only-symbol]');
    expect(all).toContain('force_evtchn_callback');
    expect(all).toContain('xen_features');
    expect(all).toMatch(/3\.0\.3/);
    const apply = await cellctl(['apply', t.file, '--state-dir', t.state]);
    expect(apply.code).toBe(1);
    expect(apply.err).toContain('nothing was changed');
  });

  it('smoke --skip-compat reproduces the kernel log in the JUnit failure', async () => {
    const t = scratch('awesmoe.yaml');
    const junit = join(t.dir, 'out.xml');
    const r = await cellctl(['smoke', t.file, '--skip-compat', '--junit', junit]);
    expect(r.code).toBe(1);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<failure');
    expect(xml).toContain('openafs: module license &apos;http://www.openafs.org/dl/license10.html&apos; taints kernel.');
    expect(xml).toContain('openafs: Unknown symbol force_evtchn_callback');
    expect(xml).toContain('openafs: Unknown symbol xen_features');
    // One root cause, one failure: the apply; the checks that need what it did not apply are skipped.
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.awesmoe.org.lifecycle" [^>]* tests="2" failures="1"/);
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.awesmoe.org.checks" [^>]* tests="16" failures="0" errors="0" skipped="15"/);
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.awesmoe.org.compat" [^>]* tests="1" failures="0" errors="0" skipped="1"/);
    expect(r.out).toContain('Smoke awesmoe.org: 1 passed, 0 failed, 15 skipped. Apply failed.');
    expect(r.out).toContain('SKIP  AFS client module loaded on shea: not run: module.shea.openafs was not applied (apply stopped at module.shea.openafs)');
  });

  it('smoke of a refused cell still writes the JUnit file, and so does a cell that cannot be read', async () => {
    const t = scratch('awesmoe.yaml');
    const junit = join(t.dir, 'refused.xml');
    const r = await cellctl(['smoke', t.file, '--junit', junit]);
    expect(r.code).toBe(1);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.awesmoe.org.compat" [^>]* tests="1" failures="1"/);
    expect(xml).toContain('type="module-gpl-only-symbol"');
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.awesmoe.org.checks" [^>]* skipped="16"/);
    expect(xml).not.toContain('lifecycle'); // nothing was applied

    const bad = join(t.dir, 'bad.yaml');
    writeFileSync(bad, 'cell: x.test\nhosts: {}\nguests: {}\nkerberos: { sofware: heimdal-0.72 }\n');
    const badXml = join(t.dir, 'bad.xml');
    const b = await cellctl(['smoke', bad, '--junit', badXml]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/bad\.yaml:4:\d+: unknown key 'sofware'/);
    expect(readFileSync(badXml, 'utf8')).toMatch(/<testsuite name="cellctl.smoke.[^"]*bad.yaml.load" [^>]* tests="1" failures="1"/);
  });

  it('the fixed cell on Xen 3.0.3 passes smoke', async () => {
    const t = scratch('awesmoe-fixed.yaml');
    const r = await cellctl(['smoke', t.file]);
    expect(r.out).toMatch(/0 failed/);
    expect(r.code).toBe(0);
  });
});

describe('live migration', () => {
  const fixture = join(FIXTURES, 'two-hosts.yaml');
  it('moves a guest on shared storage, refuses the others with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellctl-mig-'));
    const sd = ['--state-dir', dir];
    expect((await cellctl(['apply', fixture, ...sd])).code).toBe(0);
    const ok = await cellctl(['migrate', fixture, 'mobile', '--to', 'squid', ...sd]);
    expect(ok.out).toContain('Migrated mobile from kraken to squid');
    expect(ok.code).toBe(0);
    const status = await cellctl(['status', fixture, ...sd]);
    expect(status.out).toMatch(/mobile\s+squid/);
    expect(status.out).toMatch(/squid\s+512\s+384\s+128/);

    const storage = await cellctl(['migrate', fixture, 'local', '--to', 'squid', ...sd]);
    expect(storage.code).toBe(1);
    expect(storage.err).toContain('/local/xen/local/disk.img');
    const bridge = await cellctl(['migrate', fixture, 'big', '--to', 'octopus', ...sd]);
    expect(bridge.code).toBe(1);
    expect(bridge.err).toContain('bridge3');
    const memory = await cellctl(['migrate', fixture, 'big', '--to', 'squid', ...sd]);
    expect(memory.code).toBe(1);
    expect(memory.err).toMatch(/memory|MiB|MB/i);
  });
});

describe('bad input', () => {
  it('names file:line:col, exits 1, prints no stack, touches no state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellctl-bad-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync(join(CELLS, 'tproa.yaml'), 'utf8').replace('    memory: 256', '    memroy: 256'));
    const r = await cellctl(['apply', file, '--state-dir', join(dir, 'state')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: .*memroy`));
    expect(r.err).toContain('did you mean memory?');
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(() => statSync(join(dir, 'state'))).toThrow();
    for (const args of [['plan', join(dir, 'missing.yaml')], ['plan', dir], ['frobnicate'], ['plan']]) {
      const x = await cellctl(args);
      expect(x.code).toBe(1);
      expect(x.err).toMatch(/^Error: /m);
      expect(x.err).not.toMatch(/\n\s+at /);
    }
  });
});
