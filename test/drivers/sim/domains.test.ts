// Hosts and domains in the simulated Xen: memory accounting, xm's refusals, ids, devices, images.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asApplied, errorOf, guest, host, res, rig, type Rig, withAttrs } from './helpers.js';

let t: Rig;
afterEach(() => t?.cleanup());

describe('memory accounting', () => {
  it('reserves guest memory on top of dom0 and refuses a domain that does not fit, like xm', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a', { memory: 512 })]);
    let st = await t.sim.status();
    expect(st.hosts).toEqual([{ name: 'kraken', memory: 1024, used: 768, free: 256 }]);

    const msg = await errorOf(t.sim.create(guest('b', { memory: 384 })));
    expect(msg).toContain("Error: (12, 'Cannot allocate memory')");
    expect(msg).toContain('needs 384 MiB');
    expect(msg).toContain('kraken has 256 MiB free');
    st = await t.sim.status();
    expect(st.hosts[0]!.free).toBe(256); // nothing leaked
    expect(st.domains.map((d) => d.name)).toEqual(['Domain-0', 'a']);
    // the failed create still shows its xm lines on the console
    expect(await t.sim.console('b')).toContain('Using config file "b".');
  });

  it('lists Domain-0 with dom0 memory, then guests with ids, vifs and state', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a'), guest('b', { vifs: [{ mac: 'm1', bridge: 'bridge3' }, { mac: 'm2', bridge: 'bridge4' }] })]);
    const st = await t.sim.status();
    expect(st.domains).toEqual([
      { id: 0, name: 'Domain-0', host: 'kraken', state: 'running', memory: 256, vifs: [] },
      { id: 1, name: 'a', host: 'kraken', state: 'running', memory: 128, vifs: ['vif1.0'] },
      { id: 2, name: 'b', host: 'kraken', state: 'running', memory: 128, vifs: ['vif2.0', 'vif2.1'] },
    ]);
  });

  it('balloons memory in place within maxmem and adjusts the host', async () => {
    t = rig();
    const g = guest('a', { memory: 256, maxmem: 512 });
    await t.apply([host('kraken'), g]);
    const grown = withAttrs(g, { memory: 448 });
    const out = await t.sim.update(asApplied('guest.a', t.applied['guest.a']!), grown);
    expect(out).toMatchObject({ memory: 448, domid: 1 });
    expect((await t.sim.status()).hosts[0]).toMatchObject({ used: 704, free: 320 });

    const tooBig = withAttrs(g, { memory: 600 });
    expect(await errorOf(t.sim.update(asApplied('guest.a', t.applied['guest.a']!), tooBig))).toContain('above maxmem 512 MiB');
    const kernel = withAttrs(g, { kernel: 'linux-2.6.16-xen-3.0.2' });
    expect(await errorOf(t.sim.update(asApplied('guest.a', t.applied['guest.a']!), kernel))).toContain('kernel cannot change on a running domain');
  });

  it('refuses to balloon up past what the host has free', async () => {
    t = rig();
    const g = guest('a', { memory: 128, maxmem: 1024 });
    await t.apply([host('kraken'), g, guest('b', { memory: 512 })]);
    const msg = await errorOf(t.sim.update(asApplied('guest.a', t.applied['guest.a']!), withAttrs(g, { memory: 300 })));
    expect(msg).toContain('needs 172 MiB more');
    expect(msg).toContain('kraken has 128 MiB free');
  });

  it('frees memory on xm destroy', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a', { memory: 700 })]);
    await t.destroy('guest.a');
    expect((await t.sim.status()).hosts[0]!.free).toBe(768);
    await t.apply([guest('c', { memory: 700 })]);
  });
});

describe('domain ids', () => {
  it('increase monotonically and are never reused, even after destroy or a failed create', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a'), guest('b')]);
    await t.destroy('guest.a');
    await errorOf(t.sim.create(guest('big', { memory: 2048 }))); // built as id 3, then refused
    const out = await t.sim.create(guest('c'));
    expect(out).toMatchObject({ domid: 4, host: 'kraken' });
    expect(await errorOf(t.sim.create(guest('b')))).toContain("Error: Domain 'b' already exists with ID '2'");
  });

  it('gives a restarted domain a new id (xm shutdown, then start)', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a', { memory: 200 })]);
    await t.sim.xm('a', 'shutdown');
    let st = await t.sim.status();
    expect(st.domains[1]).toMatchObject({ id: null, state: 'shutdown', vifs: [] });
    expect(st.hosts[0]!.used).toBe(256); // a shut-down domain holds no memory
    const back = await t.sim.xm('a', 'start');
    expect(back).toMatchObject({ id: 2, state: 'running', vifs: ['vif2.0'] });
    st = await t.sim.status();
    expect(st.hosts[0]!.used).toBe(456);
    const con = await t.sim.console('a');
    expect(con.match(/Started domain a/g)).toHaveLength(2);
    expect(con).toContain('System halted.');
  });

  it('pauses, and keeps memory for a crashed domain until it is started again', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a')]);
    expect((await t.sim.xm('a', 'pause')).state).toBe('paused');
    expect(await errorOf(t.sim.xm('a', 'pause'))).toContain('domain is paused');
    await t.sim.xm('a', 'unpause');
    await t.sim.xm('a', 'crash');
    expect((await t.sim.status()).hosts[0]!.used).toBe(384);
    expect(await t.sim.console('a')).toContain('Kernel panic - not syncing: crash injected by the cellctl simulator');
    expect(await t.sim.xm('a', 'start')).toMatchObject({ id: 2, state: 'running' });
  });
});

