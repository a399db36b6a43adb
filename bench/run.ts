// npm run bench: validate / plan / apply timings for generated cells of 10..10,000 guests, in-process and
// as whole `cellctl` processes, peak RSS, a few targets (reported, never asserted), profiles of misses.
import { cpus, loadavg, tmpdir } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { generateCell } from './gen.js';
import { median, type InprocResult } from './inproc.js';
import { renderProfile, summariseProfile, type ProfileSummary } from './profile.js';
import { libvirtBench } from './libvirt.js';
import { qemuBench } from './qemu.js';
import { evaluateTargets, libvirtLine, renderTable, type OpResult, type Results } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const INPROC = join(ROOT, 'dist/bench/inproc.js');
const SIZES = (process.env.BENCH_SIZES ?? '10,100,1000,10000').split(',').map(Number);
const TMP = mkdtempSync(join(tmpdir(), 'cellctl-bench-'));
// Child processes report their own peak RSS at exit through this preload; timed runs go without it.
const RSS_PRELOAD = 'data:text/javascript,' + encodeURIComponent(
  'import { writeFileSync } from "node:fs"; process.on("exit", () => { if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)); });',
);
const ENV = { CI: '1', CELLCTL_STATE_DIR: undefined, NO_COLOR: '1' };

const runsFor = (n: number) => (n <= 100 ? 7 : n <= 1000 ? 5 : 3);
const applyRunsFor = (n: number) => (n <= 100 ? 5 : n <= 1000 ? 3 : 1);
const log = (s: string) => process.stderr.write(s + '\n');
let seq = 0;
const freshDir = (what: string): string => {
  const d = join(TMP, `${what}-${seq++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

interface Proc { ms: number; code: number; stderr: string; stdoutFile: string }

async function node(args: string[], opts: { rssFile?: string; timeoutMs?: number; nodeArgs?: string[]; keepStdout?: boolean } = {}): Promise<Proc> {
  const pre = opts.rssFile ? ['--import', RSS_PRELOAD] : [];
  const stdoutFile = join(TMP, opts.keepStdout ? `out-${seq++}.txt` : 'last.out');
  const t0 = performance.now();
  const r = await execa(process.execPath, [...pre, ...(opts.nodeArgs ?? []), ...args], {
    reject: false, cwd: ROOT, env: { ...ENV, BENCH_RSS_FILE: opts.rssFile }, stdout: { file: stdoutFile },
    timeout: opts.timeoutMs ?? 600_000,
  });
  return { ms: performance.now() - t0, code: r.exitCode ?? -1, stderr: String(r.stderr ?? ''), stdoutFile };
}

/** Median wall time of `runs` runs of cellctl, plus one more run for the peak RSS. */
async function timeCli(args: (i: number) => string[], runs: number, expect: number): Promise<OpResult['process']> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await node([CLI, ...args(i)]);
    if (r.code !== expect) return { error: `exit ${r.code} (expected ${expect}): ${r.stderr.split('\n').slice(0, 5).join(' | ')}`, runs: times };
    times.push(r.ms);
  }
  const rssFile = join(TMP, `rss-${seq++}`);
  const r = await node([CLI, ...args(runs)], { rssFile });
  const rssKiB = r.code === expect && existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : undefined;
  const rssError = rssKiB === undefined ? `RSS run: exit ${r.code}: ${r.stderr.split('\n')[0]}` : undefined;
  return { median: round(median(times)), runs: times.map(round), rssKiB, ...(rssError ? { rssError } : {}) };
}

async function inproc(op: string, file: string, root: string, runs: number): Promise<InprocResult> {
  const r = await execa(process.execPath, [INPROC, op, file, root, String(runs)], { reject: false, cwd: ROOT, env: ENV, timeout: 1_800_000 });
  try {
    return JSON.parse(String(r.stdout).trim().split('\n').pop() ?? '') as InprocResult;
  } catch {
    return { op, runs: [], median: NaN, maxRssKiB: 0, error: `exit ${r.exitCode}: ${String(r.stderr).slice(0, 500)}` };
  }
}

async function benchSize(n: number, results: Results): Promise<void> {
  const file = join(TMP, `cell-${n}.yaml`);
  const t0 = performance.now();
  writeFileSync(file, generateCell(n));
  log(`N=${n}: ${statSync(file).size} bytes of YAML (generated in ${Math.round(performance.now() - t0)} ms)`);
  const ops: Record<string, OpResult> = {};
  results.sizes[n] = { yamlBytes: statSync(file).size, ops };
  const empty = freshDir(`empty-${n}`);
  const runs = runsFor(n);

  log(`N=${n}: validate`);
  ops.validate = { inproc: await inproc('validate', file, empty, runs), process: await timeCli(() => ['validate', file, '--state-dir', empty], runs, 0) };
  log(`N=${n}: plan (fresh state)`);
  ops['plan-fresh'] = {
    inproc: await inproc('plan', file, empty, runs),
    process: await timeCli(() => ['plan', file, '--state-dir', empty, '--detailed-exitcode'], runs, 2),
  };
  log(`N=${n}: apply (sim)`);
  const applyIn = await inproc('apply', file, freshDir(`apply-in-${n}`), applyRunsFor(n));
  ops.apply = { inproc: applyIn };
  // As a process for N <= 1000, and for larger N when the in-process apply shows it takes under a minute.
  if (n <= 1000 || (applyIn.median ?? Infinity) < 60_000) {
    ops.apply.process = await timeCli(() => ['apply', file, '--state-dir', freshDir(`apply-p-${n}`), '--quiet'], applyRunsFor(n), 0);
  }
  const full = applyIn.stateRoots?.[0];
  if (full) {
    const stateFile = join(full, `bench${n}.test`, 'state.json');
    results.sizes[n].stateBytes = existsSync(stateFile) ? statSync(stateFile).size : undefined;
    results.sizes[n].fullStateDir = full;
    log(`N=${n}: plan (no changes)`);
    ops['plan-nochange'] = {
      inproc: await inproc('plan', file, full, runs),
      process: await timeCli(() => ['plan', file, '--state-dir', full, '--detailed-exitcode'], runs, 0),
    };
    if (ops['plan-nochange'].inproc?.changes) ops['plan-nochange'].inproc.error = `plan after apply has ${ops['plan-nochange'].inproc.changes} changes`;
  }
}

async function netnsBench(results: Results): Promise<void> {
  const tproa = join(ROOT, 'cells/tproa.yaml');
  let pre: { ok: boolean; reason?: string };
  try {
    const mod = (await import(pathToFileURL(join(ROOT, 'dist/src/drivers/netns/index.js')).href)) as { netnsPrerequisites(): { ok: boolean; reason?: string } };
    pre = mod.netnsPrerequisites();
  } catch (e) {
    pre = { ok: false, reason: `netns driver not loadable: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!pre.ok) {
    results.netns = { available: false, reason: pre.reason };
    return;
  }
  log('netns: smoke cells/tproa.yaml --driver netns');
  const smoke = await node([CLI, 'smoke', tproa, '--driver', 'netns'], { timeoutMs: 900_000, keepStdout: true });
  const dir = freshDir('netns');
  log('netns: apply + destroy cells/tproa.yaml --driver netns');
  const up = await node([CLI, 'apply', tproa, '--driver', 'netns', '--state-dir', dir, '--quiet'], { timeoutMs: 900_000, keepStdout: true });
  const down = await node([CLI, 'destroy', tproa, '--state-dir', dir, '--quiet', '--auto-approve'], { timeoutMs: 900_000, keepStdout: true });
  const tail = (p: Proc) => readFileSync(p.stdoutFile, 'utf8').split('\n').filter((l) => /FAIL|Error|rror:/.test(l)).slice(0, 12).join('\n');
  const entry = (p: Proc) => ({ ms: round(p.ms), code: p.code, ...(p.code ? { stderr: p.stderr.slice(-800), failures: tail(p) } : {}) });
  results.netns = { available: true, smoke: entry(smoke), apply: entry(up), destroy: entry(down) };
}

