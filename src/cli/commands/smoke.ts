// smoke: a throwaway apply, the checks, teardown; text, --json or --junit (the JUnit file is written
// whatever happens: a refused or unreadable cell too, so CI always has a report).
import { writeFileSync } from 'node:fs';
import { formatDiagnostic } from '../../diagnostics.js';
import type { CheckResult } from '../../drivers/driver.js';
import { withInterrupt } from '../../ops/interrupt.js';
import { smoke, smokeOutcome, type PhaseRun, type SmokeReport } from '../../ops/smoke.js';
import { diagnosticJson, findingJson } from '../../render/diagnostics.js';
import { renderFinding } from '../../render/findings.js';
import { junitXml } from '../../render/junit.js';
import { wrapText } from '../../render/wrap.js';
import { concurrencyFlag, progressView, type Command } from '../command.js';
import { err, out, terminalWidth } from '../output.js';

const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };
const round = (s: number) => Math.round(s * 1000) / 1000;

function counts(r: SmokeReport) {
  const n = (st: CheckResult['status']) => r.checks.filter((c) => c.result.status === st).length;
  return { checks: r.checks.length, passed: n('pass'), failed: n('fail'), skipped: n('skip') };
}

const phaseJson = (p: PhaseRun | undefined) => (p ? { status: p.status, message: p.message, detail: p.detail ?? null, seconds: round(p.seconds), resources: p.resources } : null);

export function smokeJson(r: SmokeReport): object {
  return {
    format_version: '2',
    cell: r.cell, file: r.file, driver: r.driver ?? null,
    timestamp: r.started.toISOString(), hostname: r.hostname, seconds: round(r.seconds),
    result: smokeOutcome(r),
    summary: { ...counts(r), warnings: r.warnings.length },
    load_errors: r.loadError?.map(diagnosticJson) ?? [],
    compat: { errors: r.refused.map(findingJson), skipped: r.compatSkipped },
    warnings: r.warnings.map(findingJson),
    apply: phaseJson(r.apply),
    checks: r.checks.map((c) => ({
      id: c.check.id, kind: c.check.kind, name: c.check.name, guest: c.check.guest ?? null, needs: c.check.needs,
      status: c.result.status, message: c.result.message, detail: c.result.detail ?? null, seconds: round(c.seconds),
    })),
    teardown: phaseJson(r.teardown),
  };
}

function phaseLine(name: string, p: PhaseRun | undefined): string | undefined {
  return p && `${name}: ${p.status === 'pass' ? p.message : `FAILED: ${p.message.split('\n')[0]}`} (${p.seconds.toFixed(2)}s)`;
}

export const smokeCmd: Command = (args, flags) => withInterrupt(async (signal) => {
  const quiet = flags.quiet || flags.json;
  const log = quiet ? undefined : (l: string) => out(l);
  const concurrency = concurrencyFlag(flags);
  const width = terminalWidth();
  const ignoreCompat = Boolean(flags['skip-compat']);
  const view = await progressView({ ...flags, quiet, json: false });
  const stateDir = flags['state-dir'] ?? process.env.CELLCTL_STATE_DIR;
  const report = await smoke(args[0], {
    ...(stateDir ? { stateDir } : {}),
    driver: flags.driver, connect: flags.connect, skipCompat: flags['skip-compat'], signal,
    ...(concurrency ? { concurrency } : {}),
    hooks: view,
    ...(view.finished ? { settled: () => view.finished!() } : {}),
    ...(log ? { log: (l: string) => view.log(l) } : {}),
    checked: (refused, warnings) => {
      if (flags.json) return;
      for (const f of refused) (ignoreCompat ? out : err)(wrapText(renderFinding(f), width) + (ignoreCompat ? '\n    (ignored: --skip-compat)' : ''));
      for (const f of warnings) out(wrapText(renderFinding(f), width));
    },
    ran: (r) => {
      if (!log || r.result.status === 'skip') return;
      log(`${MARK[r.result.status]}  ${r.check.name}${r.result.status === 'pass' ? '' : `: ${r.result.message}`}`);
    },
  });
  await view.finished?.();
  if (flags.junit) writeFileSync(flags.junit, junitXml(report));
  const outcome = smokeOutcome(report);
  if (flags.json) out(JSON.stringify(smokeJson(report), null, 2));
  else {
    for (const d of report.loadError ?? []) err(`Error: ${formatDiagnostic(d)}`);
    for (const l of [phaseLine('Apply', report.apply), phaseLine('Teardown', report.teardown)]) if (l) out(l);
    if (report.apply?.status === 'fail' && report.apply.detail) out(report.apply.detail.split('\n').slice(-12).map((l) => `      ${l}`).join('\n'));
    for (const r of report.checks.filter((x) => x.result.status === 'fail')) {
      out(`FAIL  ${r.check.name}: ${r.result.message}`);
      if (r.result.detail) out(r.result.detail.split('\n').slice(-12).map((l) => `      ${l}`).join('\n'));
    }
    // Skipped checks by reason: a refused cell skips them all for one reason, a failure its dependents.
    const skipped = new Map<string, string[]>();
    for (const x of report.checks.filter((y) => y.result.status === 'skip')) skipped.set(x.result.message, [...(skipped.get(x.result.message) ?? []), x.check.name]);
    for (const [why, names] of skipped) out(names.length === 1 ? `SKIP  ${names[0]}: ${why}` : `SKIP  ${names.length} checks: ${why}`);
    const c = counts(report);
    const failedPhase = report.apply?.status === 'fail' ? ' Apply failed.' : report.teardown?.status === 'fail' ? ' Teardown failed.' : '';
    const tail = { passed: '', failed: failedPhase, refused: ' The cell is refused by compat: nothing was applied.', error: ' The cell file could not be read.', interrupted: ' Interrupted.' }[outcome];
    out(`Smoke ${report.cell}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped` +
      `${report.warnings.length ? `; ${report.warnings.length} warning(s)` : ''}.${tail}${flags.junit ? ` JUnit: ${flags.junit}.` : ''}`);
  }
  return outcome === 'interrupted' ? 130 : outcome === 'passed' ? 0 : 1;
});