describe('devices', () => {
  it('attaches vifs only to bridges the host has, with the hotplug error otherwise', async () => {
    t = rig();
    await t.apply([host('kraken')]);
    const msg = await errorOf(t.sim.create(guest('a', { vifs: [{ mac: 'm', bridge: 'bridge5' }] })));
    expect(msg).toContain('Error: Device 0 (vif) could not be connected. Could not find bridge device bridge5');
  });

  it('needs phy: devices to exist on the host', async () => {
    t = rig();
    await t.apply([host('kraken')]);
    const msg = await errorOf(t.sim.create(guest('a', { disks: ['phy:/dev/wd9d,0x02,w'] })));
    expect(msg).toBe('xm create a: Error: Device 2 (vbd) could not be connected. /dev/wd9d does not exist.');
  });

  it('refuses a device another domain has writable, but shares read-only', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a', { disks: ['phy:/dev/wd2d,0x02,w', 'phy:/dev/wd3e,0x03,r'] })]);
    const msg = await errorOf(t.sim.create(guest('b', { disks: ['phy:/dev/wd2d,hda1,r'] })));
    expect(msg).toContain('Device 769 (vbd) could not be connected. Device /dev/wd2d is mounted in a guest domain, and so cannot be mounted now.');
    expect(msg).toContain('in use by a, id 1');
    await t.apply([guest('c', { disks: ['phy:/dev/wd3e,xvda,r'] })]);
    // once a is destroyed, the device is free again
    await t.destroy('guest.a');
    await t.apply([guest('b', { disks: ['phy:/dev/wd2d,hda1,w'] })]);
  });

  it('treats file images like devices: one writer at a time', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a', { disks: ['file:/srv/shared.img,0x301,w'] })]);
    const msg = await errorOf(t.sim.create(guest('b', { disks: ['file:/srv/shared.img,0x301,w'] })));
    expect(msg).toContain('File /srv/shared.img is loopback-mounted through /dev/loop0, which is mounted in a guest domain');
  });

  it('creates file: images as sparse files under the state dir and removes them on destroy', async () => {
    t = rig();
    await t.apply([host('kraken'), guest('a', { disks: ['file:/local/xen/a/wd0.img,0x01,w', 'tap:aio:/x/wd0.img,0x02,w', 'phy:/dev/wd2d,0x03,w'] })]);
    const img = join(t.ctx.stateDir, 'sim', 'images', 'a', 'wd0.img');
    const img2 = join(t.ctx.stateDir, 'sim', 'images', 'a', '0x02-wd0.img');
    expect(statSync(img).size).toBe(1 << 30);
    expect(statSync(img).blocks * 512).toBeLessThan(1 << 20); // sparse: no real blocks
    expect(existsSync(img2)).toBe(true);
    await t.destroy('guest.a');
    expect(existsSync(img)).toBe(false);
    expect(existsSync(join(t.ctx.stateDir, 'sim', 'images', 'a'))).toBe(false);
  });
});

describe('hypervisor checks', () => {
  it('needs vmx or svm for hvm guests', async () => {
    t = rig();
    await t.apply([host('kraken')]);
    const msg = await errorOf(t.sim.create(guest('w', { type: 'hvm' })));
    expect(msg).toContain('HVM guest support is unavailable: is VT/AMD-V supported by your CPU');
    await t.apply([host('vt', { cpu_features: ['pae', 'vmx'] }), guest('w2', { type: 'hvm', host: 'vt' })]);
  });

  it("refuses a paravirtualised kernel built for another Xen major", async () => {
    t = rig();
    await t.apply([host('kraken')]);
    const msg = await errorOf(t.sim.create(guest('old', { os: 'linux-2.4', kernel: 'linux-2.4.30-xen-2.0' })));
    expect(msg).toContain('Xen will only load images built for Xen v3.0');
    expect(msg).toContain('built for Xen 2.0');
  });

  it('fails clearly on an unknown kernel and an unknown host', async () => {
    t = rig();
    await t.apply([host('kraken')]);
    expect(await errorOf(t.sim.create(guest('x', { kernel: 'no-such-kernel' })))).toContain('Kernel image does not exist');
    expect(await errorOf(t.sim.create(guest('y', { host: 'nowhere' })))).toContain('host nowhere is not provisioned');
  });
});

describe('hosts', () => {
  it('refuses to delete a host with domains, or to pull a bridge out from under a vif', async () => {
    t = rig();
    const h = host('kraken');
    await t.apply([h, guest('a')]);
    expect(await errorOf(t.destroy('host.kraken'))).toContain('still has domains: a (id 1)');
    const noBridge = res('host', 'kraken', { ...h.attrs, bridges: ['bridge3'] });
    expect(await errorOf(t.sim.update(asApplied('host.kraken', t.applied['host.kraken']!), noBridge))).toContain('bridge bridge4 is in use by vif1.0 (a)');
    const smaller = res('host', 'kraken', { ...h.attrs, memory: 300 });
    expect(await errorOf(t.sim.update(asApplied('host.kraken', t.applied['host.kraken']!), smaller))).toContain('its domains hold 128 MiB');
    const bigger = res('host', 'kraken', { ...h.attrs, memory: 2048 });
    expect(await t.sim.update(asApplied('host.kraken', t.applied['host.kraken']!), bigger)).toMatchObject({ free_memory: 1664 });
    await t.destroy('guest.a');
    await t.destroy('host.kraken');
    expect((await t.sim.status()).hosts).toEqual([]);
  });

  it("takes dom0 memory from the catalog when the cell doesn't say", async () => {
    t = rig();
    expect(await t.sim.create(host('kraken', { dom0_memory: 0 }))).toMatchObject({ dom0_memory: 256, free_memory: 768 });
    expect(await errorOf(t.sim.create(host('tiny', { memory: 128, dom0_memory: 128 })))).toContain('leaves no memory for guests');
  });
});
