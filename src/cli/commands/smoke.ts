// smoke: a throwaway apply, the checks, teardown; text, --json or --junit.
import { writeFileSync } from 'node:fs';
import type { CheckResult } from '../../drivers/driver.js';
import { withInterrupt } from '../../ops/interrupt.js';
import { smoke } from '../../ops/smoke.js';
import { junitXml } from '../../render/junit.js';
import { concurrencyFlag, progressView, requireArg, type Command } from '../command.js';
import { out } from '../output.js';

const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

export const smokeCmd: Command = (args, flags) => withInterrupt(async (signal) => {
  const file = requireArg(args, 0, 'cell file (cellctl smoke CELL.yaml)');
  const quiet = flags.quiet || flags.json;
  const log = quiet ? undefined : (l: string) => out(l);
  const concurrency = concurrencyFlag(flags);
  const stateDir = flags['state-dir'] ?? process.env.CELLCTL_STATE_DIR;
  const report = await smoke(file, {
    ...(stateDir ? { stateDir } : {}),
    driver: flags.driver, connect: flags.connect, skipCompat: flags['skip-compat'], signal,
    ...(concurrency ? { concurrency } : {}),
    hooks: await progressView({ ...flags, quiet }),
    ...(log ? { log: (l: string) => log(`  ${l}`) } : {}),
    ran: (r) => {
      if (!log || r.check.kind === 'compat' || r.check.id === 'apply' || r.check.id === 'teardown') return;
      log(`${MARK[r.result.status]}  ${r.check.name}${r.result.status === 'pass' ? '' : `: ${r.result.message}`}`);
    },
  });
  const count = (st: CheckResult['status']) => report.runs.filter((r) => r.result.status === st).length;
  if (flags.junit) writeFileSync(flags.junit, junitXml(`cellctl smoke ${report.cell}`, report.runs));
  if (flags.json) {
    out(JSON.stringify({ cell: report.cell, passed: count('pass'), failed: count('fail'), skipped: count('skip'),
      checks: report.runs.map((r) => ({ id: r.check.id, kind: r.check.kind, name: r.check.name, guest: r.check.guest ?? null, ...r.result, seconds: r.seconds })) }, null, 2));
  } else {
    for (const r of report.runs.filter((x) => x.result.status === 'fail')) {
      out(`FAIL  ${r.check.name}: ${r.result.message}`);
      if (r.result.detail) out(r.result.detail.split('\n').slice(-12).map((l) => `      ${l}`).join('\n'));
    }
    out(`Smoke ${report.cell}: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped.`);
  }
  return report.interrupted ? 130 : count('fail') > 0 ? 1 : 0;
});
