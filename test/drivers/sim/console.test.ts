// Boot consoles and kernel logs, checked against the seed's transcripts, and module loading.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, guest, host, res, rig, seedResources, type Rig, withAttrs } from './helpers.js';

let t: Rig;
afterEach(() => t?.cleanup());

// Seed Example 1, `xm create -c service-m1` (the slide wraps one "cpu0: features" line; joined here).
const SERVICE_M1 = `Using config file "service-m1".
Started domain service-m1
Copyright (c) 1996, 1997, 1998, 1999, 2000, 2001, 2002, 2003, 2004, 2005
The NetBSD Foundation, Inc. All rights reserved.
Copyright (c) 1982, 1986, 1989, 1991, 1993
The Regents of the University of California. All rights reserved.
NetBSD 3.1 (XEN3_DOMU-nodebug) #0: Thu Nov 9 20:52:31 CST 2006
root@waffle-1.tproa.net:/usr/src/sys/arch/i386/compile/XEN3_DOMU-nodebug
total memory = 252 MB
avail memory = 246 MB
mainbus0 (root)
cpu0 at mainbus0: (uniprocessor)
cpu0: Intel (686-class), 2999.99 MHz, id 0xf62
cpu0: features bfebfbff<FPU,VME,DE,PSE,TSC,MSR,PAE,MCE,CX8,APIC,SEP,MTRR>
cpu0: features bfebfbff<PGE,MCA,CMOV,PAT,PSE36,CFLUSH,DS,ACPI,MMX>
cpu0: features bfebfbff<FXSR,SSE,SSE2,SS,HTT,TM,SBF>
cpu0: I-cache 12K u0p cache 8-way
cpu0: ITLB 4K/4M: 128 entries
cpu0: DTLB 4K/4M: 64 entries
hypervisor0 at mainbus0`;

// Seed Example 2, `xm create -c shea` (the slide wraps the version line; joined here).
const SHEA = `Using config file "shea".
Started domain shea
Linux version 2.6.16-xen (kula@shea.awesmoe.org) (gcc version 4.1.2 20061115 (prerelease) (Debian 4.1.1-21)) #1 SMP Thu May 3 16:40:12 EDT 2007
BIOS-provided physical RAM map:
Xen: 0000000000000000 - 0000000008000000 (usable)
136MB LOWMEM available.
ACPI in unprivileged domain disabled
IRQ lockup detection disabled
Built 1 zonelists
Kernel command line: root=/dev/hda1 ro
Enabling fast FPU save and restore... done.
Enabling unmasked SIMD FPU exception support... done.
Initializing CPU#0
PID hash table entries: 1024 (order: 10, 16384 bytes)
Xen reported: 2999.994 MHz processor.`;

// Seed Example 2, "Let's Do The Unknown Symbol Hustle!"
const HUSTLE = [
  "Apr 27 16:55:23 shea kernel: openafs: module license 'http://www.openafs.org/dl/license10.html' taints kernel.",
  'Apr 27 16:55:23 shea kernel: openafs: Unknown symbol force_evtchn_callback',
  'Apr 27 16:55:23 shea kernel: openafs: Unknown symbol xen_features',
];

