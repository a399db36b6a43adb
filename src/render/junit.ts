// JUnit XML, one testcase per check; what CI systems read.
import type { CheckResult, Check } from '../drivers/driver.js';
import { xmlEscape } from './xml.js';

/** A smoke step: a driver check, or one of smoke's own (compat, apply, teardown). */
export interface SmokeStep { id: string; kind: Check['kind'] | 'compat' | 'caveat' | 'apply'; name: string; guest?: string }
export interface CheckRun { check: SmokeStep; result: CheckResult; seconds: number }

const esc = (s: string) => xmlEscape(s, 'strip');

export function junitXml(suite: string, runs: CheckRun[]): string {
  const failures = runs.filter((r) => r.result.status === 'fail').length;
  const skipped = runs.filter((r) => r.result.status === 'skip').length;
  const total = runs.reduce((t, r) => t + r.seconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="cellctl" tests="${runs.length}" failures="${failures}" skipped="${skipped}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${esc(suite)}" tests="${runs.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${total.toFixed(3)}">`,
  ];
  for (const { check, result, seconds } of runs) {
    const open = `    <testcase classname="${esc(`${suite}.${check.kind}`)}" name="${esc(check.name)}" time="${seconds.toFixed(3)}"`;
    const body: string[] = [];
    if (result.status === 'fail') {
      body.push(`      <failure message="${esc(result.message)}" type="${esc(check.kind)}">${esc(result.detail ?? result.message)}</failure>`);
    } else if (result.status === 'skip') {
      body.push(`      <skipped message="${esc(result.message)}"/>`);
    }
    if (result.status !== 'fail' && (result.detail || result.status === 'pass')) {
      body.push(`      <system-out>${esc([result.message, result.detail].filter(Boolean).join('\n'))}</system-out>`);
    }
    lines.push(body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`);
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
