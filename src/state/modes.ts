// The cell's directory holds passwords and keytabs: it is kept 0700 and its files 0600. A wider
// mode found on disk is corrected and said, never left silently.
import { chmodSync, mkdirSync, statSync } from 'node:fs';

function tighten(path: string, want: number, what: string, warn: (line: string) => void): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return; // not there (yet)
  }
  if ((mode & ~want) === 0) return;
  try {
    chmodSync(path, want);
  } catch (e) {
    throw new Error(`${path}: ${what} has mode ${mode.toString(8)} (readable by others) and cannot be set to ${want.toString(8)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  warn(`${path}: ${what} had mode ${mode.toString(8).padStart(4, '0')}; set to ${want.toString(8).padStart(4, '0')} (it may hold passwords or keys)`);
}

/** The per-cell directory: created 0700, or corrected to it. */
export function ensurePrivateDir(dir: string, warn: (line: string) => void): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700, 'the cell\'s state directory', warn);
}

export function ensurePrivateFile(file: string, warn: (line: string) => void, what = 'the file'): void {
  tighten(file, 0o600, what, warn);
}
