// The kernel and initramfs a guest boots from, built from this machine's kernel and busybox into a
// private cache dir (so the cold path really runs), then found in the cache.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestInitramfs, moduleClosure, INIT_MODULES } from '../../../src/drivers/vm/initramfs.js';
import { guestKernel, hostKernelImage, type GuestKernel } from '../../../src/drivers/vm/kernel.js';
import { hasPvhNote, isElf, isStaticElf, vmlinuxRelease } from '../../../src/drivers/vm/kimage.js';

function environment(): { ok: boolean; reason: string } {
  let release: string;
  try {
    release = hostKernelImage().release;
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (!existsSync(`/lib/modules/${release}/modules.dep`)) return { ok: false, reason: `no /lib/modules/${release}` };
  if (!existsSync('/bin/busybox') || !isStaticElf(readFileSync('/bin/busybox'))) return { ok: false, reason: 'no static /bin/busybox (busybox-static)' };
  for (const [cmd, arg] of [['xz', '--version'], ['modprobe', '--version'], ['cpio', '--version']]) {
    try {
      execaSync(cmd!, [arg!]);
    } catch {
      return { ok: false, reason: `no ${cmd}` };
    }
  }
  return { ok: true, reason: '' };
}
const env = environment();

describe.skipIf(!env.ok)(`guest boot files${env.ok ? '' : ` (skipped: ${env.reason})`}`, () => {
  const saved = process.env.CELLCTL_CACHE_DIR;
  let cache: string; // made in beforeAll: a skipped describe still runs its body
  let kernel: GuestKernel;
  let coldMs = 0;
  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'vmkit-cache-'));
    process.env.CELLCTL_CACHE_DIR = cache;
    const t0 = Date.now();
    kernel = await guestKernel();
    coldMs = Date.now() - t0;
  }, 60_000);
  afterAll(() => {
    if (saved === undefined) delete process.env.CELLCTL_CACHE_DIR;
    else process.env.CELLCTL_CACHE_DIR = saved;
    if (cache) rmSync(cache, { recursive: true, force: true });
  });

  it('extracts a PVH-bootable ELF vmlinux of the installed-headers kernel into the cache, once', async () => {
    const host = hostKernelImage();
    expect(kernel.release).toBe(host.release);
    expect(kernel.image).toBe(host.image);
    expect(kernel.pvh).toBe(true);
    expect(kernel.boot.startsWith(join(cache, 'kernels', host.release))).toBe(true);
    const elf = readFileSync(kernel.boot);
    expect(isElf(elf) && hasPvhNote(elf)).toBe(true);
    expect(vmlinuxRelease(elf)).toBe(host.release);
    expect(kernel.modulesDir).toBe(`/lib/modules/${host.release}`);

    const mtime = statSync(kernel.boot).mtimeMs;
    const t0 = Date.now();
    const again = await guestKernel();
    const warmMs = Date.now() - t0;
    console.log(`vmlinux: cold ${coldMs} ms, cached ${warmMs} ms`);
    expect(again.boot).toBe(kernel.boot);
    expect(statSync(again.boot).mtimeMs).toBe(mtime);
  });

  it('takes a caller-given ELF image as it is, and refuses a file that is no kernel', async () => {
    const given = await guestKernel({ image: kernel.boot });
    expect(given).toMatchObject({ boot: kernel.boot, pvh: true, release: kernel.release });
    await expect(guestKernel({ image: '/etc/hostname' })).rejects.toThrow(/neither an ELF vmlinux nor a bzImage/);
    await expect(guestKernel({ image: join(cache, 'absent') })).rejects.toThrow(/kernel image .*absent/);
  });

  it('resolves the init modules with their dependencies first, each once, and names a missing one', async () => {
    const mods = (await moduleClosure(kernel, INIT_MODULES)).map((m) => m.name);
    expect(new Set(mods).size).toBe(mods.length);
    for (const m of INIT_MODULES) expect(mods).toContain(m);
    expect(mods.indexOf('9pnet')).toBeLessThan(mods.indexOf('9pnet_virtio'));
    expect(mods.indexOf('virtio')).toBeLessThan(mods.indexOf('virtio_pci'));
    await expect(moduleClosure(kernel, ['no_such_module_vmkit'])).rejects.toThrow(/no_such_module_vmkit/);
  });

  it('builds the initramfs once: busybox, applet links, /init, agent, modules in load order', async () => {
    const t0 = Date.now();
    const built = await guestInitramfs(kernel);
    const t1 = Date.now();
    const cached = await guestInitramfs(kernel);
    console.log(`initramfs: cold ${t1 - t0} ms, cached ${Date.now() - t1} ms`);
    expect(built.built).toBe(true);
    expect(cached).toEqual({ ...built, built: false });
    const list = String(execaSync('sh', ['-c', `gzip -dc '${built.path}' | cpio -t --quiet`]).stdout).split('\n');
    for (const f of ['init', 'bin/busybox', 'bin/sh', 'bin/switch_root', 'dev/console', 'cellctl/agent.sh', 'cellctl/stage2.sh', 'modules/order']) {
      expect(list).toContain(f);
    }
    for (const m of built.modules) expect(list).toContain(`modules/${m}.ko`);
    const order = String(execaSync('sh', ['-c', `gzip -dc '${built.path}' | cpio -i --quiet --to-stdout modules/order`]).stdout);
    expect(order.trim().split('\n').map((l) => l.split(' ')[0])).toEqual(built.modules);
  });
});
