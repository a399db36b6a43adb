// One lock-file mechanism for the state and the build cache: an O_EXCL file naming its holder (pid, host,
// a token); a lock whose holder on this host is dead is broken by renaming it away, which one breaker wins.
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  since: string;
  command?: string;
}

export interface HeldLock {
  path: string;
  holder: LockHolder;
  release(): void;
}

/** The holder named in the lock file, with the file's text (to detect a change); undefined when there is none. */
export function readLock(path: string): { text: string; holder?: LockHolder } | undefined {
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
    return { text }; // being written right now, or garbage: judged by its age
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

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
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

/**
 * The lock file appears whole or not at all: the holder is written to a file of our own, then hard-linked
 * to the lock's name (EEXIST when held), so a kill mid-write never leaves an empty lock behind.
 */
function create(path: string, me: LockHolder): boolean {
  const mine = `${path}.${me.token}`;
  writeFileSync(mine, JSON.stringify(me), { mode: 0o644 });
  try {
    linkSync(mine, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    unlinkSync(mine);
  }
}

/**
 * Takes the lock now if it is free or its holder is dead; otherwise returns the live holder (undefined when
 * its file is still being written). Never waits.
 */
export function tryLock(path: string, command?: string): { lock: HeldLock } | { heldBy: LockHolder | undefined } {
  const me: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), since: new Date().toISOString(), command };
  for (;;) {
    if (create(path, me)) {
      // Only our own lock is removed: if it was broken and re-taken, the new holder's file stays.
      const release = (): void => {
        if (readLock(path)?.holder?.token === me.token) unlinkSync(path);
      };
      return { lock: { path, holder: me, release } };
    }
    const cur = readLock(path);
    if (cur === undefined) continue; // released between our open and read
    const h = cur.holder;
    // An unreadable lock (garbage, or an older cellctl's half-written one): stale once it is a few seconds old.
    const dead = h ? h.host === me.host && !alive(h.pid) : ageMs(path) > 5_000;
    if (!dead) return { heldBy: h };
    breakStale(path, cur.text); // won or lost, the next open decides
  }
}
