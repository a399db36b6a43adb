// The cache entry lock: mutual exclusion, waiting with a timeout, and breaking a dead holder's lock.
import { execaSync } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, LockTimeoutError } from '../../src/kmod/lock.js';

const root = mkdtempSync(join(tmpdir(), 'cellctl-kmod-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const lockPath = (): string => join(root, `l${n++}.lock`);

/** A pid that was alive a moment ago and is not now. */
function deadPid(): number {
  const r = execaSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.trim());
}

describe('acquireLock', () => {
  it('excludes: 6 contenders doing read-sleep-write on a counter lose no increment', async () => {
    const path = lockPath();
    const counter = join(root, 'counter');
    writeFileSync(counter, '0');
    await Promise.all(Array.from({ length: 6 }, async () => {
      const lock = await acquireLock(path, { pollMs: 5 });
      try {
        const v = Number(readFileSync(counter, 'utf8'));
        await sleep(10);
        writeFileSync(counter, String(v + 1));
      } finally {
        lock.release();
      }
    }));
    expect(readFileSync(counter, 'utf8')).toBe('6');
    expect(existsSync(path)).toBe(false);
  });

  it('a waiter times out naming the live holder, then gets the lock once it is released', async () => {
    const path = lockPath();
    const first = await acquireLock(path);
    let waitedFor: number | undefined;
    const err = await acquireLock(path, { timeoutMs: 100, pollMs: 10, onWait: (h) => (waitedFor = h?.pid) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    expect(waitedFor).toBe(process.pid);
    first.release();
    const second = await acquireLock(path, { timeoutMs: 100 });
    expect(second.holder.token).not.toBe(first.holder.token);
    second.release();
  });

  it("breaks a dead process's lock at once", async () => {
    const path = lockPath();
    const pid = deadPid();
    writeFileSync(path, JSON.stringify({ pid, host: hostname(), token: 'dead', since: new Date(0).toISOString() }));
    const lock = await acquireLock(path, { timeoutMs: 1000 });
    expect(lock.waitedMs).toBeLessThan(500);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('breaks an empty lock file once it is a few seconds old (holder died before writing)', async () => {
    const path = lockPath();
    writeFileSync(path, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const lock = await acquireLock(path, { timeoutMs: 1000 });
    lock.release();
  });

  it("leaves another host's lock alone (its pid means nothing here)", async () => {
    const path = lockPath();
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, token: 'x', since: new Date().toISOString() }));
    await expect(acquireLock(path, { timeoutMs: 50, pollMs: 10 })).rejects.toBeInstanceOf(LockTimeoutError);
  });

  it("release does not remove a lock someone else now holds", async () => {
    const path = lockPath();
    const lock = await acquireLock(path);
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), token: 'other', since: new Date().toISOString() }));
    lock.release();
    expect(JSON.parse(readFileSync(path, 'utf8')).token).toBe('other');
  });
});
