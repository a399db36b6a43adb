// smoke: apply into a throwaway state, run every check of the cell, tear down. Returns what ran;
// the command decides how to show it (text, --json, --junit).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CheckResult, Driver } from '../drivers/driver.js';
import type { ExecuteHooks } from '../engine/execute.js';
import { addr, nameIn } from '../plan/addrs.js';
import { renderFinding } from '../render/findings.js';
import type { CheckRun, SmokeStep } from '../render/junit.js';
import { Masker } from '../render/mask.js';
import { SecretStore } from '../state/secrets.js';
import { executePlan } from './apply.js';
import { deriveChecks } from './checks.js';
import { Session } from './session.js';

export interface SmokeOptions {
  /** Where the throwaway state goes (a fresh directory inside it, removed afterwards); default: the system's temp dir. */
  stateDir?: string;
  driver?: string;
  connect?: string;
  skipCompat?: boolean;
  concurrency?: number;
  signal: AbortSignal;
  hooks?: ExecuteHooks;
  log?: (line: string) => void; // progress lines (also the drivers')
  /** Each check as it finishes. */
  ran?: (run: CheckRun) => void;
}

export interface SmokeReport {
  cell: string;
  runs: CheckRun[];
  interrupted: boolean;
}

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
function guestOf(address: string, attrs: object | undefined): string | undefined {
  const a = attrs as { guest?: unknown; server?: unknown } | undefined;
  return nameIn(address, 'guest') ?? (typeof a?.guest === 'string' ? a.guest : typeof a?.server === 'string' ? a.server : undefined);
}

export async function smoke(file: string, o: SmokeOptions): Promise<SmokeReport> {
  const log = o.log ?? (() => undefined);
  const base = o.stateDir ? resolve(o.stateDir) : tmpdir();
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const root = mkdtempSync(join(base, 'cellctl-smoke-'));
  if (o.stateDir) log(`Throwaway state in ${root} (removed afterwards)`);
  const runs: CheckRun[] = [];
  const record = (r: CheckRun) => {
    runs.push(r);
    o.ran?.(r);
  };
  let s: Session | undefined;
  try {
    s = Session.load(file, { stateDir: root, driver: o.driver, connect: o.connect, log: o.log });
    for (const f of s.errors) {
      record({ check: { id: `compat.${f.code}.${f.subject}`, kind: 'compat', name: `compat ${f.code} (${f.subject})` },
        result: { status: o.skipCompat ? 'skip' : 'fail', message: renderFinding(f), detail: f.fix }, seconds: 0 });
    }
    if (s.errors.length === 0 || o.skipCompat) await applyCheckTeardown(s, o, log, record);
  } finally {
    const masker = new Masker(s ? new SecretStore(s.store.secretsFile).all() : []);
    for (const r of runs) {
      r.result = { ...r.result, message: masker.mask(r.result.message), ...(r.result.detail ? { detail: masker.mask(r.result.detail) } : {}) };
    }
    await s?.close();
    rmSync(root, { recursive: true, force: true });
  }
  return { cell: s?.spec.cell ?? file, runs, interrupted: o.signal.aborted };
}

async function applyCheckTeardown(s: Session, o: SmokeOptions, log: (l: string) => void, record: (r: CheckRun) => void): Promise<void> {
  const driverName = s.driverName(undefined);
  const state = s.emptyState(driverName);
  const p = s.plan(state, { driver: driverName });
  log(`Smoke test of cell ${s.spec.cell} on driver ${driverName}: applying ${p.changes.length} resources...`);
  if (p.unmanaged) log(`Not managed by ${p.unmanaged.driver}: ${p.unmanaged.addresses.length} resources${p.unmanaged.reason ? ` (${p.unmanaged.reason})` : ''}.`);
  const d: Driver = await s.driver(driverName, state);
  const exec = { concurrency: o.concurrency, signal: o.signal, hooks: o.hooks };
  record(await timed({ id: 'apply', kind: 'apply', name: `apply cell ${s.spec.cell}` }, async () => {
    const res = await executePlan(s, d, state, p, exec);
    if (res.interrupted) return { status: 'fail', message: `interrupted after ${res.done} resources; tearing down` };
    if (!res.failed) return { status: 'pass', message: `${res.done} resources applied` };
    const failed = res.failed;
    const guest = guestOf(failed.address, p.desired.find((r) => r.address === failed.address)?.attrs);
    const detail = guest && state.resources[addr.guest(guest)] ? await d.console(guest).catch(() => undefined) : undefined;
    return { status: 'fail', message: `${failed.address}: ${failed.message}`, detail: detail ?? failed.message };
  }));
  if (!o.signal.aborted) {
    for (const c of deriveChecks(s.spec.cell, s.spec.realm, p.desired)) record(await timed(c, () => d.check(c)));
    // Compat warnings are the seed's caveats: reported with the checks.
    for (const f of s.findings.filter((x) => x.severity === 'warning')) {
      record({ check: { id: `caveat.${f.code}.${f.subject}`, kind: 'caveat', name: `caveat ${f.code} (${f.subject})` },
        result: { status: 'pass', message: f.message, ...(f.fix ? { detail: `fix: ${f.fix}` } : {}) }, seconds: 0 });
    }
  }
  const teardown = s.plan(state, { destroy: true, driver: driverName });
  const down = await executePlan(s, d, state, teardown, { concurrency: o.concurrency, hooks: o.hooks });
  await d.purge?.(); // a throwaway cell: leave nothing behind, even after a failed teardown
  record({ check: { id: 'teardown', kind: 'apply', name: 'tear down' },
    result: down.failed ? { status: 'fail', message: `${down.failed.address}: ${down.failed.message}` } : { status: 'pass', message: `${down.done} resources destroyed` }, seconds: 0 });
}
