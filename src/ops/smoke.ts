// smoke: apply into a throwaway state, run every check of the cell, tear down. Returns a report in
// which the checks stand apart from what surrounds them: the cell file's load, the compat verdict
// (errors refuse the cell, warnings are only warnings), apply and teardown. The command decides how
// to show it (text, --json, --junit).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Finding } from '../compat/types.js';
import { UserError, type Diagnostic } from '../diagnostics.js';
import type { CheckResult, Driver } from '../drivers/driver.js';
import type { ExecuteHooks } from '../engine/execute.js';
import { addr, nameIn } from '../plan/addrs.js';
import { Masker } from '../render/mask.js';
import { SecretStore } from '../state/secrets.js';
import type { CellState } from '../state/types.js';
import { executePlan } from './apply.js';
import { deriveChecks, type PlannedCheck } from './checks.js';
import { Session } from './session.js';

export interface SmokeOptions {
  driver?: string;
  connect?: string;
  skipCompat?: boolean;
  concurrency?: number;
  signal: AbortSignal;
  hooks?: ExecuteHooks;
  log?: (line: string) => void; // progress lines (also the drivers')
  /** Where the throwaway state goes (a fresh directory inside it, removed afterwards); default: the system's temp dir. */
  stateDir?: string;
  /** The compat verdict, once the cell file is read (before anything is applied). */
  checked?: (refused: Finding[], warnings: Finding[]) => void;
  /** Each check as it finishes (or is skipped). */
  ran?: (run: CheckRun) => void;
  /** Awaited after apply and after teardown: a progress view finishes drawing before what comes next. */
  settled?: () => Promise<void>;
}

export interface CheckRun { check: PlannedCheck; result: CheckResult; seconds: number }

/** Apply or teardown: how it went, how long it took, how many resources it handled. */
export interface PhaseRun {
  status: 'pass' | 'fail';
  message: string;
  detail?: string;
  seconds: number;
  resources: number;
  /** The resource whose step failed. */
  failedAt?: string;
}

export interface SmokeReport {
  cell: string;
  file: string;
  driver?: string;
  started: Date;
  hostname: string;
  seconds: number;
  /** The cell file could not be read: nothing else ran. */
  loadError?: Diagnostic[];
  /** Compat errors: the cell is refused unless `compatSkipped`. */
  refused: Finding[];
  compatSkipped: boolean;
  warnings: Finding[];
  apply?: PhaseRun;
  checks: CheckRun[];
  teardown?: PhaseRun;
  interrupted: boolean;
}

/** How a report ends: what CI should make of it. */
export function smokeOutcome(r: SmokeReport): 'passed' | 'failed' | 'refused' | 'error' | 'interrupted' {
  if (r.interrupted) return 'interrupted';
  if (r.loadError) return 'error';
  if (r.refused.length && !r.compatSkipped) return 'refused';
  const failed = r.apply?.status === 'fail' || r.teardown?.status === 'fail' || r.checks.some((c) => c.result.status === 'fail');
  return failed ? 'failed' : 'passed';
}

