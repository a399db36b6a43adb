// Reading untrusted kernel artifacts: regular files only, size caps before and after decompression,
// and every error names the file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/diagnostics.js';
import { readKernelArtifacts, readKo } from '../../src/kmod/artifacts.js';
import { LIMITS, readModuleImage, readRegularFile } from '../../src/kmod/read.js';

const dir = mkdtempSync(join(tmpdir(), 'cellctl-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

/** `copies` compressed copies of 1 MiB of zeros, concatenated: every format reads them as one stream. */
function bomb(compress: (mib: Buffer) => Buffer, copies = 300): Buffer {
  return Buffer.concat(Array(copies).fill(compress(Buffer.alloc(1 << 20))));
}
const tool = (cmd: string) => (data: Buffer): Buffer => {
  const r = spawnSync(cmd, ['-c', '-q'], { input: data });
  if (r.status !== 0) throw new Error(`${cmd} failed`);
  return r.stdout;
};
const have = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;

describe('kernel artifacts are read with bounds', () => {
  it('refuses what is not a regular file: a character device, a directory, a FIFO', () => {
    expect(message(() => readModuleImage('/dev/zero'))).toBe('/dev/zero: kernel module must be a regular file, this is a character device');
    expect(message(() => readRegularFile(dir, 'Module.symvers', LIMITS.symvers))).toBe(`${dir}: Module.symvers must be a regular file, this is a directory`);
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Opened without blocking on the missing writer, then refused.
    expect(message(() => readModuleImage(fifo))).toBe(`${fifo}: kernel module must be a regular file, this is a FIFO`);
  });

  it('refuses a file over the cap before reading it', () => {
    const big = join(dir, 'big.ko');
    writeFileSync(big, '');
    truncateSync(big, LIMITS.module + 1); // sparse: costs no disk
    expect(message(() => readModuleImage(big))).toBe(`${big}: kernel module is 268435457 bytes, over the limit of 256 MiB`);
    const symvers = join(dir, 'Module.symvers');
    writeFileSync(symvers, '');
    truncateSync(symvers, LIMITS.symvers + 1);
    expect(message(() => readKernelArtifacts({ symvers }))).toMatch(/Module\.symvers is 67108865 bytes, over the limit of 64 MiB$/);
  });

  it('stops a gzip bomb at the cap', () => {
    const f = join(dir, 'bomb.ko.gz');
    writeFileSync(f, bomb((b) => gzipSync(b)));
    expect(message(() => readModuleImage(f))).toBe(`${f}: the module decompresses to more than 256 MiB; the limit is 256 MiB`);
  });

  it.skipIf(!have('xz'))('stops an xz bomb at the cap' + (have('xz') ? '' : ' — SKIPPED: no xz'), () => {
    const f = join(dir, 'bomb.ko.xz');
    writeFileSync(f, bomb(tool('xz')));
    expect(message(() => readModuleImage(f))).toBe(`${f}: the module decompresses to more than 256 MiB; the limit is 256 MiB`);
  });

  it.skipIf(!have('zstd'))('stops a zstd bomb at the cap' + (have('zstd') ? '' : ' — SKIPPED: no zstd'), () => {
    const f = join(dir, 'bomb.ko.zst');
    writeFileSync(f, bomb(tool('zstd')));
    expect(message(() => readModuleImage(f))).toBe(`${f}: the module decompresses to more than 256 MiB; the limit is 256 MiB`);
  });

  it('names the file in every error: corrupt gzip, not ELF, truncated ELF', () => {
    mkdirSync(join(dir, 'bad'));
    const gz = join(dir, 'bad', 'm.ko.gz');
    writeFileSync(gz, gzipSync(Buffer.from('x'.repeat(1000))).subarray(0, 20));
    expect(message(() => readKo(gz))).toMatch(new RegExp(`^${gz}: corrupt gzip data: `));
    const text = join(dir, 'bad', 'text.ko');
    writeFileSync(text, 'hello\n');
    expect(message(() => readKo(text))).toBe(`${text}: not a kernel module: not an ELF file (bad magic)`);
    const cut = join(dir, 'bad', 'cut.ko');
    writeFileSync(cut, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(30)]));
    expect(message(() => readKo(cut))).toMatch(new RegExp(`^${cut}: not a kernel module: truncated ELF`));
  });
});
