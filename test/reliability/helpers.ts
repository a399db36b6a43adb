// Shared by the reliability tests: the compiled CLI, temp dirs, state files, and comparing worlds.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, } from 'node:path';
import { execa, type Options } from 'execa';

import { CLI, ROOT } from '../paths.js';

export { CLI, ROOT };
// CI=1: plain progress lines, no listr2 renderer; no inherited state dir or secrets.
export const ENV: Record<string, string | undefined> = { CI: '1', NO_COLOR: '1', CELLCTL_STATE_DIR: undefined };

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.json')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** `npm test` compiles first; when a test file is run alone, compile if dist is older than src. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
}

export function tempDir(what: string): string {
  return mkdtempSync(join(tmpdir(), `cellctl-${what}-`));
}

export interface CliResult { exitCode?: number; signal?: string; stdout: string; stderr: string }

/** The compiled CLI as a process; never rejects (the exit code is the result). */
export function cellctl(args: string[], opts: Options = {}): Promise<CliResult> & ReturnType<typeof execa> {
  return execa(process.execPath, [CLI, ...args], { reject: false, cwd: ROOT, ...opts, env: { ...ENV, ...(opts.env ?? {}) } }) as unknown as Promise<CliResult> & ReturnType<typeof execa>;
}

export interface StateFile {
  version: number; cell: string; driver: string; serial: number;
  resources: Record<string, { type: string; attrs: unknown; deps: string[]; outputs?: Record<string, unknown> }>;
  driverData?: Record<string, unknown>;
  pending?: Record<string, unknown>;
}

export function readState(stateRoot: string, cell: string): StateFile | undefined {
  const f = join(stateRoot, cell, 'state.json');
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as StateFile; // throws (fails the test) on a torn file
}

/**
 * Fields that legitimately differ between two state dirs that applied the same cell: fingerprints of
 * keys derived from each state dir's own random passwords (secrets.json). Everything else — domain
 * ids, pids, volume ids, the sim clock, consoles and logs — must match an uninterrupted apply exactly.
 */
const PER_STATE_DIR_SECRETS = new Set(['key_check', 'stash_check']);

export function normalise(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(normalise);
  if (x && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, PER_STATE_DIR_SECRETS.has(k) ? '(per-state-dir secret)' : normalise(v)]));
  }
  return x;
}

/** Paths (a.b[3].c) where two JSON values differ, at most `max`; for readable failures. */
export function differences(a: unknown, b: unknown, max = 20, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const out: string[] = [];
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (out.length >= max) break;
      out.push(...differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], max - out.length, `${path}.${k}`));
    }
    return out;
  }
  return [`${path}: ${JSON.stringify(a)?.slice(0, 120)} != ${JSON.stringify(b)?.slice(0, 120)}`];
}

/** A small deterministic PRNG (mulberry32), so a failing kill schedule can be replayed with its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
