// Waits for a cache entry's lock (src/lockfile.ts), so two processes don't build the same module at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { tryLock, type HeldLock, type LockHolder } from '../lockfile.js';

export type { LockHolder };

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

export interface Lock extends HeldLock {
  waitedMs: number;
}

export async function acquireLock(path: string, opts: AcquireOptions = {}): Promise<Lock> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const pollMs = opts.pollMs ?? 500;
  const t0 = Date.now();
  let waited = false;
  for (;;) {
    const r = tryLock(path);
    if ('lock' in r) return { ...r.lock, waitedMs: Date.now() - t0 };
    if (!waited) {
      waited = true;
      opts.onWait?.(r.heldBy);
    }
    if (Date.now() - t0 > timeoutMs) throw new LockTimeoutError(path, r.heldBy, Date.now() - t0);
    await sleep(pollMs);
  }
}
