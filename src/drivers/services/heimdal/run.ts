// Subprocesses for the Heimdal service: secrets only on stdin, masked in anything we report.
import { execa, execaSync } from 'execa';

export interface RunOptions {
  input?: string; // passwords go here, never on a command line
  env?: Record<string, string>;
  timeoutMs?: number;
  cwd?: string;
  secrets?: string[]; // masked in the error of must()
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function mask(text: string, secrets: string[] = []): string {
  let t = text;
  for (const s of secrets) if (s) t = t.split(s).join('********');
  return t;
}

/**
 * Runs a command in a new session (detached = setsid): with no controlling terminal Heimdal's
 * password prompts read stdin instead of /dev/tty. Never throws for a non-zero exit.
 */
export async function run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const r = await execa(cmd, args, {
    input: o.input ?? '',
    env: o.env,
    extendEnv: true,
    reject: false,
    detached: true,
    timeout: o.timeoutMs ?? 30_000,
    cwd: o.cwd,
  });
  const code = typeof r.exitCode === 'number' ? r.exitCode : r.timedOut ? 124 : 1;
  const secrets = o.secrets ?? [];
  return { code, stdout: mask(String(r.stdout ?? ''), secrets), stderr: mask(String(r.stderr ?? ''), secrets) };
}

/** Like run, but throws (secrets masked) naming the command and the last lines it printed. */
export async function must(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-4).join(' | ');
    throw new Error(mask(`${[cmd, ...args].join(' ')} failed (exit ${r.code}): ${tail}`, o.secrets));
  }
  return r;
}

/** Synchronous form for cheap local queries (dpkg-query, apt-cache): prerequisites are checked at test-collection time. */
export function runSync(cmd: string, args: string[]): RunResult {
  const r = execaSync(cmd, args, { reject: false, timeout: 20_000 });
  return { code: typeof r.exitCode === 'number' ? r.exitCode : 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export function which(cmd: string): boolean {
  return runSync('sh', ['-c', 'command -v "$1"', 'sh', cmd]).code === 0;
}
