// The pieces around the real build that need no network or compiler: version strings, dkms.conf's
// MAKE line (evaluated as DKMS does, or the fallback), BUILD_EXCLUSIVE_CONFIG, choosing headers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installedHeaders, resolveHeaders } from '../../src/kmod/headers.js';
import { exclusiveViolations, fallbackMakeLine, makeRule, upstreamVersion } from '../../src/kmod/openafs-source.js';

const root = mkdtempSync(join(tmpdir(), 'cellctl-openafs-src-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = (files: Record<string, string>): string => {
  const d = join(root, `d${n++}`);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), text);
  }
  mkdirSync(d, { recursive: true });
  return d;
};

describe('openafs-modules-dkms source', () => {
  it('upstream version: no epoch, no Debian revision', () => {
    expect(upstreamVersion('1.8.9-1+deb12u1')).toBe('1.8.9');
    expect(upstreamVersion('2:1.8.13.2-1~bpo12+1')).toBe('1.8.13.2');
    expect(upstreamVersion('1.8.9')).toBe('1.8.9');
  });

  it("dkms.conf's MAKE[0] is evaluated with kernelver and kernel_source_dir, like DKMS", async () => {
    const src = dir({
      'dkms.conf': [
        'ARCH=`echo "$kernelver" | cut -d- -f 3`',
        'case "$ARCH" in amd64) S=--with-afs-sysname=amd64_linux26 ;; *) S= ;; esac',
        'MAKE[0]="(./configure $S --with-linux-kernel-headers=${kernel_source_dir}  \\',
        '          && make)"',
        'BUILD_EXCLUSIVE_CONFIG="!CONFIG_PREEMPT_RT"',
        'echo noise on stdout',
      ].join('\n'),
    });
    const r = await makeRule(src, '6.1.0-57-amd64', '/hdr');
    expect(r).toEqual({
      line: '(./configure --with-afs-sysname=amd64_linux26 --with-linux-kernel-headers=/hdr && make)',
      from: 'dkms.conf',
      exclusive: ['!CONFIG_PREEMPT_RT'],
    });
  });

  it('falls back to the known line, saying why, when dkms.conf is missing, fails or sets no MAKE', async () => {
    const known = fallbackMakeLine('/hdr');
    expect(known).toContain('--with-linux-kernel-headers=/hdr');
    expect(await makeRule(dir({ 'x': '' }), 'r', '/hdr')).toMatchObject({ line: known, from: 'fallback', why: expect.stringContaining('not found') });
    expect(await makeRule(dir({ 'dkms.conf': 'false' }), 'r', '/hdr')).toMatchObject({ from: 'fallback', why: expect.stringContaining('failed') });
    expect(await makeRule(dir({ 'dkms.conf': 'PACKAGE_NAME=openafs' }), 'r', '/hdr')).toMatchObject({ from: 'fallback', why: expect.stringContaining('no MAKE[0]') });
  });

  it('BUILD_EXCLUSIVE_CONFIG against a .config', () => {
    const d = dir({ '.config': 'CONFIG_PREEMPT_RT=y\nCONFIG_MODULES=y\n# CONFIG_XEN is not set\n' });
    const config = join(d, '.config');
    expect(exclusiveViolations(['!CONFIG_PREEMPT_RT'], config)).toEqual(['!CONFIG_PREEMPT_RT']);
    expect(exclusiveViolations(['CONFIG_MODULES', '!CONFIG_XEN'], config)).toEqual([]);
    expect(exclusiveViolations(['CONFIG_XEN'], config)).toEqual(['CONFIG_XEN']);
    expect(exclusiveViolations(['!CONFIG_PREEMPT_RT'], undefined)).toEqual([]);
  });
});

describe('kernel headers', () => {
  const tree = (release: string): string =>
    dir({ 'Makefile': '', 'Module.symvers': '', 'include/generated/utsrelease.h': `#define UTS_RELEASE "${release}"\n` });

  it('an explicit headersDir gives its UTS_RELEASE; a wrong release or an incomplete tree is refused', () => {
    const d = tree('6.1.0-99-amd64');
    expect(resolveHeaders({ headersDir: d })).toMatchObject({ dir: d, release: '6.1.0-99-amd64', symvers: join(d, 'Module.symvers') });
    expect(() => resolveHeaders({ headersDir: d, kernelRelease: '6.1.0-1-amd64' })).toThrow(/are for 6\.1\.0-99-amd64, not 6\.1\.0-1-amd64/);
    expect(() => resolveHeaders({ headersDir: dir({ 'Makefile': '' }) })).toThrow(/need Makefile, Module\.symvers and include\/generated\/utsrelease\.h/);
  });

  it('a release with no installed headers is refused, listing what is installed', () => {
    const installed = installedHeaders().map((h) => h.release);
    expect(() => resolveHeaders({ kernelRelease: '0.0.0-no-such' })).toThrow(
      installed.length ? new RegExp(`installed: ${installed[0].replace(/[.+]/g, '\\$&')}`) : /installed: none/,
    );
  });
});
