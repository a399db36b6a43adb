// An exclusive lock file for one cache entry, so two processes don't build the same module at once.
// O_EXCL create; the holder writes pid, host and a token; a lock whose holder (same host) is dead is
// broken by renaming it away, which only one waiter can win.
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface AcquireOptions {
  timeoutMs?: number; // give up waiting for a live holder after this long (default 30 min)
  pollMs?: number; // default 500
  onWait?: (holder: LockHolder | undefined) => void; // called once, when we first have to wait
}

export class LockTimeoutError extends Error {
  constructor(readonly path: string, readonly holder: LockHolder | undefined, waitedMs: number) {
    super(`lock ${path} still held after ${Math.round(waitedMs / 1000)} s by ${holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}` : 'an unknown process'}`);
    this.name = 'LockTimeoutError';
  }
}

function readHolder(path: string): { text: string; holder?: LockHolder } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return { text, holder: JSON.parse(text) as LockHolder };
  } catch {
    return { text }; // being written right now, or garbage: judged on the next poll
  }
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Break a dead holder's lock; false if someone else got there first or the lock changed under us. */
function breakStale(path: string, seen: string): boolean {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    /* treated as changed */
  }
  if (moved !== seen) {
    // A live holder took the lock between our read and the rename: give it back unless a third took it.
    try {
      linkSync(aside, path);
    } catch {
      /* EEXIST: the lock is held again either way */
    }
  }
  unlinkSync(aside);
  return moved === seen;
}

export interface Lock {
  path: string;
  holder: LockHolder;
  waitedMs: number;
  release(): void;
}

export async function acquireLock(path: string, opts: AcquireOptions = {}): Promise<Lock> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const pollMs = opts.pollMs ?? 500;
  const me: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
  const t0 = Date.now();
  let waited = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      return {
        path,
        holder: me,
        waitedMs: Date.now() - t0,
        release: () => {
          // Only our own lock: if it was broken and re-taken, the new holder's file stays.
          if (readHolder(path)?.holder?.token === me.token) unlinkSync(path);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const cur = readHolder(path);
    if (cur === undefined) continue; // released between our open and read
    const h = cur.holder;
    // A holder that died between create and write leaves an empty file: stale once it is a few seconds old.
    const dead = h ? h.host === me.host && !alive(h.pid) : Date.now() - mtime(path) > 5_000;
    if (dead && breakStale(path, cur.text)) continue;
    if (!waited) {
      waited = true;
      opts.onWait?.(h);
    }
    if (Date.now() - t0 > timeoutMs) throw new LockTimeoutError(path, h, Date.now() - t0);
    await sleep(pollMs);
  }
}
