// Live migration: refused with the reason (bridge, storage, memory, hypervisor), or done with the
// domain moving, memory moving with it, a new id on the target, and the services still working.
import { afterEach, describe, expect, it } from 'vitest';
import type { Check } from '../../../src/drivers/driver.js';
import { errorOf, guest, host, linuxCell, rig, type Rig } from './helpers.js';

let t: Rig;
afterEach(() => t?.cleanup());

const SAN = { shared_storage: ['/san'], devices: ['/dev/wd2d', '/dev/san/lun0'] };
const pair = (over2: Record<string, unknown> = {}) => [
  host('kraken', { ...SAN, shared_storage: ['/san', '/dev/san'] }),
  host('kraken2', { ...SAN, shared_storage: ['/san', '/dev/san'], bridges: ['bridge4'], ...over2 }),
];

describe('migration refused', () => {
  it('when the target lacks a bridge the guest uses', async () => {
    t = rig();
    await t.apply([...pair(), guest('g', { disks: ['file:/san/g/disk.img,0x301,w'], vifs: [{ mac: '00:16:3e:00:00:09', bridge: 'bridge3' }] })]);
    const msg = await errorOf(t.sim.migrate('g', 'kraken2'));
    expect(msg).toBe('xm migrate --live g kraken2: refused: vif 0 (00:16:3e:00:00:09) is on bridge bridge3, which kraken2 does not have: the hosts are not on the same broadcast domain');
    expect((await t.sim.status()).domains.find((d) => d.name === 'g')).toMatchObject({ host: 'kraken', id: 1 });
  });

  it('when a disk is not on storage both hosts reach', async () => {
    t = rig();
    await t.apply([...pair(), guest('g', { disks: ['file:/local/xen/g/disk.img,0x301,w', 'phy:/dev/wd2d,0x302,w'] })]);
    const msg = await errorOf(t.sim.migrate('g', 'kraken2'));
    expect(msg).toContain('disk file:/local/xen/g/disk.img,0x301,w: /local/xen/g/disk.img is not on storage both hosts reach (shared_storage of kraken: /san, /dev/san; of kraken2: /san, /dev/san)');
    expect(msg).toContain('disk phy:/dev/wd2d,0x302,w: /dev/wd2d is not on storage both hosts reach');
  });

  it('when shared storage is only shared on one side, or the device is missing on the target', async () => {
    t = rig();
    await t.apply([...pair({ shared_storage: ['/other'], devices: ['/dev/wd2d'] }), guest('g', { disks: ['file:/san/g/d.img,0x301,w', 'phy:/dev/san/lun0,0x302,w'], vifs: [] })]);
    const msg = await errorOf(t.sim.migrate('g', 'kraken2'));
    expect(msg).toContain('/san/g/d.img is not on storage both hosts reach');
    expect(msg).toContain('device /dev/san/lun0 does not exist on kraken2');
  });

  it('when the target has too little free memory', async () => {
    t = rig();
    await t.apply([...pair({ memory: 512, dom0_memory: 256 }), guest('g', { memory: 300, disks: ['file:/san/g/d.img,0x301,w'] })]);
    const msg = await errorOf(t.sim.migrate('g', 'kraken2'));
    expect(msg).toBe("xm migrate --live g kraken2: refused: (12, 'Cannot allocate memory'): g needs 300 MiB but kraken2 has 256 MiB free (512 MiB RAM, dom0 256 MiB, other domains 0 MiB)");
  });

  it('to an older hypervisor, to an unknown host, and for a domain that is not live', async () => {
    t = rig();
    await t.apply([host('new', { xen: '3.0.4', shared_storage: ['/san'] }), host('old', { xen: '3.0.2', shared_storage: ['/san'] }),
      guest('g', { host: 'new', disks: ['file:/san/g/d.img,0x301,w'] })]);
    expect(await errorOf(t.sim.migrate('g', 'old'))).toContain("old runs Xen 3.0.2, older than new's 3.0.4");
    expect(await errorOf(t.sim.migrate('g', 'nowhere'))).toContain('host nowhere is not provisioned');
    expect(await errorOf(t.sim.migrate('zz', 'old'))).toContain("Error: Domain 'zz' does not exist.");
    await t.sim.xm('g', 'shutdown');
    expect(await errorOf(t.sim.migrate('g', 'old'))).toContain('domain g is shutdown; only a live domain can migrate');
  });
});

describe('migration done', () => {
  it('moves the domain and its memory, gives it a new id on the target, and logs it on the console', async () => {
    t = rig();
    await t.apply([...pair(), guest('other', { host: 'kraken2', memory: 64, vifs: [] , disks: ['file:/local/o.img,0x301,w'] }),
      guest('g', { memory: 200, disks: ['file:/san/g/d.img,0x301,w', 'phy:/dev/san/lun0,0x302,w'] })]);
    expect(await t.sim.migrate('g', 'kraken2')).toEqual({ host: 'kraken2', domid: 2 });
    const st = await t.sim.status();
    expect(st.hosts).toEqual([
      { name: 'kraken', memory: 1024, used: 256, free: 768 },
      { name: 'kraken2', memory: 1024, used: 520, free: 504 },
    ]);
    expect(st.domains.find((d) => d.name === 'g')).toEqual({ id: 2, name: 'g', host: 'kraken2', state: 'running', memory: 200, vifs: ['vif2.0'] });
    expect(await t.sim.console('g')).toContain('[xm migrate --live g kraken2: domain 1 on kraken -> domain 2 on kraken2, 200 MiB moved]');
    expect(t.logs).toContain('Migrated g live to kraken2 (domain 2)');
    // and back: ids are never reused on kraken either
    expect(await t.sim.migrate('g', 'kraken')).toEqual({ host: 'kraken', domid: 2 });
  });

  it('keeps the services on the guest working', async () => {
    t = rig('example.org');
    const rs = linuxCell();
    rs[0] = pair()[0]!;
    rs[1] = guest('shea', { disks: ['file:/san/shea/d.img,0x301,w'] });
    await t.apply([...rs, pair()[1]!]);
    const chk = (kind: Check['kind'], params: Check['params']): Check => ({ id: kind, kind, name: kind, guest: 'shea', params });
    await t.sim.migrate('shea', 'kraken2');
    expect((await t.sim.check(chk('client-file-rw', { principal: 'kula', path: '/afs/example.org/after-migration' }))).status).toBe('pass');
    expect((await t.sim.check(chk('client-module', { module: 'openafs-1.4.2-linux' }))).status).toBe('pass');
    expect((await t.sim.check(chk('guest-running', { guest: 'shea' }))).message).toBe('shea is running on kraken2 as domain 1 (128 MiB)');
  });
});
