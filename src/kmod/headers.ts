// Which installed kernel build tree (headers + Module.symvers) to build an out-of-tree module against.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

export interface KernelHeaders {
  dir: string; // the build tree as found (/lib/modules/<rel>/build or /usr/src/linux-headers-<rel>)
  release: string; // UTS_RELEASE: what `uname -r` and the module's vermagic say
  symvers: string; // <dir>/Module.symvers
  config?: string; // <dir>/.config, when the headers ship it (Debian's do)
}

/** UTS_RELEASE, not include/config/kernel.release: Debian's headers say "6.1.192" there but the kernel says "6.1.0-57-amd64". */
export function headersRelease(dir: string): string | undefined {
  const file = join(dir, 'include/generated/utsrelease.h');
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8').match(/#define\s+UTS_RELEASE\s+"([^"]+)"/)?.[1];
}

function describeDir(dir: string): KernelHeaders | undefined {
  const symvers = join(dir, 'Module.symvers');
  const release = headersRelease(dir);
  if (release === undefined || !existsSync(symvers) || !existsSync(join(dir, 'Makefile'))) return undefined;
  const config = join(dir, '.config');
  return { dir, release, symvers, ...(existsSync(config) ? { config } : {}) };
}

function listDirs(parent: string, filter: (name: string) => boolean): string[] {
  try {
    return readdirSync(parent).filter(filter).map((n) => join(parent, n));
  } catch {
    return [];
  }
}

/** Every usable build tree on this machine, one per real directory, newest release first. */
export function installedHeaders(): KernelHeaders[] {
  const dirs = [
    ...listDirs('/lib/modules', () => true).map((d) => join(d, 'build')),
    ...listDirs('/usr/src', (n) => n.startsWith('linux-headers-')),
  ];
  const seen = new Set<string>();
  const found: KernelHeaders[] = [];
  for (const d of dirs) {
    let real: string;
    try {
      real = realpathSync(d);
    } catch {
      continue; // dangling build link: headers removed, modules left
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const h = describeDir(d);
    if (h) found.push(h);
  }
  return found.sort((a, b) => b.release.localeCompare(a.release, 'en', { numeric: true }));
}

/**
 * The build tree asked for: headersDir if given, else the one for kernelRelease, else the newest
 * installed (not `uname -r`: the machine may run a kernel with no headers, e.g. a microVM host's).
 * Throws an Error saying what was looked at.
 */
export function resolveHeaders(opts: { kernelRelease?: string; headersDir?: string } = {}): KernelHeaders {
  if (opts.headersDir !== undefined) {
    const h = describeDir(opts.headersDir);
    if (!h) {
      throw new Error(`kernel headers ${opts.headersDir}: need Makefile, Module.symvers and include/generated/utsrelease.h`);
    }
    if (opts.kernelRelease !== undefined && h.release !== opts.kernelRelease) {
      throw new Error(`kernel headers ${opts.headersDir} are for ${h.release}, not ${opts.kernelRelease}`);
    }
    return h;
  }
  const all = installedHeaders();
  const list = all.map((h) => `${h.release} (${h.dir})`).join(', ') || 'none';
  if (opts.kernelRelease !== undefined) {
    const h = all.find((x) => x.release === opts.kernelRelease);
    if (!h) throw new Error(`no kernel headers for ${opts.kernelRelease} under /lib/modules/*/build or /usr/src/linux-headers-*; installed: ${list}`);
    return h;
  }
  if (all.length === 0) {
    throw new Error('no kernel headers installed (looked in /lib/modules/*/build and /usr/src/linux-headers-*; install linux-headers-amd64)');
  }
  return all[0];
}