async function timed<T>(run: () => Promise<T>): Promise<{ value?: T; error?: Error; seconds: number }> {
  const t0 = performance.now();
  try {
    const value = await run();
    return { value, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    return { error: e as Error, seconds: (performance.now() - t0) / 1000 };
  }
}

/** The guest a resource lives on, for console excerpts in failures. */
function guestOf(address: string, attrs: object | undefined): string | undefined {
  const a = attrs as { guest?: unknown; server?: unknown } | undefined;
  return nameIn(address, 'guest') ?? (typeof a?.guest === 'string' ? a.guest : typeof a?.server === 'string' ? a.server : undefined);
}

export async function smoke(file: string, o: SmokeOptions): Promise<SmokeReport> {
  const base = o.stateDir ? resolve(o.stateDir) : tmpdir();
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const root = mkdtempSync(join(base, 'cellctl-smoke-'));
  if (o.stateDir) o.log?.(`Throwaway state in ${root} (removed afterwards)`);
  const t0 = performance.now();
  const report: SmokeReport = {
    cell: file, file, started: new Date(), hostname: hostname() || 'localhost', seconds: 0,
    refused: [], compatSkipped: Boolean(o.skipCompat), warnings: [], checks: [], interrupted: false,
  };
  let s: Session | undefined;
  try {
    try {
      s = Session.load(file, { stateDir: root, driver: o.driver, connect: o.connect, log: o.log });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      report.loadError = e.diagnostics;
      return report;
    }
    report.cell = s.spec.cell;
    report.file = s.spec.file;
    report.refused = s.errors;
    report.warnings = s.findings.filter((f) => f.severity === 'warning');
    o.checked?.(report.refused, report.warnings);
    await applyCheckTeardown(s, o, report);
  } finally {
    const masker = new Masker(s ? new SecretStore(s.store.secretsFile).all() : []);
    const mask = <T extends { message: string; detail?: string }>(r: T): T => ({ ...r, message: masker.mask(r.message), ...(r.detail ? { detail: masker.mask(r.detail) } : {}) });
    for (const r of report.checks) r.result = mask(r.result);
    if (report.apply) report.apply = mask(report.apply);
    if (report.teardown) report.teardown = mask(report.teardown);
    await s?.close();
    rmSync(root, { recursive: true, force: true });
    report.interrupted = o.signal.aborted;
    report.seconds = (performance.now() - t0) / 1000;
  }
  return report;
}

async function applyCheckTeardown(s: Session, o: SmokeOptions, report: SmokeReport): Promise<void> {
  const log = o.log ?? (() => undefined);
  const driverName = s.driverName(undefined);
  report.driver = driverName;
  const state = s.emptyState(driverName);
  const p = s.plan(state, { driver: driverName });
  // Checks of what the driver does not realize are listed too, and skipped saying why.
  const checks = deriveChecks(s.spec.cell, s.spec.realm, s.allResources(driverName));
  const unmanaged = new Map((p.unmanaged?.addresses ?? []).map((a) => [a, p.unmanaged?.declined?.[a] ?? p.unmanaged?.reason ?? '']));
  const record = (run: CheckRun) => {
    report.checks.push(run);
    o.ran?.(run);
  };
  const skipAll = (why: string) => {
    for (const check of checks) record({ check, result: { status: 'skip', message: why }, seconds: 0 });
  };
  if (report.refused.length && !o.skipCompat) {
    skipAll(`not run: the cell is refused by ${report.refused.length} compat error(s)`);
    return;
  }
  log(`Smoke test of cell ${s.spec.cell} on driver ${driverName}: applying ${p.changes.length} resources...`);
  if (p.unmanaged) log(`Not managed by ${p.unmanaged.driver}: ${p.unmanaged.addresses.length} resources${p.unmanaged.reason ? ` (${p.unmanaged.reason})` : ''}.`);
  const d: Driver = await s.driver(driverName, state);
  const up = await timed(() => executePlan(s, d, state, p, { concurrency: o.concurrency, signal: o.signal, hooks: o.hooks }));
  const applied = up.value;
  if (!applied) report.apply = { status: 'fail', message: up.error!.message, seconds: up.seconds, resources: 0 };
  else if (applied.failed) {
    const failed = applied.failed;
    const guest = guestOf(failed.address, p.desired.find((r) => r.address === failed.address)?.attrs);
    const detail = guest && state.resources[addr.guest(guest)] ? await d.console(guest).catch(() => undefined) : undefined;
    report.apply = { status: 'fail', message: `${failed.address}: ${failed.message}`, detail: detail ?? failed.message, seconds: up.seconds, resources: applied.done, failedAt: failed.address };
  } else if (applied.interrupted) {
    report.apply = { status: 'fail', message: `interrupted after ${applied.done} resources; tearing down`, seconds: up.seconds, resources: applied.done };
  } else report.apply = { status: 'pass', message: `${applied.done} resources applied`, seconds: up.seconds, resources: applied.done };
  await o.settled?.();

  if (o.signal.aborted) skipAll('not run: interrupted');
  else await runChecks(checks, d, state, report.apply, record, { driver: driverName, unmanaged });

  const teardown = s.plan(state, { destroy: true, driver: driverName });
  const down = await timed(async () => {
    const r = await executePlan(s, d, state, teardown, { concurrency: o.concurrency, hooks: o.hooks });
    await d.purge?.(); // a throwaway cell: leave nothing behind, even after a failed teardown
    return r;
  });
  await o.settled?.();
  const res = down.value;
  report.teardown = !res
    ? { status: 'fail', message: down.error!.message, seconds: down.seconds, resources: 0 }
    : res.failed
      ? { status: 'fail', message: `${res.failed.address}: ${res.failed.message}`, seconds: down.seconds, resources: res.done }
      : { status: 'pass', message: `${res.done} resources destroyed`, seconds: down.seconds, resources: res.done };
}

/**
 * Each check in order; one whose resources the driver does not realize, or were not applied, or whose
 * prerequisite did not pass, is skipped. A prerequisite the driver itself skipped (it does not apply
 * there: no kernel module under afsd.fuse) does not hold back what needs it.
 */
async function runChecks(checks: PlannedCheck[], d: Driver, state: CellState, apply: PhaseRun, record: (r: CheckRun) => void,
  o: { driver: string; unmanaged: Map<string, string> }): Promise<void> {
  const status = new Map<string, CheckResult['status']>();
  const notApplicable = new Set<string>();
  const names = new Map(checks.map((c) => [c.id, c.name]));
  for (const check of checks) {
    const beyond = check.resources.find((r) => o.unmanaged.has(r));
    const missing = check.resources.filter((r) => !state.resources[r]);
    const blocked = check.needs.filter((n) => status.get(n) !== 'pass' && !notApplicable.has(n));
    let run: CheckRun;
    if (beyond) {
      const why = o.unmanaged.get(beyond);
      run = { check, result: { status: 'skip', message: `not run: ${beyond} is not managed by ${o.driver}${why ? ` (${why})` : ''}` }, seconds: 0 };
    } else if (missing.length) {
      const why = apply.failedAt ? ` (apply stopped at ${apply.failedAt})` : apply.status === 'fail' ? ' (apply stopped)' : '';
      run = { check, result: { status: 'skip', message: `not run: ${missing.join(', ')} ${missing.length === 1 ? 'was' : 'were'} not applied${why}` }, seconds: 0 };
    } else if (blocked.length) {
      const first = blocked[0];
      run = { check, result: { status: 'skip', message: `not run: needs '${names.get(first)}', which ${status.get(first) === 'fail' ? 'failed' : 'was skipped'}` }, seconds: 0 };
    } else {
      const t = await timed(() => d.check(check));
      run = { check, result: t.value ?? { status: 'fail', message: t.error!.message }, seconds: t.seconds };
      if (run.result.status === 'skip') notApplicable.add(check.id);
    }
    status.set(check.id, run.result.status);
    record(run);
  }
}
