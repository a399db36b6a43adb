// What the real-guest tests need, and why they skip: the qemu driver's prerequisites, and the
// cached openafs.ko (built here only when it can be: ~18 min cold, once, under the cache's lock).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { qemuPrerequisites } from '../../../src/drivers/qemu/index.js';
import { ensureOpenafsKo, openafsKoPrerequisites } from '../../../src/kmod/openafs-ko.js';
import { CLI } from '../../paths.js';

export interface Env {
  ok: boolean;
  reason: string;
  /** openafs.ko must be built first (not cached yet, but buildable): beforeAll gives it this long. */
  buildMs: number;
}

export const COLD_BUILD_MS = 45 * 60_000;

export async function qemuEnv(o: { openafs?: boolean } = {}): Promise<Env> {
  const pre = qemuPrerequisites();
  if (!pre.ok) return { ok: false, reason: pre.reason ?? 'qemu driver unavailable', buildMs: 0 };
  if (!o.openafs) return { ok: true, reason: '', buildMs: 0 };
  try {
    await ensureOpenafsKo({ build: false });
    return { ok: true, reason: '', buildMs: 0 };
  } catch {
    const b = await openafsKoPrerequisites();
    return b.ok ? { ok: true, reason: '', buildMs: COLD_BUILD_MS } : { ok: false, reason: `openafs.ko neither cached nor buildable: ${b.reason}`, buildMs: 0 };
  }
}

export function title(what: string, env: Env): string {
  return env.ok ? what : `${what} — SKIPPED: ${env.reason}`;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The compiled CLI, as a user runs it (plain output: no terminal). */
export async function cellctl(args: string[], timeoutMs = 600_000): Promise<Run> {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, timeout: timeoutMs, env: { CI: '1', NO_COLOR: '1' } });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function tempDir(what: string): string {
  return mkdtempSync(join(tmpdir(), `cellctl-qemu-${what}-`));
}

/** What a cell's qemu state dir can leave on the machine: QEMU processes, namespaces, mounts. */
export async function leftovers(stateRoot: string, prefix: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.includes('qemu-system')) && argv.some((a) => a.startsWith(stateRoot))) out.push(`qemu pid ${e}`);
    } catch {
      /* gone */
    }
  }
  if (prefix) {
    const ns = await execa('ip', ['netns', 'list']);
    for (const l of String(ns.stdout).split('\n')) if (l.startsWith(`${prefix}-`)) out.push(`namespace ${l.split(' ')[0]}`);
  }
  for (const l of readFileSync('/proc/mounts', 'utf8').split('\n')) if (l.includes(stateRoot)) out.push(`mount ${l}`);
  return out;
}

/**
 * After a test that may have failed half-way: if `cellctl destroy` did not clean up, end the QEMU
 * processes this test's state dir started (by pid, found by their pidfile path) and delete the
 * cell's namespaces, so a failed run leaves nothing on the machine. Then the files go.
 */
export async function cleanUp(work: string | undefined, stateRoot?: string, prefix?: string): Promise<void> {
  if (!work) return;
  if (stateRoot) {
    for (const l of await leftovers(stateRoot, prefix)) {
      const pid = /^qemu pid (\d+)$/.exec(l)?.[1];
      if (pid) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const ns = /^namespace (\S+)$/.exec(l)?.[1];
      if (ns) await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  }
  rmSync(work, { recursive: true, force: true });
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
