// The newc writer against real cpio readers: GNU cpio and busybox cpio list and unpack what it wrote.
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCpio, writeCpioGz, type CpioEntry } from '../../../src/drivers/vm/cpio.js';

function have(cmd: string, args: string[]): boolean {
  try {
    execaSync(cmd, args, { reject: true, stdin: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const GNU_CPIO = have('cpio', ['--version']);
const BUSYBOX = have('busybox', ['true']);

const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
// names and sizes of every length mod 4, so each padding case is exercised
const entries: CpioEntry[] = [
  { kind: 'dir', path: 'bin' },
  { kind: 'dir', path: 'a b', mode: 0o700 },
  { kind: 'file', path: 'bin/x', data: Buffer.alloc(0), mode: 0o755 },
  { kind: 'file', path: 'a b/y1', data: bytes.subarray(0, 1) },
  { kind: 'file', path: 'a b/yy2', data: bytes.subarray(0, 2) },
  { kind: 'file', path: 'a b/yyy3', data: bytes.subarray(0, 3) },
  { kind: 'file', path: 'a b/all-bytes', data: bytes, mode: 0o600 },
  { kind: 'symlink', path: 'bin/sh', target: 'x' },
  { kind: 'chardev', path: 'console', major: 5, minor: 1 },
];
const names = entries.map((e) => e.path);

const work = mkdtempSync(join(tmpdir(), 'vmkit-cpio-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cpio newc writer', () => {
  it('is deterministic and ends with the trailer', () => {
    const a = writeCpio(entries);
    expect(a.equals(writeCpio(entries))).toBe(true);
    expect(a.length % 4).toBe(0);
    expect(a.subarray(0, 6).toString()).toBe('070701');
    expect(a.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
    expect(gunzipSync(writeCpioGz(entries)).equals(a)).toBe(true);
  });

  it('refuses duplicate and escaping paths', () => {
    expect(() => writeCpio([{ kind: 'dir', path: 'x' }, { kind: 'dir', path: '/x' }])).toThrow(/duplicate/);
    expect(() => writeCpio([{ kind: 'dir', path: 'a/../../etc' }])).toThrow(/bad path/);
  });

  it.skipIf(!GNU_CPIO)(`GNU cpio lists and unpacks it byte for byte${GNU_CPIO ? '' : ' (skipped: no cpio)'}`, () => {
    const file = join(work, 'gnu.cpio');
    writeFileSync(file, writeCpio(entries));
    const list = execaSync('cpio', ['-it', '--quiet', '-F', file]);
    expect(String(list.stdout).split('\n')).toEqual(names);
    const out = join(work, 'gnu');
    execaSync('mkdir', ['-p', out]);
    // no device node is made: as root cpio would create a real /dev/console twin, so skip it
    execaSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', file, ...names.filter((n) => n !== 'console')], { cwd: out });
    expect(readFileSync(join(out, 'a b/all-bytes')).equals(bytes)).toBe(true);
    expect(readFileSync(join(out, 'a b/yyy3')).equals(bytes.subarray(0, 3))).toBe(true);
    expect(statSync(join(out, 'a b/all-bytes')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'bin/x')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(out, 'bin/sh'))).toBe('x');
    const verbose = String(execaSync('cpio', ['-itv', '--quiet', '-F', file]).stdout);
    expect(verbose).toMatch(/^crw-------\s+1 root\s+root\s+5,\s+1 .* console$/m);
  });

  it.skipIf(!BUSYBOX)(`busybox cpio (the kind of reader the kernel is) lists the gzip'd image${BUSYBOX ? '' : ' (skipped: no busybox)'}`, () => {
    const file = join(work, 'bb.cpio.gz');
    writeFileSync(file, writeCpioGz(entries));
    const r = execaSync('sh', ['-c', `gzip -dc '${file}' | busybox cpio -t`]);
    expect(String(r.stdout).split('\n')).toEqual(names);
  });
});
