// Subprocesses for the netns driver: run in a namespace, mask secrets, poll without fixed sleeps.
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import type { Masker } from '../../render/mask.js';
import { scrubbedEnv } from '../../state/secrets.js';
import { lastLines } from '../services/util.js';

export interface RunOptions {
  input?: string; // fed on stdin (passwords go here, never on a command line)
  env?: Record<string, string>;
  timeoutMs?: number;
  cwd?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  out: string; // stdout + stderr, secrets masked
}

export class Runner {
  constructor(readonly masker: Masker) {}

  /** Runs a command; never throws for a non-zero exit (callers decide), secrets masked in `out`. */
  async run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
    const r = await execa(cmd, args, {
      input: o.input ?? '',
      // Passwords given in the environment reach no tool and no daemon (they are only ever fed on stdin).
      env: { ...scrubbedEnv(), ...(o.env ?? {}) },
      extendEnv: false,
      reject: false,
      timeout: o.timeoutMs ?? 30_000,
      cwd: o.cwd,
      stripFinalNewline: true,
      all: false,
    });
    const stdout = this.masker.mask(String(r.stdout ?? ''));
    const stderr = this.masker.mask(String(r.stderr ?? ''));
    const code = typeof r.exitCode === 'number' ? r.exitCode : r.timedOut ? 124 : 1;
    const tail = r.timedOut ? `\n(timed out after ${o.timeoutMs ?? 30_000} ms)` : r.signal ? `\n(killed by ${r.signal})` : '';
    return { code, stdout, stderr, out: [stdout, stderr].filter(Boolean).join('\n') + tail };
  }

  /** Like run, but throws a masked error naming the command when it fails. */
  async must(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
    const r = await this.run(cmd, args, o);
    if (r.code !== 0) throw new Error(`${this.masker.mask([cmd, ...args].join(' '))} failed (exit ${r.code}): ${lastLines(r.out, 6)}`);
    return r;
  }

  /** A command inside a network namespace (root mount namespace: only for tools that need no /etc/openafs). */
  inNetns(ns: string, cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
    return this.run('ip', ['netns', 'exec', ns, cmd, ...args], o);
  }

  /** A command inside the mount, network and UTS namespaces of a running process (a guest's bosserver or afsd.fuse). */
  inProc(pid: number, cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
    return this.run('nsenter', ['-t', String(pid), '-m', '-n', '-u', '--', cmd, ...args], o);
  }
}

export { delay, lastLines, Mutex, until } from '../services/util.js';

/** True when a process exists and is not a zombie (a killed daemon may linger unreaped). */
export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
