// The Xen hypervisor image QEMU boots: Debian ships it gzip'd (/boot/xen-<ver>-amd64.gz); QEMU's
// multiboot loader wants the plain ELF32 image, so it is unpacked once into the cache.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cacheDir } from '../../cache.js';
import { compareVersions } from '../vm/kernel.js';

export interface XenImage {
  series: string; // "4.17", from the file name
  package: string; // the file found, e.g. /boot/xen-4.17-amd64.gz
  image: string; // the unpacked multiboot ELF in the cache
  toolsDir: string; // /usr/lib/xen-<series>/bin: xl, xenstored, xenconsoled, xen-init-dom0
}

/**
 * The newest /boot/xen-<series>-amd64.gz whose toolstack is installed too, or the one of the
 * series asked for. Missing packages are named in the error.
 */
export function findXen(o: { series?: string; bootDir?: string; libDir?: string } = {}): { series: string; package: string; toolsDir: string } {
  const boot = o.bootDir ?? '/boot';
  const lib = o.libDir ?? '/usr/lib';
  let files: string[] = [];
  try {
    files = readdirSync(boot);
  } catch {
    /* no /boot: nothing found */
  }
  const series = files
    .map((f) => /^xen-(\d+\.\d+)-amd64\.gz$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined && (o.series === undefined || s === o.series))
    .sort(compareVersions);
  const withTools = series.filter((s) => existsSync(join(lib, `xen-${s}`, 'bin', 'xl')));
  const pick = withTools.at(-1);
  const want = o.series ? `Xen ${o.series}` : 'Xen';
  if (!pick) {
    if (series.length) throw new Error(`${want}: ${boot}/xen-${series.at(-1)}-amd64.gz found but not its toolstack (install xen-utils-${series.at(-1)})`);
    throw new Error(`${want}: no ${boot}/xen-*-amd64.gz (install xen-hypervisor-${o.series ?? '4.17'}-amd64 xen-utils-${o.series ?? '4.17'})`);
  }
  return { series: pick, package: join(boot, `xen-${pick}-amd64.gz`), toolsDir: join(lib, `xen-${pick}`, 'bin') };
}

/** Finds Xen and unpacks its image into the cache (once per content). */
export function xenImage(o: { series?: string; bootDir?: string; libDir?: string } = {}): XenImage {
  const found = findXen(o);
  const gz = readFileSync(found.package);
  const key = createHash('sha256').update(gz).digest('hex').slice(0, 16);
  const image = join(cacheDir('xen', found.series, key), 'xen');
  if (!existsSync(image)) {
    const elf = gunzipSync(gz);
    if (elf.subarray(0, 4).toString('latin1') !== '\x7fELF') throw new Error(`${found.package}: not a gzip'd ELF image`);
    const tmp = `${image}.tmp-${process.pid}-${Date.now()}`;
    writeFileSync(tmp, elf);
    renameSync(tmp, image);
  }
  return { ...found, image };
}
