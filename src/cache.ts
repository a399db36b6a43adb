// Where slow, reusable builds live (extracted kernels, initramfs images, openafs.ko): shared by
// every cell and state dir, keyed by what they were built from, so a rebuild happens only when an input changes.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** CELLCTL_CACHE_DIR, else $XDG_CACHE_HOME/cellctl, else ~/.cache/cellctl. */
export function cacheRoot(): string {
  return process.env.CELLCTL_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'cellctl');
}

/** A sub-directory of the cache, created on first use. */
export function cacheDir(...parts: string[]): string {
  const d = join(cacheRoot(), ...parts);
  mkdirSync(d, { recursive: true });
  return d;
}
