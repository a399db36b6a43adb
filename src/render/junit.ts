// A smoke report as JUnit XML, valid against both schemas CI systems use: Jenkins xunit's
// junit-10.xsd and Apache Ant's JUnit.xsd (copies in test/render/xsd/). So: a bare <testsuites>, each
// <testsuite> with package, id, timestamp (no zone), hostname, then <properties>, the testcases,
// <system-out> and <system-err>; at most one of failure/error/skipped per testcase and nothing else.
// Suites: the cell file's load or the compat verdict (when they fail), apply and teardown, the checks.
// Warnings are properties and system-out of the checks suite, never testcases.
import type { Finding } from '../compat/types.js';
import { formatDiagnostic } from '../diagnostics.js';
import type { CheckRun, PhaseRun, SmokeReport } from '../ops/smoke.js';
import { renderFinding } from './findings.js';
import { xmlEscape } from './xml.js';

const esc = (s: string) => xmlEscape(s, 'strip');
const secs = (s: number) => s.toFixed(3);

interface Case { name: string; classname: string; seconds: number; outcome?: { kind: 'failure' | 'error' | 'skipped'; type: string; message: string; text: string } }
interface Suite { name: string; cases: Case[]; properties: [string, string][]; out: string[] }

/** Ant's timestamp: local-free ISO 8601 without a zone; cellctl writes UTC. */
function timestamp(d: Date): string {
  return d.toISOString().slice(0, 19);
}

function phaseCase(suite: string, name: string, r: PhaseRun): Case {
  const first = r.message.split('\n')[0];
  return {
    name, classname: `${suite}.lifecycle`, seconds: r.seconds,
    ...(r.status === 'fail' ? { outcome: { kind: 'failure' as const, type: name.split(' ')[0], message: first, text: [r.message, r.detail].filter(Boolean).join('\n') } } : {}),
  };
}

function checkCase(suite: string, r: CheckRun): Case {
  const { check, result } = r;
  const outcome = result.status === 'fail'
    ? { kind: 'failure' as const, type: check.kind, message: result.message, text: result.detail ?? result.message }
    : result.status === 'skip' ? { kind: 'skipped' as const, type: check.kind, message: result.message, text: '' } : undefined;
  return { name: check.name, classname: `${suite}.${check.kind}`, seconds: r.seconds, ...(outcome ? { outcome } : {}) };
}

const warningLine = (f: Finding) => `[${f.code}] ${f.subject}: ${f.message}`;

export function junitSuites(r: SmokeReport): Suite[] {
  const base = `cellctl.smoke.${r.cell}`;
  const suites: Suite[] = [];
  if (r.loadError) {
    const text = r.loadError.map(formatDiagnostic).join('\n');
    suites.push({ name: `${base}.load`, properties: [['file', r.file]], out: [], cases: [{
      name: `load ${r.file}`, classname: `${base}.load`, seconds: 0,
      outcome: { kind: 'failure', type: 'load', message: r.loadError[0] ? formatDiagnostic(r.loadError[0]) : 'cell file not readable', text },
    }] });
    return suites;
  }
  if (r.refused.length) {
    suites.push({
      name: `${base}.compat`, properties: [['skip-compat', String(r.compatSkipped)]], out: [],
      cases: r.refused.map((f) => ({
        name: `compat ${f.code} (${f.subject})`, classname: `${base}.compat`, seconds: 0,
        outcome: r.compatSkipped
          ? { kind: 'skipped' as const, type: f.code, message: `ignored with --skip-compat: ${f.message}`, text: '' }
          : { kind: 'failure' as const, type: f.code, message: f.message, text: renderFinding(f) },
      })),
    });
  }
  const lifecycle = [r.apply && phaseCase(base, 'apply', r.apply), r.teardown && phaseCase(base, 'teardown', r.teardown)].filter((c): c is Case => Boolean(c));
  if (lifecycle.length) suites.push({ name: `${base}.lifecycle`, properties: [['driver', r.driver ?? '']], out: [], cases: lifecycle });
  suites.push({
    name: `${base}.checks`,
    properties: [['driver', r.driver ?? ''], ...r.warnings.map((f): [string, string] => [`warning.${f.code}`, `${f.subject}: ${f.message}`])],
    out: [
      ...r.warnings.map((f) => `Warning: ${warningLine(f)}${f.fix ? `\n    fix: ${f.fix}` : ''}`),
      ...r.checks.map((c) => `${c.result.status.toUpperCase()}  ${c.check.name}: ${c.result.message}`),
    ],
    cases: r.checks.map((c) => checkCase(base, c)),
  });
  return suites;
}

export function junitXml(r: SmokeReport): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites>'];
  junitSuites(r).forEach((s, id) => {
    const count = (k: string) => s.cases.filter((c) => c.outcome?.kind === k).length;
    const time = s.cases.reduce((t, c) => t + c.seconds, 0);
    lines.push(
      `  <testsuite name="${esc(s.name)}" package="${esc(s.name)}" id="${id}" timestamp="${timestamp(r.started)}" hostname="${esc(r.hostname)}"` +
        ` tests="${s.cases.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}" time="${secs(time)}">`,
      '    <properties>',
      ...s.properties.map(([n, v]) => `      <property name="${esc(n)}" value="${esc(v)}"/>`),
      '    </properties>',
    );
    for (const c of s.cases) {
      const open = `    <testcase name="${esc(c.name)}" classname="${esc(c.classname)}" time="${secs(c.seconds)}"`;
      const o = c.outcome;
      if (!o) lines.push(`${open}/>`);
      else if (o.kind === 'skipped') lines.push(`${open}>`, `      <skipped message="${esc(o.message)}"/>`, '    </testcase>');
      else lines.push(`${open}>`, `      <${o.kind} message="${esc(o.message)}" type="${esc(o.type)}">${esc(o.text)}</${o.kind}>`, '    </testcase>');
    }
    lines.push(`    <system-out>${esc(s.out.join('\n'))}</system-out>`, '    <system-err></system-err>', '  </testsuite>');
  });
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
