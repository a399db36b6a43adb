// --json wherever it is accepted: apply/destroy as a stream of terraform-style events, validate's
// diagnostics even for an unreadable file, smoke's report, and the smaller commands.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CELLS, CLI, FIXTURES } from '../paths.js';

async function cellctl(args: string[]) {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, env: { CI: 'true' } });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}
const lines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l));

function scratch(cell = 'tproa.yaml') {
  const dir = mkdtempSync(join(tmpdir(), 'cellctl-json-'));
  const file = join(dir, cell);
  copyFileSync(join(CELLS, cell), file);
  return { dir, file, sd: ['--state-dir', join(dir, 'state')] };
}

describe('apply and destroy --json', () => {
  it('stream one event per line: version, diagnostics, planned changes, a start and an end per step, the outcome', async () => {
    const t = scratch();
    const r = await cellctl(['apply', t.file, ...t.sd, '--json']);
    expect(r.code).toBe(0);
    const events = lines(r.out);
    for (const e of events) expect(Object.keys(e).slice(0, 5)).toEqual(['@level', '@message', '@module', '@timestamp', 'type']);
    expect(events[0]).toMatchObject({ type: 'version', cellctl: expect.stringMatching(/^\d/) });
    expect(events.filter((e) => e.type === 'diagnostic')).toEqual([expect.objectContaining({ '@level': 'warn', diagnostic: expect.objectContaining({ code: 'arla-panic-reports', range: expect.objectContaining({ start: { line: 41, column: 26 } }) }) })]);
    expect(events.filter((e) => e.type === 'planned_change')).toHaveLength(15);
    const starts = events.filter((e) => e.type === 'apply_start');
    const ends = events.filter((e) => e.type === 'apply_complete');
    expect(starts).toHaveLength(15);
    expect(ends.map((e) => e.hook.resource.addr)).toEqual(starts.map((e) => e.hook.resource.addr));
    expect(ends.find((e) => e.hook.resource.addr === 'guest.service-m1')).toMatchObject({
      '@message': expect.stringMatching(/^guest\.service-m1: Creation complete after \d+(\.\d{1,3})?s$/),
      hook: { action: 'create', resource: { resource_type: 'guest', resource_name: 'service-m1' }, outputs: { domid: 1 } },
    });
    expect(events.filter((e) => e.type === 'log').map((e) => e['@message'])).toContain('Started domain service-m1 (id 1) on kraken');
    expect(events.at(-1)).toMatchObject({ type: 'change_summary', '@message': 'Apply complete! Resources: 15 added, 0 changed, 0 destroyed.', changes: { add: 15, operation: 'apply' } });

    const d = lines((await cellctl(['destroy', t.file, ...t.sd, '--json', '--auto-approve'])).out);
    expect(d.filter((e) => e.type === 'apply_complete').every((e) => e.hook.action === 'delete')).toBe(true);
    expect(d.at(-1)).toMatchObject({ type: 'change_summary', changes: { remove: 15, operation: 'destroy' } });
  });

  it('a failed step is apply_errored, and an error before anything runs is a diagnostic', async () => {
    const t = scratch('awesmoe.yaml');
    const r = await cellctl(['apply', t.file, ...t.sd, '--json', '--skip-compat']);
    expect(r.code).toBe(1);
    const events = lines(r.out);
    expect(events.find((e) => e.type === 'apply_errored')).toMatchObject({ '@level': 'error', hook: { resource: { addr: 'module.shea.openafs' } } });
    expect(events.filter((e) => e.type === 'apply_skipped').length).toBeGreaterThan(0);
    const missing = await cellctl(['apply', join(t.dir, 'nope.yaml'), '--json']);
    expect(missing.code).toBe(1);
    expect(lines(missing.out).at(-1)).toMatchObject({ type: 'diagnostic', diagnostic: { severity: 'error', summary: expect.stringContaining('does not exist') } });
  });
});

describe('validate --json', () => {
  it('prints terraform-style diagnostics on stdout, also for a cell file that cannot be read', async () => {
    const ok = JSON.parse((await cellctl(['validate', join(CELLS, 'tproa.yaml'), '--json'])).out);
    expect(ok).toMatchObject({ format_version: '1.0', valid: true, error_count: 0, warning_count: 1, cell: 'tproa.net' });
    const refused = await cellctl(['validate', join(CELLS, 'awesmoe.yaml'), '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out).diagnostics[0]).toMatchObject({ severity: 'error', code: 'module-gpl-only-symbol', address: 'module.shea.openafs', detail: expect.stringMatching(/^fix: /) });
    const dir = mkdtempSync(join(tmpdir(), 'cellctl-json-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'cell: x.test\nhosts: {}\nguests: {}\nkerberos: { sofware: heimdal-0.72, kdcs: [a] }\n');
    const r = await cellctl(['validate', bad, '--json']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ valid: false, error_count: expect.any(Number) });
    expect(j.diagnostics).toContainEqual(expect.objectContaining({ summary: "unknown key 'sofware' in kerberos", detail: 'did you mean software?', range: { filename: bad, start: { line: 4, column: 13 } } }));
  });
});

describe('smoke --json', () => {
  it('keeps the checks apart from apply, teardown and warnings, with seconds rounded to the millisecond', async () => {
    const r = await cellctl(['smoke', join(CELLS, 'tproa.yaml'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ format_version: '2', result: 'passed', summary: { checks: 19, passed: 19, failed: 0, skipped: 0, warnings: 1 }, apply: { status: 'pass', resources: 15 }, teardown: { status: 'pass', resources: 15 } });
    expect(j.warnings[0].code).toBe('arla-panic-reports');
    expect(j.checks.map((c: any) => c.kind)).not.toContain('caveat');
    const seconds = [j.seconds, j.apply.seconds, j.teardown.seconds, ...j.checks.map((c: any) => c.seconds)];
    for (const s of seconds) expect(String(s)).toMatch(/^\d+(\.\d{1,3})?$/);
    expect(j.checks.find((c: any) => c.id === 'client-file-rw.service-m1').needs).toEqual(['token-accepted-by-fileserver.service-m1', 'afs-resolves.service-m1', 'kinit.kula/admin@service-m1']);
  });
});

describe('the other commands', () => {
  it('status, console, state, export, migrate, catalog, explain and version print JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cellctl-json-'));
    const sd = ['--state-dir', dir];
    const cell = join(FIXTURES, 'two-hosts.yaml');
    expect((await cellctl(['apply', cell, ...sd, '-q'])).code).toBe(0);
    for (const args of [['status', cell], ['console', cell, 'mobile'], ['state', 'list', cell], ['export', cell, '--out', join(dir, 'xl')], ['migrate', cell, 'mobile', '--to', 'squid']]) {
      const r = await cellctl([...args, ...sd, '--json']);
      expect(r.code, args.join(' ')).toBe(0);
      expect(() => JSON.parse(r.out), `${args.join(' ')}: ${r.out}`).not.toThrow();
    }
    expect(JSON.parse((await cellctl(['console', cell, 'mobile', ...sd, '--json'])).out)[0]).toMatchObject({ guest: 'mobile', text: expect.stringContaining('Linux version') });
    expect(JSON.parse((await cellctl(['catalog', '--json'])).out).xen).toContain('3.0.2');
    expect(JSON.parse((await cellctl(['explain', 'duplicate-mac', '--json'])).out)).toMatchObject({ code: 'duplicate-mac', severity: 'error' });
    expect(JSON.parse((await cellctl(['version', '--json'])).out)).toMatchObject({ cellctl: expect.any(String) });
  });
});
