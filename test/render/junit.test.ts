// smoke's JUnit report against the schemas CI systems use (Jenkins xunit junit-10.xsd, Ant's
// JUnit.xsd; copies and their sources in xsd/), for every way a smoke run can end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/compat/types.js';
import type { CheckRun, SmokeReport } from '../../src/ops/smoke.js';
import { junitXml } from '../../src/render/junit.js';
import { smoke } from '../../src/ops/smoke.js';
import { CELLS } from '../paths.js';

const XSD = join(import.meta.dirname, 'xsd');
const hasXmllint = spawnSync('sh', ['-c', 'command -v xmllint']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'cellctl-junit-'));

function validate(xml: string, xsd: string): string {
  const file = join(dir, `r${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', join(XSD, xsd), file], { encoding: 'utf8' });
  return r.status === 0 ? 'valid' : r.stderr;
}

const warning: Finding = { code: 'arla-panic-reports', severity: 'warning', subject: 'afs-client.m1', message: 'isolated reports of domU panics', fix: 'keep the console' };
const refusal: Finding = { code: 'module-gpl-only-symbol', severity: 'error', subject: 'module.shea.openafs', message: "openafs: Unknown symbol force_evtchn_callback & <xen_features> \u0001", fix: 'use Xen 3.0.3' };
const check = (id: string, status: 'pass' | 'fail' | 'skip', message = 'ok'): CheckRun => ({
  check: { id, kind: 'kinit', name: `check ${id} "quoted"`, guest: 'm1', params: {}, resources: [], needs: [] },
  result: { status, message, ...(status === 'fail' ? { detail: 'kinit: Cannot find KDC\nline 2' } : {}) }, seconds: 0.0123,
});
const base: SmokeReport = {
  cell: 'tproa.net', file: '/x/tproa.yaml', driver: 'sim', started: new Date('2024-05-06T07:08:09.123Z'), hostname: 'ci-agent', seconds: 1,
  refused: [], compatSkipped: false, warnings: [warning], checks: [], interrupted: false,
};
const REPORTS: Record<string, SmokeReport> = {
  passed: { ...base, apply: { status: 'pass', message: '15 resources applied', seconds: 0.1, resources: 15 }, checks: [check('a', 'pass'), check('b', 'pass')], teardown: { status: 'pass', message: '15 resources destroyed', seconds: 0.05, resources: 15 } },
  'a failed check and its skipped dependents': {
    ...base, apply: { status: 'pass', message: 'ok', seconds: 0.1, resources: 15 },
    checks: [check('a', 'fail', 'no KDC'), check('b', 'skip', "not run: needs 'a', which failed")],
    teardown: { status: 'fail', message: 'guest.m1: xm destroy failed', seconds: 0.2, resources: 3 },
  },
  'apply failed': { ...base, apply: { status: 'fail', message: 'module.shea.openafs: FATAL', detail: 'openafs: Unknown symbol xen_features', seconds: 0.1, resources: 2, failedAt: 'module.shea.openafs' }, checks: [check('a', 'skip', 'not run')], teardown: { status: 'pass', message: 'ok', seconds: 0.01, resources: 2 } },
  'refused by compat': { ...base, refused: [refusal], checks: [check('a', 'skip', 'not run: refused')] },
  'compat skipped': { ...base, refused: [refusal], compatSkipped: true, apply: { status: 'pass', message: 'ok', seconds: 0.1, resources: 1 }, checks: [], teardown: { status: 'pass', message: 'ok', seconds: 0, resources: 1 } },
  'unreadable cell file': { ...base, cell: '/x/bad.yaml', driver: undefined, warnings: [], loadError: [{ message: "unknown key 'memroy'", pos: { file: '/x/bad.yaml', line: 3, col: 5 }, hint: 'did you mean memory?' }] },
};

describe('JUnit XML', () => {
  for (const [name, report] of Object.entries(REPORTS)) {
    it.skipIf(!hasXmllint)(`${name}: valid against junit-10.xsd and Ant's JUnit.xsd${hasXmllint ? '' : ' — skipped: xmllint is not installed (libxml2-utils)'}`, () => {
      const xml = junitXml(report);
      expect(validate(xml, 'junit-10.xsd')).toBe('valid');
      expect(validate(xml, 'ant-junit.xsd')).toBe('valid');
    });
  }

  it.skipIf(!hasXmllint)(`real smoke runs on the sim are valid too${hasXmllint ? '' : ' — skipped: xmllint is not installed (libxml2-utils)'}`, async () => {
    for (const [cell, skipCompat] of [['tproa.yaml', false], ['awesmoe.yaml', false], ['awesmoe.yaml', true]] as const) {
      const r = await smoke(join(CELLS, cell), { signal: new AbortController().signal, skipCompat });
      const xml = junitXml(r);
      expect(validate(xml, 'junit-10.xsd'), cell).toBe('valid');
      expect(validate(xml, 'ant-junit.xsd'), cell).toBe('valid');
    }
  });

  it('has a timestamp and hostname on every suite, and warnings only as properties and output', () => {
    const xml = junitXml(REPORTS.passed);
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    expect(xml.match(/timestamp="2024-05-06T07:08:09" hostname="ci-agent"/g)).toHaveLength(2);
    expect(xml).toContain('<property name="warning.arla-panic-reports" value="afs-client.m1: isolated reports of domU panics"/>');
    expect(xml).toContain('Warning: [arla-panic-reports] afs-client.m1: isolated reports of domU panics');
    expect(xml).not.toMatch(/<testcase name="[^"]*arla/);
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.tproa.net.checks" [^>]*tests="2" failures="0" errors="0" skipped="0"/);
  });

  it('counts a skipped dependent as skipped, a failed teardown in the lifecycle suite', () => {
    const xml = junitXml(REPORTS['a failed check and its skipped dependents']);
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.tproa.net.checks" [^>]*tests="2" failures="1" errors="0" skipped="1"/);
    expect(xml).toMatch(/<testsuite name="cellctl.smoke.tproa.net.lifecycle" [^>]*tests="2" failures="1"/);
    expect(xml).toContain('<testcase name="teardown" classname="cellctl.smoke.tproa.net.lifecycle" time="0.200">');
  });

  it('escapes what XML cannot carry', () => {
    const xml = junitXml(REPORTS['refused by compat']);
    expect(xml).toContain('force_evtchn_callback &amp; &lt;xen_features&gt; ');
    expect(xml).not.toContain('\u0001');
  });
});