describe('boot console', () => {
  it('prints the seed transcript for service-m1 (NetBSD 3.1, 256 MB)', async () => {
    t = rig('tproa.net');
    const rs = seedResources('tproa');
    const out = await t.sim.create(rs[0]!).then(() => t.sim.create(rs[1]!));
    expect(out).toMatchObject({ domid: 1, host: 'kraken', console_lines: SERVICE_M1.split('\n').length });
    expect(await t.sim.console('service-m1')).toBe(SERVICE_M1 + '\n');
  });

  it('prints the seed transcript for shea (2.6.16-xen, 128 MB)', async () => {
    t = rig('awesmoe.org');
    const rs = seedResources('awesmoe');
    await t.apply(rs.slice(0, 2));
    expect(await t.sim.console('shea')).toBe(SHEA + '\n');
  });

  it('derives the memory figures from the configured memory', async () => {
    t = rig();
    await t.apply([
      host('kraken', { memory: 2048 }),
      guest('nb', { os: 'netbsd-3.1', kernel: 'netbsd-3.1-xen3-domu-nodiag', memory: 512, root: '/dev/wd0d' }),
      guest('lx', { kernel: 'linux-2.6.16-xen-3.0.2', memory: 256, root: '/dev/sda1' }),
    ]);
    const nb = await t.sim.console('nb');
    expect(nb).toContain('total memory = 508 MB\navail memory = 502 MB');
    const lx = await t.sim.console('lx');
    expect(lx).toContain('Xen: 0000000000000000 - 0000000010000000 (usable)\n264MB LOWMEM available.');
    expect(lx).toContain('Kernel command line: root=/dev/sda1');
  });

  it('prints a short generic banner for a kernel read from real artifacts', async () => {
    t = rig();
    const kdir = join(t.dir, 'linux-headers');
    mkdirSync(join(kdir, 'include', 'config'), { recursive: true });
    writeFileSync(join(kdir, 'include', 'config', 'kernel.release'), '6.1.0-sim\n');
    writeFileSync(join(kdir, 'Module.symvers'), '0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\n0x00000000\txen_features\tvmlinux\tEXPORT_SYMBOL_GPL\n');
    await t.apply([host('kraken'), guest('real', { kernel: join(kdir, 'Module.symvers'), memory: 64 })]);
    const con = await t.sim.console('real');
    expect(con).toContain('Linux version 6.1.0-sim #1 SMP');
    expect(con).toContain('Xen: 0000000000000000 - 0000000004000000 (usable)');
    expect(con).toContain('Xen reported: 2999.994 MHz processor.');
    // the non-GPL module still can't have the GPL-only export, and misses what the kernel lacks
    const msg = await errorOf(t.sim.create(res('module', 'real.openafs', { guest: 'real', module: 'openafs-1.4.2-linux', name: 'openafs' })));
    expect(msg).toContain('kernel: openafs: Unknown symbol xen_features');
    expect(msg).toContain('kernel: openafs: Unknown symbol register_filesystem');
    expect(msg).not.toContain('Unknown symbol printk');
  });

  it("answers xm's error for an unknown domain, and keeps a destroyed domain's console", async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a')]);
    expect(await errorOf(t.sim.console('zz'))).toBe("Error: Domain 'zz' does not exist.");
    await t.destroy('guest.a');
    const past = await t.sim.console('a');
    expect(past).toContain('Started domain a');
    expect(past).toContain('[xm destroy a]');
    expect(past).toContain('[domain a no longer exists]');
  });
});

