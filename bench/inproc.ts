// In-process measurement of one operation on one cell, in its own node process so that
// process.resourceUsage().maxRSS is the peak of that operation alone (plus node itself).
// Usage: node dist/bench/inproc.js OP CELL.yaml STATE_ROOT RUNS   (OP: validate|plan|apply)
// Prints one JSON line: InprocResult.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execute } from '../src/engine/execute.js';
import { Session } from '../src/ops/session.js';
import { loadCatalog } from '../src/catalog/load.js';
import { runCompat } from '../src/compat/index.js';
import { diff } from '../src/plan/diff.js';
import { desiredResources } from '../src/plan/desired.js';
import { renderPlan } from '../src/render/plan.js';
import { loadCell } from '../src/config/load.js';
import { StateStore, stateRoot } from '../src/state/store.js';

export interface InprocResult {
  op: string;
  runs: number[]; // ms per run, in order (the first is cold: nothing JIT-compiled yet)
  median: number;
  maxRssKiB: number; // peak RSS of this worker process over all runs
  breakdown?: Record<string, number>; // ms per stage, median over runs
  changes?: number; // plan changes (plan), resources applied (apply)
  stateRoots?: string[]; // apply: where each run wrote its state
  error?: string;
}

const now = () => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Load, parse, schema/semantic checks, compat: the first stages of validate and plan, timed. */
function loadAndCheck(file: string, stages: Record<string, number>) {
  const t0 = now();
  const catalog = loadCatalog();
  const t1 = now();
  const spec = loadCell(file, catalog);
  const t2 = now();
  const findings = runCompat(spec, catalog);
  Object.assign(stages, { catalog: t1 - t0, load: t2 - t1, compat: now() - t2 });
  return { catalog, spec, findings };
}

/** validate = what `cellctl validate` computes. */
function validateOnce(file: string, stages: Record<string, number[]>): number {
  const t: Record<string, number> = {};
  const { findings } = loadAndCheck(file, t);
  push(stages, t);
  return findings.filter((f) => f.severity === 'error').length;
}

/** plan = what `cellctl plan` does short of writing to stdout: load, compat, read state, desired graph, diff, render. */
function planOnce(file: string, stateDir: string, stages: Record<string, number[]>): number {
  const t: Record<string, number> = {};
  const { catalog, spec, findings } = loadAndCheck(file, t);
  const t3 = now();
  const state = new StateStore(stateRoot(file, stateDir), spec.cell).read();
  const t4 = now();
  const desired = desiredResources(spec, catalog);
  const t5 = now();
  const p = diff(spec, desired, state, findings);
  const t6 = now();
  const text = renderPlan(p);
  const t7 = now();
  push(stages, { ...t, readState: t4 - t3, desired: t5 - t4, diff: t6 - t5, render: t7 - t6 });
  if (text.length === 0) throw new Error('empty plan rendering');
  return p.changes.length;
}

/** apply = what `cellctl apply --quiet` does on the sim driver: lock, plan, execute, save state. */
async function applyOnce(file: string, stateDir: string, stages: Record<string, number[]>): Promise<number> {
  const t0 = now();
  const s = Session.load(file, { stateDir });
  s.lockState('apply');
  try {
    const state = s.readState() ?? s.emptyState('sim');
    const p = s.plan(state);
    const t1 = now();
    const driver = await s.driver('sim', state);
    const res = await execute(p, driver, state, { concurrency: 64, save: (st) => s.store.write(st) });
    const t2 = now();
    if (res.failed) throw new Error(`apply failed at ${res.failed.address}: ${res.failed.message}`);
    push(stages, { plan: t1 - t0, execute: t2 - t1 });
    return res.done;
  } finally {
    await s.close();
  }
}

function push(stages: Record<string, number[]>, times: Record<string, number>): void {
  for (const [k, v] of Object.entries(times)) (stages[k] ??= []).push(v);
}

export async function measure(op: string, file: string, root: string, runs: number): Promise<InprocResult> {
  const times: number[] = [];
  const stages: Record<string, number[]> = {};
  const stateRoots: string[] = [];
  let changes: number | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    if (op === 'validate') {
      const errors = validateOnce(file, stages);
      if (errors) throw new Error(`${file}: ${errors} compat error(s)`);
    } else if (op === 'plan') {
      changes = planOnce(file, root, stages);
    } else if (op === 'apply') {
      const dir = join(root, `apply-${i}`);
      mkdirSync(dir, { recursive: true });
      stateRoots.push(dir);
      changes = await applyOnce(file, dir, stages);
    } else {
      throw new Error(`unknown op ${op}`);
    }
    times.push(now() - t0);
  }
  const breakdown = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(median(v))]));
  return {
    op, runs: times.map(round), median: round(median(times)), maxRssKiB: process.resourceUsage().maxRSS, breakdown, changes,
    ...(stateRoots.length ? { stateRoots } : {}),
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

if (process.argv[1]?.endsWith('inproc.js')) {
  const [op, file, root, runs] = process.argv.slice(2);
  measure(op, file, root, Number(runs ?? 1)).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e) => {
      process.stdout.write(JSON.stringify({ op, runs: [], median: NaN, maxRssKiB: process.resourceUsage().maxRSS, error: String((e as Error).stack ?? e) }) + '\n');
      process.exitCode = 1;
    },
  );
}
