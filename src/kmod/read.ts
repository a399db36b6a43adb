// Reading kernel artifacts without trusting them: regular files only (never /dev/zero or a FIFO),
// a size cap before reading, and for compressed modules a cap on what decompression may produce,
// so a gzip, xz or zstd bomb costs at most the cap. Every error names the file.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../diagnostics.js';

const MiB = 1024 * 1024;

/**
 * Caps, well above the real thing: Debian 6.1's largest module (amdgpu.ko) is ~20 MiB, its
 * Module.symvers ~2 MiB and .config ~0.3 MiB; an out-of-tree module with debug info can be ~100 MiB.
 */
export const LIMITS = {
  module: 256 * MiB, // before and after decompression
  symvers: 64 * MiB,
  config: 16 * MiB,
  header: 1 * MiB, // generated headers of a build tree (utsrelease.h, ...)
};

const mib = (n: number) => `${(n / MiB).toFixed(n < MiB ? 2 : 0)} MiB`;

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The whole of a regular file of at most `max` bytes; a UserError naming the file otherwise. */
export function readRegularFile(path: string, what: string, max: number): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new UserError(`${path}: cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${path}: ${what} must be a regular file, this is ${kind(st)}`);
    if (st.size > max) throw new UserError(`${path}: ${what} is ${st.size} bytes, over the limit of ${mib(max)}`);
    // Read what is there, one byte past the cap at most: a file that grows while read is caught too.
    const buf = Buffer.allocUnsafe(Math.min(st.size, max) + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > max) throw new UserError(`${path}: ${what} grew past the limit of ${mib(max)} while being read`);
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** A text file (UTF-8) read with readRegularFile. */
export function readRegularText(path: string, what: string, max: number): string {
  return readRegularFile(path, what, max).toString('utf8');
}

const GZIP = [0x1f, 0x8b];
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const starts = (data: Uint8Array, magic: number[]) => data.length >= magic.length && magic.every((b, i) => data[i] === b);

/** xz -dc / zstd -dc, with the output capped: the child is killed when it passes the cap. */
function decompressWith(tool: string, pkg: string, path: string, data: Buffer): Buffer {
  const r = spawnSync(tool, ['-dc'], { input: data, maxBuffer: LIMITS.module, stdio: ['pipe', 'pipe', 'pipe'] });
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') throw new UserError(`${path}: the module is ${tool}-compressed and ${tool} is not installed (apt-get install ${pkg})`);
  if (code === 'ENOBUFS') throw new UserError(`${path}: the module decompresses to more than ${mib(LIMITS.module)}; the limit is ${mib(LIMITS.module)}`);
  if (r.error) throw new UserError(`${path}: cannot run ${tool}: ${r.error.message}`);
  if (r.status !== 0) throw new UserError(`${path}: corrupt ${tool} data: ${r.stderr.toString().trim().split('\n').pop() ?? `${tool} exit ${r.status}`}`);
  return r.stdout;
}

/** A module file as the loader sees it: .ko, or .ko.gz/.ko.xz/.ko.zst decompressed (as kmod does before init_module). */
export function readModuleImage(path: string): Buffer {
  const data = readRegularFile(path, 'kernel module', LIMITS.module);
  if (starts(data, GZIP)) {
    try {
      return gunzipSync(data, { maxOutputLength: LIMITS.module });
    } catch (e) {
      if (e instanceof RangeError || (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new UserError(`${path}: the module decompresses to more than ${mib(LIMITS.module)}; the limit is ${mib(LIMITS.module)}`);
      }
      throw new UserError(`${path}: corrupt gzip data: ${(e as Error).message}`);
    }
  }
  if (starts(data, XZ)) return decompressWith('xz', 'xz-utils', path, data);
  if (starts(data, ZSTD)) return decompressWith('zstd', 'zstd', path, data);
  return data;
}
