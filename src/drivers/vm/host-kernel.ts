// Which installed kernel guests boot by default: plain file-system reads, no tools, so plan can
// name it as cheaply as apply boots it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** "sort -V" order: digit runs compare as numbers. */
export function compareVersions(a: string, b: string): number {
  const split = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1;
    const c = /^\d/.test(p) && /^\d/.test(q) ? Number(p) - Number(q) : p < q ? -1 : p > q ? 1 : 0;
    if (c) return c;
  }
  return 0;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The host's guest kernel: the newest release with both /usr/src/linux-headers-<rel> and
 * /boot/vmlinuz-<rel> (the "-common" headers package has no image and is skipped), else the
 * newest /boot/vmlinuz-*.
 */
export function hostKernelImage(bootDir = '/boot', srcDir = '/usr/src'): { release: string; image: string } {
  const images = listDir(bootDir).filter((f) => f.startsWith('vmlinuz-')).map((f) => f.slice('vmlinuz-'.length));
  const withHeaders = listDir(srcDir)
    .filter((d) => d.startsWith('linux-headers-'))
    .map((d) => d.slice('linux-headers-'.length))
    .filter((rel) => images.includes(rel));
  const pool = withHeaders.length ? withHeaders : images;
  const release = pool.sort(compareVersions).at(-1);
  if (!release) throw new Error(`no guest kernel: no ${bootDir}/vmlinuz-* (install linux-image-amd64)`);
  return { release, image: join(bootDir, `vmlinuz-${release}`) };
}
