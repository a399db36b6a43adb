// JUnit XML, one testcase per check; what CI systems read.
import type { CheckResult, CheckSpec } from '../drivers/driver.js';

/** A smoke step: a driver check, or one of smoke's own (compat, apply, teardown). */
export interface SmokeStep { id: string; kind: CheckSpec['kind'] | 'compat' | 'apply'; name: string; guest?: string }
export interface CheckRun { check: SmokeStep; result: CheckResult; seconds: number }

const INVALID_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/g;

export function xmlEscape(s: string): string {
  return s
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export function junitXml(suite: string, runs: CheckRun[]): string {
  const failures = runs.filter((r) => r.result.status === 'fail').length;
  const skipped = runs.filter((r) => r.result.status === 'skip').length;
  const total = runs.reduce((t, r) => t + r.seconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="cellctl" tests="${runs.length}" failures="${failures}" skipped="${skipped}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${runs.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${total.toFixed(3)}">`,
  ];
  for (const { check, result, seconds } of runs) {
    const open = `    <testcase classname="${xmlEscape(`${suite}.${check.kind}`)}" name="${xmlEscape(check.name)}" time="${seconds.toFixed(3)}"`;
    const body: string[] = [];
    if (result.status === 'fail') {
      body.push(`      <failure message="${xmlEscape(result.message)}" type="${xmlEscape(check.kind)}">${xmlEscape(result.detail ?? result.message)}</failure>`);
    } else if (result.status === 'skip') {
      body.push(`      <skipped message="${xmlEscape(result.message)}"/>`);
    }
    if (result.status !== 'fail' && (result.detail || result.status === 'pass')) {
      body.push(`      <system-out>${xmlEscape([result.message, result.detail].filter(Boolean).join('\n'))}</system-out>`);
    }
    lines.push(body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`);
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
