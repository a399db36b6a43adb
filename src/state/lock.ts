// One writer per cell: the cell's lock file (src/lockfile.ts); a live holder is named in the error.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../diagnostics.js';
import { tryLock } from '../lockfile.js';

export interface Lock { release(): void }

export function acquireLock(file: string, command: string): Lock {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 }); // the cell directory also holds secrets
  const r = tryLock(file, command);
  if ('lock' in r) {
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      try {
        r.lock.release();
      } catch {
        /* gone */
      }
    };
    process.once('exit', release);
    return { release };
  }
  const h = r.heldBy;
  throw new UserError(
    h
      ? `state is locked by pid ${h.pid} on ${h.host} (${h.command ?? 'cellctl'}, since ${h.since}); lock file ${file}`
      : `state is locked (lock file ${file}); remove it if no cellctl is running`,
  );
}
