// smoke: apply into a throwaway state, run every check of the cell, tear down, report (text, --json, --junit).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session } from './session.js';
import type { CheckResult, CheckSpec, Driver } from '../drivers/driver.js';
import { renderFinding } from '../render/plan.js';
import { caveatChecks, deriveChecks } from './checks.js';
import { junitXml, type CheckRun, type SmokeStep } from '../render/junit.js';
import { SecretStore } from '../state/secrets.js';
import { requireArg, type Command, type Flags } from '../cli/command.js';
import { executePlan, withInterrupt } from './apply.js';
import { out } from '../cli/output.js';

const MARK: Record<CheckResult['status'], string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

async function timed(check: SmokeStep, run: () => Promise<CheckResult>): Promise<CheckRun> {
  const t0 = performance.now();
  let result: CheckResult;
  try {
    result = await run();
  } catch (e) {
    result = { status: 'fail', message: (e as Error).message };
  }
  return { check, result, seconds: (performance.now() - t0) / 1000 };
}

/** The guest a resource lives on, for console excerpts in failures. */
function guestOf(address: string, attrs: Record<string, unknown> | undefined): string | undefined {
  if (address.startsWith('guest.')) return address.slice('guest.'.length);
  return typeof attrs?.guest === 'string' ? attrs.guest : typeof attrs?.server === 'string' ? attrs.server : undefined;
}

function redact(text: string, secrets: string[]): string {
  return secrets.reduce((t, s) => (s.length >= 4 ? t.split(s).join('(sensitive)') : t), text);
}

export const smokeCmd: Command = (args, flags) => withInterrupt((signal) => smoke(args, flags, signal));

async function smoke(args: string[], flags: Flags, signal: AbortSignal): Promise<number> {
  const file = requireArg(args, 0, 'cell file (cellctl smoke CELL.yaml)');
  const root = mkdtempSync(join(tmpdir(), 'cellctl-smoke-'));
  const quietFlags = { ...flags, quiet: flags.quiet || flags.json };
  const log = quietFlags.quiet ? () => undefined : out;
  const runs: CheckRun[] = [];
  let s: Session | undefined;
  let driver: Driver | undefined;
  try {
    s = Session.load(file, { stateDir: root, driver: flags.driver, connect: flags.connect, log: quietFlags.quiet ? undefined : (l) => out(`  ${l}`) });
    const session = s;
    for (const f of s.errors) {
      runs.push({ check: { id: `compat.${f.code}.${f.subject}`, kind: 'compat', name: `compat ${f.code} (${f.subject})` },
        result: { status: flags['skip-compat'] ? 'skip' : 'fail', message: renderFinding(f), detail: f.fix }, seconds: 0 });
    }
    if (s.errors.length === 0 || flags['skip-compat']) {
      const driverName = s.driverName(undefined);
      const state = s.emptyState(driverName);
      const p = s.plan(state);
      log(`Smoke test of cell ${s.spec.cell} on driver ${state.driver}: applying ${p.changes.length} resources...`);
      driver = await s.driver(driverName, state);
      const d = driver;
      const applyCheck: SmokeStep = { id: 'apply', kind: 'apply', name: `apply cell ${s.spec.cell}` };
      runs.push(await timed(applyCheck, async () => {
        const res = await executePlan(session, d, state, p, quietFlags, signal);
        if (res.interrupted) return { status: 'fail', message: `interrupted after ${res.done} resources; tearing down` };
        if (!res.failed) return { status: 'pass', message: `${res.done} resources applied` };
        const guest = guestOf(res.failed.address, p.desired.find((r) => r.address === res.failed!.address)?.attrs);
        const detail = guest && state.resources[`guest.${guest}`] ? await d.console(guest).catch(() => undefined) : undefined;
        return { status: 'fail', message: `${res.failed.address}: ${res.failed.message}`, detail: detail ?? res.failed.message };
      }));
      for (const c of signal.aborted ? [] : [...deriveChecks(s.spec.cell, s.spec.realm, p.desired), ...caveatChecks(s.findings)]) {
        runs.push(await timed(c, async () =>
          c.kind === 'caveat' ? { status: 'pass', message: String(c.params.message), detail: c.params.fix ? `fix: ${c.params.fix}` : undefined } : d.check(c)));
        const r = runs[runs.length - 1];
        log(`${MARK[r.result.status]}  ${c.name}${r.result.status === 'pass' ? '' : `: ${r.result.message}`}`);
      }
      const teardown = s.plan(state, { destroy: true });
      const down = await executePlan(session, d, state, teardown, quietFlags);
      await d.purge?.(); // a throwaway cell: leave nothing behind, even after a failed teardown
      runs.push({ check: { id: 'teardown', kind: 'apply', name: 'tear down' },
        result: down.failed ? { status: 'fail', message: `${down.failed.address}: ${down.failed.message}` } : { status: 'pass', message: `${down.done} resources destroyed` }, seconds: 0 });
    }
  } finally {
    const secrets = s ? new SecretStore(s.store.secretsFile).all() : [];
    for (const r of runs) {
      r.result = { ...r.result, message: redact(r.result.message, secrets), ...(r.result.detail ? { detail: redact(r.result.detail, secrets) } : {}) };
    }
    await s?.close();
    rmSync(root, { recursive: true, force: true });
  }
  const cell = s?.spec.cell ?? file;
  const count = (st: CheckResult['status']) => runs.filter((r) => r.result.status === st).length;
  if (flags.junit) writeFileSync(flags.junit, junitXml(`cellctl smoke ${cell}`, runs));
  if (flags.json) {
    out(JSON.stringify({ cell, passed: count('pass'), failed: count('fail'), skipped: count('skip'),
      checks: runs.map((r) => ({ id: r.check.id, kind: r.check.kind, name: r.check.name, guest: r.check.guest ?? null, ...r.result, seconds: r.seconds })) }, null, 2));
  } else {
    for (const r of runs.filter((x) => x.result.status === 'fail')) {
      out(`FAIL  ${r.check.name}: ${r.result.message}`);
      if (r.result.detail) out(r.result.detail.split('\n').slice(-12).map((l) => `      ${l}`).join('\n'));
    }
    out(`Smoke ${cell}: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped.`);
  }
  return signal.aborted ? 130 : count('fail') > 0 ? 1 : 0;
}
