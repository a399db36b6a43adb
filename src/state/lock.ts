// One writer per cell: an O_EXCL lock file naming its holder; a lock left by a dead process is broken safely.
import { openSync, writeSync, closeSync, readFileSync, unlinkSync, statSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { UserError } from '../diagnostics.js';

interface Holder { pid: number; host: string; command: string; started: string }

export interface Lock { release(): void }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined; // vanished, or half-written by a holder that died in the middle
  }
}

function tryCreate(file: string, holder: Holder): boolean {
  try {
    const fd = openSync(file, 'wx', 0o644);
    writeSync(fd, JSON.stringify(holder));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function isStale(file: string): boolean {
  const h = readHolder(file);
  if (!h) {
    // Unreadable: stale only once it is older than any write in progress could be.
    try { return Date.now() - statSync(file).mtimeMs > 5_000; } catch { return true; }
  }
  return h.host === hostname() && !alive(h.pid);
}

/** Breaking a stale lock goes through a short-lived second lock, so two breakers cannot remove a fresh lock. */
function breakStale(file: string): void {
  const breaker = file + '.break';
  const me: Holder = { pid: process.pid, host: hostname(), command: 'break stale lock', started: new Date().toISOString() };
  if (!tryCreate(breaker, me)) {
    if (isStale(breaker)) try { unlinkSync(breaker); } catch { /* someone else did */ }
    return;
  }
  try {
    if (isStale(file)) unlinkSync(file);
  } catch { /* already gone */ } finally {
    unlinkSync(breaker);
  }
}

export function acquireLock(file: string, command: string): Lock {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 }); // the cell directory also holds secrets
  const me: Holder = { pid: process.pid, host: hostname(), command, started: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(file, me)) {
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        if (readHolder(file)?.pid === process.pid) try { unlinkSync(file); } catch { /* gone */ }
      };
      process.once('exit', release);
      return { release };
    }
    if (!isStale(file)) break;
    breakStale(file);
  }
  const h = readHolder(file);
  throw new UserError(
    h
      ? `state is locked by pid ${h.pid} on ${h.host} (${h.command}, since ${h.started}); lock file ${file}`
      : `state is locked (lock file ${file}); remove it if no cellctl is running`,
  );
}
