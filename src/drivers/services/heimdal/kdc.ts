// The Heimdal `kdc` daemon for a realm dir, optionally inside a network namespace. Heimdal always writes
// /var/run/kdc.pid (not configurable in 7.8), so it runs in a private mount namespace with <dir>/run bound
// over /run: its pid file lands in the realm dir and two realms never share one.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { HeimdalInstall } from './install.js';
import { realmFiles } from './realm.js';

/** Every process of a realm's KDC (master and forked workers) carries this in its environment. */
const MARKER = 'CELLCTL_HEIMDAL_KDC';

export interface StartKdcOptions {
  dir: string;
  /** Network namespace to run in (`ip netns exec`); without one the KDC listens on 127.0.0.1 only. */
  netns?: string;
  /** Listen only on these addresses (default: every address of the namespace, which must exist before start). */
  addresses?: string[];
  timeoutMs?: number;
  /** The daemon's whole environment (default: this process's); the install's and the realm's variables are added. */
  env?: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidFile(dir: string): string {
  return join(dir, 'run', 'kdc.pid');
}

function stat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Exists and is not a zombie (an ended child stays one until reaped). */
function alive(pid: number): boolean {
  const s = stat(pid);
  return !!s && s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) !== 'Z';
}

function allPids(): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
}

/** Live processes of the KDC for dir, master and workers, found by the environment marker. */
export function kdcProcesses(dir: string): number[] {
  const mark = `${MARKER}=${dir}`;
  return allPids().filter((p) => {
    try {
      return alive(p) && readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(mark);
    } catch {
      return false;
    }
  });
}

/** The master's pid from its own pid file, if that process still runs the kdc of this dir. */
export function kdcPid(dir: string): number | undefined {
  if (!existsSync(pidFile(dir))) return undefined;
  const pid = Number(readFileSync(pidFile(dir), 'utf8').trim());
  return pid > 0 && kdcProcesses(dir).includes(pid) ? pid : undefined;
}

export function kdcAlive(dir: string): boolean {
  return kdcPid(dir) !== undefined;
}

/** Socket inodes the process holds. */
function socketInodes(pid: number): Set<string> {
  const s = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) s.add(m[1]!);
    }
  } catch {
    /* gone */
  }
  return s;
}

/** True once pid itself holds a UDP and a listening TCP socket on port 88 (seen in its own namespace). */
function listening(pid: number): boolean {
  const mine = socketInodes(pid);
  const has = (table: string, state: string) => {
    try {
      return readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1).some((l) => {
        const f = l.trim().split(/\s+/);
        return f[1]?.endsWith(':0058') && f[3] === state && mine.has(f[9] ?? '');
      });
    } catch {
      return false;
    }
  };
  return (has('udp', '07') || has('udp6', '07')) && (has('tcp', '0A') || has('tcp6', '0A'));
}

/** Starts the KDC detached and returns the master's pid once it listens on 88/udp and 88/tcp. Idempotent. */
export async function startKdc(heimdal: HeimdalInstall, o: StartKdcOptions): Promise<number> {
  const running = kdcPid(o.dir);
  if (running) return running;
  const f = realmFiles(o.dir);
  if (!existsSync(f.database)) throw new Error(`no Heimdal realm in ${o.dir} (create it first)`);
  const run = join(o.dir, 'run');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  rmSync(pidFile(o.dir), { force: true });
  const addresses = o.addresses ?? (o.netns ? [] : ['127.0.0.1']);
  // ip, unshare and sh all exec: the pid spawn returns is the kdc master's own.
  const argv = [
    ...(o.netns ? ['ip', 'netns', 'exec', o.netns] : []),
    'unshare', '--mount', '--propagation', 'private', '--',
    '/bin/sh', '-c', 'mount --bind "$1" /run && shift && exec "$@"', 'sh', run,
    heimdal.bin.kdc, `--config-file=${f.kdcConf}`, ...addresses.map((a) => `--addresses=${a}`),
  ];
  const errLog = join(o.dir, 'kdc.stderr');
  // The log's own descriptor, not a pipe this process reads: nothing here keeps a caller's event loop alive.
  const out = openSync(errLog, 'a', 0o600);
  const logFrom = existsSync(f.kdcLog) ? statSync(f.kdcLog).size : 0;
  const newLog = () => (existsSync(f.kdcLog) ? readFileSync(f.kdcLog).subarray(logFrom).toString('utf8') : '');
  let exited: string | undefined;
  const child = spawn(argv[0]!, argv.slice(1), {
    detached: true, stdio: ['ignore', out, out],
    env: { ...(o.env ?? process.env), ...heimdal.env, KRB5_CONFIG: f.krb5Conf, [MARKER]: o.dir },
  });
  closeSync(out);
  child.unref();
  child.on('error', (e) => {
    exited ??= e.message;
  });
  child.on('exit', (code, signal) => {
    exited ??= signal ? `killed by ${signal}` : `exit ${code}`;
  });
  const timeout = o.timeoutMs ?? 10_000;
  for (const t0 = Date.now(); !exited; await sleep(10)) {
    const pid = kdcPid(o.dir);
    if (pid && listening(pid)) return pid;
    // Heimdal logs a failed bind and runs on; its UDP sockets use SO_REUSEADDR, so a second KDC on the same
    // address would silently share port 88/udp with the first: never leave one running like that.
    const clash = /^.*bind .*Address already in use.*$/m.exec(newLog())?.[0];
    if (clash || Date.now() - t0 > timeout) {
      exited = clash ? clash.replace(/^\S+\s+/, '') : `not listening on port 88 after ${timeout} ms`;
      await stopKdc(o.dir);
    }
  }
  const tail = (text: string) => text.trim().split('\n').slice(-3).join(' | ');
  const errText = existsSync(errLog) ? readFileSync(errLog, 'utf8') : '';
  throw new Error(`Heimdal kdc for ${o.dir} did not start (${exited}): ${tail(errText)} ${tail(newLog())}`.trim());
}

/** TERM to the master (it reaps its workers), then KILL whatever of this KDC is still there. */
export async function stopKdc(dir: string, graceMs = 2000): Promise<void> {
  const pid = kdcPid(dir);
  if (pid) process.kill(pid, 'SIGTERM');
  const t0 = Date.now();
  while (kdcProcesses(dir).length && Date.now() - t0 < graceMs) await sleep(20);
  for (let round = 0; round < 10 && kdcProcesses(dir).length; round++) {
    for (const p of kdcProcesses(dir)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(50);
  }
  if (kdcProcesses(dir).length) throw new Error(`Heimdal kdc for ${dir} would not end: ${kdcProcesses(dir).join(' ')}`);
  rmSync(pidFile(dir), { force: true }); // a killed kdc leaves it behind
}