/** Profile the command behind each missed target, once per command. */
async function profileMisses(results: Results): Promise<void> {
  const done = new Map<string, ProfileSummary>();
  for (const t of results.targets) {
    if (t.met !== false || !t.profile) continue;
    const key = t.profile.join(' ');
    if (!done.has(key)) {
      const dir = freshDir('prof');
      log(`profiling: cellctl ${key}`);
      const args = t.profile.map((a) => (a === '$FRESH' ? freshDir('prof-state') : a));
      await node([CLI, ...args], { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250'] });
      const prof = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!prof) continue;
      done.set(key, summariseProfile(join(dir, prof), ROOT, 15));
      results.profiles.push({ command: `cellctl ${key}`, targets: [], ...done.get(key)! });
    }
    results.profiles.find((p) => p.command === `cellctl ${key}`)?.targets.push(t.id);
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

/** `npm run bench -- --only libvirt`: that part alone, its line and JSON on stdout (bench/results.json untouched). */
async function onlyLibvirt(): Promise<void> {
  const r = await libvirtBench({
    root: ROOT, cli: CLI, freshDir, log,
    run: async (args, timeoutMs) => {
      const p = await node([CLI, ...args], { timeoutMs, keepStdout: true });
      return { ms: round(p.ms), code: p.code };
    },
  });
  process.stdout.write(`${libvirtLine(r)}\n${JSON.stringify(r, null, 2)}\n`);
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run tsc -p tsconfig.json first`);
  const only = process.argv.indexOf('--only');
  if (only >= 0) {
    if (process.argv[only + 1] !== 'libvirt') throw new Error('--only: libvirt is the one part that runs alone');
    return onlyLibvirt();
  }
  const results: Results = {
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, model: cpus()[0]?.model ?? '?', loadavg: loadavg().map(round) },
    method: [
      'process: wall time of `node dist/src/cli/main.js ...` from spawn to exit (execa), median of several runs, stdout to a file; includes node start-up (see nodeStartupMs)',
      'process RSS: one extra run with a --import preload that writes process.resourceUsage().maxRSS at exit (timed runs have no preload)',
      'in-process: a fresh node process per (N, operation) running the pipeline functions directly, performance.now() per run; median over runs, the first run is cold (JIT), reported in runs[0]',
      'in-process RSS: process.resourceUsage().maxRSS of that worker after all its runs (includes node itself, ~40 MiB)',
      'plan-nochange: against the state written by the first in-process sim apply of the same cell',
    ],
    sizes: {}, targets: [], profiles: [],
  };
  log(`bench: working in ${TMP}`);
  const startup: number[] = [];
  for (let i = 0; i < 10; i++) startup.push((await node(['-e', '0'])).ms);
  results.nodeStartupMs = round(median(startup));
  for (const n of SIZES) await benchSize(n, results);
  log('tproa: plan cells/tproa.yaml');
  const tproaDir = freshDir('tproa');
  results.tproaPlan = await timeCli(() => ['plan', join(ROOT, 'cells/tproa.yaml'), '--state-dir', tproaDir], 10, 0);
  await netnsBench(results);
  results.qemu = await qemuBench({
    root: ROOT, cli: CLI, freshDir, log,
    run: async (args, timeoutMs) => {
      const p = await node([CLI, ...args], { timeoutMs, keepStdout: true });
      return { ms: round(p.ms), code: p.code };
    },
  }).catch((e: Error) => ({ available: false, reason: `qemu bench failed: ${e.message.split('\n')[0]}` }));
  results.libvirt = await libvirtBench({
    root: ROOT, cli: CLI, freshDir, log,
    run: async (args, timeoutMs) => {
      const p = await node([CLI, ...args], { timeoutMs, keepStdout: true });
      return { ms: round(p.ms), code: p.code };
    },
  }).catch((e: Error) => ({ available: false, reason: `libvirt bench failed: ${e.message.split('\n')[0]}` }));
  results.targets = evaluateTargets(results, join(TMP, 'cell-10000.yaml'), join(TMP, 'cell-1000.yaml'), join(ROOT, 'cells/tproa.yaml'));
  await profileMisses(results);
  const out = join(ROOT, 'bench/results.json');
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(renderTable(results) + '\n');
  for (const p of results.profiles) process.stdout.write('\n' + renderProfile(`${p.command} (targets: ${p.targets.join(', ')})`, p) + '\n');
  process.stdout.write(`\nwrote ${out}\n`);
  if (!process.env.BENCH_KEEP) rmSync(TMP, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
