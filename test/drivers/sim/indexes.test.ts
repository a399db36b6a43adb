// The sim's derived indexes (memory, devices and domains per host; replicas' kprop copies) agree with
// a full recount of the world after every kind of change, and are rebuilt from a saved world.
import { afterEach, describe, expect, it } from 'vitest';
import { usage } from '../../../src/drivers/sim/hosts.js';
import { buildIndex, indexOf, indexSummary } from '../../../src/drivers/sim/indexes.js';
import type { World } from '../../../src/drivers/sim/world.js';
import { errorOf, guest, host, res, rig, type Rig, withAttrs } from './helpers.js';

let t: Rig;
afterEach(() => t?.cleanup());

/** Per host, from scratch: domains placed there, memory of the live ones, live users of each disk target. */
function recount(w: World): ReturnType<typeof indexSummary> {
  const out: ReturnType<typeof indexSummary> = {};
  for (const d of Object.values(w.domains)) {
    const h = (out[d.host] ??= { domains: [], memory: 0, disks: {} });
    h.domains.push(d.name);
    if (d.domid === null) continue;
    h.memory += d.memory;
    for (const x of d.disks) ((h.disks[x.target] ??= {})[d.name] ??= []).push(x.mode);
  }
  for (const h of Object.values(out)) {
    h.domains.sort();
    for (const users of Object.values(h.disks)) for (const modes of Object.values(users)) modes.sort();
  }
  return out;
}

function agrees(w: World): void {
  const counted = recount(w);
  expect(indexSummary(indexOf(w))).toEqual(counted);
  expect(indexSummary(buildIndex(w))).toEqual(counted);
  for (const h of Object.values(w.hosts)) expect(usage(w, h.name).domains).toBe(counted[h.name]?.memory ?? 0);
}

const SAN = { shared_storage: ['/san'], devices: ['/dev/wd2d', '/dev/wd3e'] };
const vif = (n: number) => [{ mac: `00:16:3e:00:00:0${n}`, bridge: 'bridge4', ip: `10.4.0.${n}` }];

describe('sim indexes', () => {
  it('agree with a full recount after creates, balloons, migrations, lifecycle, destroys and a snapshot round trip', async () => {
    t = rig();
    await t.apply([host('kraken', SAN), host('kraken2', SAN)]);
    agrees(t.sim.world);
    await t.apply([
      guest('a', { disks: ['file:/san/a/disk.img,0x301,w'], vifs: vif(1) }),
      guest('7', { disks: ['file:/san/shared.img,0x301,r', 'phy:/dev/wd3e,0x302,r'], vifs: vif(2) }),
      guest('b', { disks: ['file:/san/shared.img,0x301,r', 'phy:/dev/wd2d,0x302,w'], vifs: vif(3), memory: 64, maxmem: 256 }),
    ]);
    agrees(t.sim.world);

    // Refusals leave nothing behind, and still name the holder first in the world's order ('7' sorts first, as an index key).
    expect(await errorOf(t.sim.create(guest('c', { disks: ['file:/san/shared.img,0x301,w'], vifs: vif(4) }))))
      .toContain('File /san/shared.img is loopback-mounted through /dev/loop0, which is mounted in a guest domain, and so cannot be mounted now. (in use by 7, id 2, mode r)');
    expect(await errorOf(t.sim.create(guest('c', { memory: 900, vifs: vif(4) })))).toContain("(12, 'Cannot allocate memory')");
    agrees(t.sim.world);

    const prior = (name: string) => ({ ...t.applied[`guest.${name}`]!, address: `guest.${name}`, name });
    const balloon = (name: string, memory: number) => t.sim.update(prior(name), withAttrs(guest(name), { ...prior(name).attrs, memory }));
    await balloon('b', 200);
    agrees(t.sim.world);
    await balloon('b', 32);
    agrees(t.sim.world);

    await t.sim.migrate('a', 'kraken2');
    agrees(t.sim.world);
    expect(await errorOf(t.sim.create(guest('d', { host: 'kraken2', disks: ['file:/san/a/disk.img,0x301,r'], vifs: vif(5) })))).toContain('(in use by a, id 1, mode w)');
    await t.apply([guest('d', { disks: ['file:/san/a/disk.img,0x301,r'], vifs: vif(5) })]); // a left kraken: free there
    agrees(t.sim.world);

    await t.sim.xm('b', 'shutdown');
    agrees(t.sim.world);
    await t.apply([guest('e', { disks: ['phy:/dev/wd2d,0x301,w'], vifs: vif(6) })]); // b's device is free while it is down
    expect(await errorOf(t.sim.xm('b', 'start'))).toContain('Device /dev/wd2d is mounted in a guest domain');
    agrees(t.sim.world);
    await t.destroy('guest.e');
    await t.sim.xm('b', 'start');
    agrees(t.sim.world);
    await t.sim.xm('7', 'crash'); // a crashed domain keeps its memory and devices
    agrees(t.sim.world);
    await t.sim.xm('7', 'start');
    await t.sim.xm('d', 'reboot');
    agrees(t.sim.world);

    // A later command reads the saved world: its indexes are counted anew, then kept up as before.
    const t2 = t.reopen();
    try {
      agrees(t2.sim.world);
      expect(await errorOf(t2.destroy('host.kraken2'))).toBe('host kraken2 still has domains: a (id 1); destroy them first');
      await t2.destroy('guest.d');
      await t2.sim.migrate('a', 'kraken');
      agrees(t2.sim.world);
      for (const name of ['a', '7', 'b']) await t2.destroy(`guest.${name}`);
      agrees(t2.sim.world);
      expect(indexSummary(indexOf(t2.sim.world))).toEqual({});
      expect((await t2.sim.status()).hosts.map((h) => h.used)).toEqual([256, 256]);
    } finally {
      t2.cleanup();
    }
  });

  it('keeps a reachable replica an exact copy of the master database, and a missed one stale until the next kprop', async () => {
    t = rig('example.org');
    const realm = 'EXAMPLE.ORG';
    const kdc = (g: string, role: string) => res('kdc', g, { guest: g, realm, role, master: 'm', software: 'mit-krb5-1.4.4', kdcs: ['m', 'r'] });
    const principal = (p: string) => res('principal', p, { realm, principal: p, kdc: 'm' });
    await t.apply([host('kraken'), guest('m', { vifs: vif(1) }), guest('r', { vifs: vif(2) }), kdc('m', 'master'), kdc('r', 'replica'), principal('p1')]);
    const db = (w: World, g: string) => JSON.stringify(w.kdcs[g]!.db);
    expect(db(t.sim.world, 'r')).toBe(db(t.sim.world, 'm'));
    await t.sim.xm('r', 'pause');
    await t.apply([principal('p2')]);
    await t.destroy('principal.p1');
    expect(Object.keys(t.sim.world.kdcs.r!.db)).toContain('p1@EXAMPLE.ORG');
    expect(Object.keys(t.sim.world.kdcs.r!.db)).not.toContain('p2@EXAMPLE.ORG');
    await t.sim.xm('r', 'unpause');
    await t.apply([principal('p3')]);
    expect(db(t.sim.world, 'r')).toBe(db(t.sim.world, 'm'));
    await t.destroy('principal.p2');
    expect(db(t.sim.world, 'r')).toBe(db(t.sim.world, 'm'));
    const t2 = t.reopen();
    try {
      await t2.apply([principal('p4')]);
      expect(db(t2.sim.world, 'r')).toBe(db(t2.sim.world, 'm'));
    } finally {
      t2.cleanup();
    }
  });
});
