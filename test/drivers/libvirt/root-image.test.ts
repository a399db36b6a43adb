// The libvirt guests' root image, built cold into a cache of the test's own: once for callers that
// ask at the same time, with the programs the cell's services and client run and the libraries they
// link (those loaded with dlopen and the alternatives' links too), found again (not rebuilt) by a later call. Read with debugfs: no mount.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const pkgs = await execa('dpkg-query', ['-W', '-f', '${Status}\n', 'openafs-client', 'openafs-dbserver', 'openafs-fileserver', 'krb5-kdc', 'krb5-admin-server', 'krb5-user', 'openafs-krb5'], { reject: false });
const tools = (await execa('sh', ['-c', 'command -v mke2fs && command -v debugfs && test -x /bin/busybox'], { reject: false })).exitCode === 0;
const ok = pkgs.exitCode === 0 && !String(pkgs.stdout).split('\n').some((l) => l && !l.endsWith(' installed')) && tools;
const why = ok ? '' : ' — SKIPPED: needs openafs-client/-dbserver/-fileserver/-krb5, krb5-kdc/-admin-server/-user, e2fsprogs and busybox-static installed';

describe.skipIf(!ok)(`libvirt guests' root image${why}`, () => {
  const cache = mkdtempSync(join(tmpdir(), 'clv-rootimg-'));
  const was = process.env.CELLCTL_CACHE_DIR;
  afterAll(() => {
    if (was === undefined) delete process.env.CELLCTL_CACHE_DIR;
    else process.env.CELLCTL_CACHE_DIR = was;
    rmSync(cache, { recursive: true, force: true });
  });

  it('is built once for two guests asking together, holds the services\' programs with their libraries, and is found again', async () => {
    process.env.CELLCTL_CACHE_DIR = cache;
    const { libvirtRootImage } = await import('../../../src/drivers/libvirt/root-image.js');
    const [a, b] = await Promise.all([libvirtRootImage(), libvirtRootImage()]);
    expect(a).toBe(b);
    expect(a.built).toBe(true);
    expect(a.path.startsWith(join(cache, 'libvirt-root'))).toBe(true);
    expect(readdirSync(join(a.path, '..'))).toEqual(['root.img']); // no temporary left
    const ls = async (dir: string) => String((await execa('debugfs', ['-R', `ls -l ${dir}`, a.path])).stdout);
    const sbin = await ls('/usr/sbin');
    for (const p of ['afsd', 'bosserver', 'krb5kdc', 'kdb5_util']) expect(sbin).toContain(` ${p}`);
    const bin = await ls('/usr/bin');
    for (const p of ['fs', 'vos', 'pts', 'kinit', 'aklog', 'busybox']) expect(bin).toMatch(new RegExp(` ${p}\\b`));
    const lib = await ls('/usr/lib/x86_64-linux-gnu');
    // libkrb5, and what ldd does not name: krb5kdc's event loop backend (dlopen) with its libev
    for (const l of ['libkrb5.so.3', 'libverto-libev.so.1', 'libev.so.4']) expect(lib).toContain(l);
    expect(bin).toMatch(/ pagsh\b/); // a link update-alternatives made (openafs-client's postinst)
    expect(String((await execa('debugfs', ['-R', 'stat /etc/alternatives/pagsh', a.path])).stdout)).toContain('Fast link dest: "/usr/bin/pagsh.openafs"');
    expect(await ls('/etc/openafs')).toContain('afs.conf'); // the package's own files; the cell's CellServDB is written by cellctl
    // another process (the compiled CLI's module) finds it in the cache
    const dist = resolve('dist/src/drivers/libvirt/root-image.js');
    const r = await execa(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(dist)}); console.log(JSON.stringify(await m.libvirtRootImage()))`], { env: { CELLCTL_CACHE_DIR: cache } });
    expect(JSON.parse(String(r.stdout))).toEqual({ path: a.path, built: false, ms: 0 });
  }, 300_000);
});