describe('kernel modules', () => {
  it("fails openafs on Xen 3.0.2's 2.6.16-xen with the seed's three log lines", async () => {
    t = rig('awesmoe.org');
    const rs = seedResources('awesmoe');
    await t.apply(rs.slice(0, 2));
    expect(rs[2]!.address).toBe('module.shea.openafs');
    const msg = await errorOf(t.sim.create(rs[2]!));
    expect(msg).toContain('FATAL: Error inserting openafs (/lib/modules/2.6.16-xen/fs/openafs.ko): Unknown symbol in module');
    expect(msg).toContain(HUSTLE.join('\n'));
    expect(msg).toContain('Xen >= 3.0.3');
    const con = await t.sim.console('shea');
    expect(con).toContain(`--- shea:/var/log/messages ---\n${HUSTLE.join('\n')}`);
    // the AFS client can't start without its module
    await t.apply(rs.slice(3, -1));
    const client = rs[rs.length - 1]!;
    expect(client.type).toBe('afs-client');
    const cmsg = await errorOf(t.sim.create(client));
    expect(cmsg).toContain('Failed to load AFS kernel module, not starting AFS');
    expect(cmsg).toContain('Unknown symbol in module');
  });

  it("loads openafs on Xen 3.0.3's kernel: tainted, but no unknown symbols", async () => {
    t = rig('awesmoe.org');
    const rs = seedResources('awesmoe-fixed');
    await t.apply(rs.slice(0, 3));
    expect(t.applied['module.shea.openafs']!.outputs).toEqual({ loaded: true, path: '/lib/modules/2.6.16.29-xen/fs/openafs.ko', tainted: true });
    const con = await t.sim.console('shea');
    expect(con).toContain("Apr 27 16:55:23 shea kernel: openafs: module license 'http://www.openafs.org/dl/license10.html' taints kernel.");
    expect(con).not.toContain('Unknown symbol');
    // the taint warning is printed once per boot, like the real kernel
    await t.destroy('module.shea.openafs');
    await t.apply([rs[2]!]);
    expect((await t.sim.console('shea')).match(/taints kernel/g)).toHaveLength(1);
    await t.sim.xm('shea', 'reboot');
    expect((await t.sim.console('shea')).match(/taints kernel/g)).toHaveLength(2);
  });

  it('refuses nnpfs on the stock DEBUG,DIAGNOSTIC NetBSD kernel and loads it on the -nodiag rebuild', async () => {
    t = rig('tproa.net');
    const rs = seedResources('tproa');
    const stock = withAttrs(rs[1]!, { kernel: 'netbsd-3.1-xen3-domu' });
    await t.apply([rs[0]!, stock]);
    expect(await t.sim.console('service-m1')).toContain('NetBSD 3.1 (XEN3_DOMU) #0');
    const mod = rs[2]!;
    expect(mod.address).toBe('module.service-m1.nnpfs');
    const msg = await errorOf(t.sim.create(mod));
    expect(msg).toMatch(/^modload nnpfs on service-m1: modload: \/usr\/lkm\/nnpfs_mod\.o was built without DEBUG,DIAGNOSTIC but the running kernel XEN3_DOMU has them/);
    expect(msg).toContain('rebuild the kernel without options DEBUG,DIAGNOSTIC');

    const t2 = rig('tproa.net');
    try {
      await t2.apply(rs.slice(0, 3));
      expect(t2.applied['module.service-m1.nnpfs']!.outputs).toMatchObject({ loaded: true, tainted: false });
    } finally {
      t2.cleanup();
    }
  });

  const cc = spawnSync('cc', ['--version']).status === 0;
  it.skipIf(!cc)('loads a real .o by path against a kernel read from Module.symvers (skipped without a C compiler)', async () => {
    t = rig();
    const kdir = join(t.dir, 'headers');
    mkdirSync(kdir, { recursive: true });
    writeFileSync(join(kdir, 'Module.symvers'), '0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\n0x00000000\txen_features\tvmlinux\tEXPORT_SYMBOL_GPL\n');
    const build = (name: string, licence: string): string => {
      const src = join(t.dir, `${name}.c`);
      writeFileSync(src, [
        'extern int xen_features[]; extern int printk(const char *, ...);',
        `static const char lic[] __attribute__((section(".modinfo"), used)) = "license=${licence}";`,
        'int init_module(void) { return printk("%d", xen_features[0]); }',
      ].join('\n'));
      const out = join(t.dir, `${name}.o`);
      const r = spawnSync('cc', ['-c', '-o', out, src]);
      if (r.status !== 0) throw new Error(String(r.stderr));
      return out;
    };
    const nongpl = build('afsmini', 'http://www.openafs.org/dl/license10.html');
    const gpl = build('gplmini', 'GPL');
    await t.apply([host('kraken'), guest('real', { kernel: join(kdir, 'Module.symvers') })]);
    const msg = await errorOf(t.sim.create(res('module', 'real.afsmini', { guest: 'real', module: nongpl, name: 'afsmini' })));
    expect(msg).toContain(`FATAL: Error inserting afsmini (${nongpl}): Unknown symbol in module`);
    expect(msg).toContain("real kernel: afsmini: module license 'http://www.openafs.org/dl/license10.html' taints kernel.");
    expect(msg).toContain('real kernel: afsmini: Unknown symbol xen_features');
    expect(msg).not.toContain('Unknown symbol printk');
    expect(await t.sim.create(res('module', 'real.gplmini', { guest: 'real', module: gpl, name: 'gplmini' }))).toMatchObject({ loaded: true, path: gpl });
  });

  it("won't load a module built for another kernel kind, or into a guest that isn't running", async () => {
    t = rig();
    await t.apply([host('kraken'), guest('nb', { os: 'netbsd-3.1', kernel: 'netbsd-3.1-xen3-domu-nodiag' })]);
    const msg = await errorOf(t.sim.create(res('module', 'nb.openafs', { guest: 'nb', module: 'openafs-1.4.2-linux', name: 'openafs' })));
    expect(msg).toContain('is a linux module; nb runs a netbsd kernel');
    await t.sim.xm('nb', 'pause');
    expect(await errorOf(t.sim.create(res('module', 'nb.nnpfs', { guest: 'nb', module: 'arla-0.43-nnpfs', name: 'nnpfs' })))).toContain('guest nb is paused');
    expect(await errorOf(t.sim.create(res('module', 'nb.x', { guest: 'nb', module: 'nonesuch', name: 'x' })))).toContain('guest nb is paused');
    await t.sim.xm('nb', 'unpause');
    expect(await errorOf(t.sim.create(res('module', 'nb.x', { guest: 'nb', module: 'nonesuch', name: 'x' })))).toContain("module 'nonesuch' is neither a catalog id nor a path");
  });
});
