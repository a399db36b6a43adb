// Kerberos and AFS services in the sim: KDCs and principals, service keys, ubik quorum, volumes,
// pts users, clients, and tearing it all down again.
import { afterEach, describe, expect, it } from 'vitest';
import type { Check } from '../../../src/drivers/driver.js';
import type { Resource } from '../../../src/plan/resources.js';
import { errorOf, guest, host, linuxCell, res, rig, seedResources, type Rig, withAttrs } from './helpers.js';

let t: Rig;
afterEach(() => t?.cleanup());

const check = (kind: Check['kind'], guestName: string | undefined, params: Check['params'] = {}): Check =>
  ({ id: `${kind}@${guestName}`, kind, name: kind, ...(guestName ? { guest: guestName } : {}), params });

/** Three database servers (db1 < db2 < db3 by address), a fileserver and a client, one KDC on db1. */
function threeDbCell(order: string[] = ['db1', 'db2', 'db3']): Resource[] {
  const cell = 'example.org';
  const realm = 'EXAMPLE.ORG';
  const dbs = order;
  const g = (name: string, ip: string) => guest(name, { memory: 64, vifs: [{ mac: `00:16:3e:00:00:${ip.split('.')[3]}`, bridge: 'bridge4', ip }] });
  return [
    host('kraken'),
    g('db3', '10.4.0.3'), g('db1', '10.4.0.1'), g('db2', '10.4.0.2'), g('fs', '10.4.0.20'), g('cl', '10.4.0.30'),
    res('kdc', 'db1', { guest: 'db1', realm, role: 'master', master: 'db1', software: 'mit-krb5-1.4.4', kdcs: ['db1'] }),
    res('principal', 'kula', { realm, principal: 'kula', kdc: 'db1' }),
    res('service-key', `afs/${cell}`, { principal: `afs/${cell}@${realm}`, realm, cell, kdc: 'db1', enctypes: ['aes256-cts-hmac-sha1-96'] }),
    ...dbs.map((d) => res('afs-db', d, { guest: d, cell, software: 'openafs-1.4.2', dbservers: dbs })),
    res('afs-fs', 'fs', { guest: 'fs', cell, software: 'openafs-1.4.2', partitions: ['/vicepa'], dbservers: dbs }),
    res('partition', 'fs./vicepa', { guest: 'fs', path: '/vicepa' }),
    res('volume', 'root.afs', { volume: 'root.afs', server: 'fs', partition: '/vicepa' }),
    res('volume', 'root.cell', { volume: 'root.cell', server: 'fs', partition: '/vicepa' }),
    res('pts-user', 'kula', { user: 'kula', principal: 'kula', admin: true }),
    res('module', 'cl.openafs', { guest: 'cl', module: 'openafs-1.4.2-linux', name: 'openafs' }),
    res('afs-client', 'cl', { guest: 'cl', cell, software: 'openafs-1.4.2', module: 'openafs-1.4.2-linux', dbservers: dbs }),
  ];
}

describe('Kerberos', () => {
  it("fails kinit of an unknown principal with MIT's wording, and logs it on the KDC", async () => {
    t = rig('awesmoe.org');
    await t.apply(seedResources('awesmoe-fixed'));
    const r = await t.sim.check(check('kinit', 'shea', { principal: 'nobody' }));
    expect(r.status).toBe('fail');
    expect(r.message).toBe("kinit: Client 'nobody@AWESMOE.ORG' not found in Kerberos database while getting initial credentials");
    expect(r.detail).toMatch(/shea krb5kdc\[100\]\(info\): AS_REQ .* CLIENT_NOT_FOUND: nobody@AWESMOE.ORG/);
    expect((await t.sim.check(check('kinit', 'shea', { principal: 'kula' }))).status).toBe('pass');
  });

  it('fails kinit when the password is not the one the principal was created with', async () => {
    t = rig('awesmoe.org');
    await t.apply(seedResources('awesmoe-fixed'));
    process.env.CELLCTL_PW_KULA = 'not-the-password';
    try {
      const r = await t.sim.check(check('kinit', 'shea', { principal: 'kula' }));
      expect(r).toMatchObject({ status: 'fail', message: 'kinit: Password incorrect while getting initial credentials' });
    } finally {
      delete process.env.CELLCTL_PW_KULA;
    }
    expect((await t.sim.check(check('kinit', 'shea', { principal: 'kula' }))).status).toBe('pass');
    // a randkey service principal has no password at all
    expect((await t.sim.check(check('kinit', 'shea', { principal: 'afs/awesmoe.org' }))).message).toContain('Password incorrect');
  });

  it("speaks Heimdal's wording for a Heimdal realm, and keys afs/<cell> at kvno 1 (MIT's ktadd makes 2)", async () => {
    t = rig('tproa.net');
    await t.apply(seedResources('tproa'));
    const r = await t.sim.check(check('kinit', 'service-m1', { principal: 'ghost' }));
    expect(r.message).toBe('kinit: krb5_get_init_creds: Client (ghost@TPROA.NET) unknown');
    expect(t.applied['service-key.afs/tproa.net']!.outputs).toMatchObject({ kvno: 1 });
    const t2 = rig('example.org');
    try {
      await t2.apply(linuxCell());
      expect(t2.applied['service-key.afs/example.org']!.outputs).toMatchObject({ kvno: 2 });
    } finally {
      t2.cleanup();
    }
  });

  it('keeps passwords and keys out of the world; only fingerprints', async () => {
    t = rig('awesmoe.org');
    await t.apply(seedResources('awesmoe-fixed'));
    const world = JSON.stringify(t.sim.snapshot());
    const secrets = t.ctx.secrets.all();
    expect(secrets.length).toBeGreaterThanOrEqual(3); // master, kula, krbtgt and afs keys
    for (const s of secrets) expect(world).not.toContain(s);
  });

  it('serves from a replica while the master is down; the replica has what was propagated', async () => {
    t = rig('example.org');
    const realm = 'EXAMPLE.ORG';
    await t.apply([
      host('kraken'),
      guest('m', { vifs: [{ mac: 'a', bridge: 'bridge4', ip: '10.4.0.1' }] }),
      guest('r', { vifs: [{ mac: 'b', bridge: 'bridge4', ip: '10.4.0.2' }] }),
      res('kdc', 'm', { guest: 'm', realm, role: 'master', master: 'm', software: 'mit-krb5-1.4.4', kdcs: ['m', 'r'] }),
      res('kdc', 'r', { guest: 'r', realm, role: 'replica', master: 'm', software: 'mit-krb5-1.4.4', kdcs: ['m', 'r'] }),
      res('principal', 'kula', { realm, principal: 'kula', kdc: 'm' }),
    ]);
    await t.sim.xm('r', 'pause');
    await t.apply([res('principal', 'late', { realm, principal: 'late', kdc: 'm' })]); // kprop can't reach r
    await t.sim.xm('r', 'unpause');
    await t.sim.xm('m', 'pause');
    expect(await t.sim.check(check('kinit', 'r', { principal: 'kula' }))).toMatchObject({ status: 'pass', message: expect.stringContaining('KDC on r') });
    expect((await t.sim.check(check('kinit', 'r', { principal: 'late' }))).message).toContain("Client 'late@EXAMPLE.ORG' not found");
    await t.sim.xm('r', 'pause');
    expect((await t.sim.check(check('kinit', 'm', { principal: 'kula' }))).message).toContain('guest m is paused');
    expect(await errorOf(t.sim.create(res('principal', 'x', { realm, principal: 'x', kdc: 'm' })))).toContain('guest m is paused');
  });
});

describe('ubik quorum', () => {
  it('keeps quorum with 1 of 3 database servers down and loses it with 2', async () => {
    t = rig('example.org');
    await t.apply(threeDbCell());
    const quorumCheck = check('afs-quorum', 'db1', { dbservers: ['db1', 'db2', 'db3'] });
    expect(await t.sim.check(quorumCheck)).toMatchObject({ status: 'pass', message: 'ubik quorum: 3 of 3 database servers up (db1, db2, db3), sync site db1' });

    await t.sim.xm('db1', 'shutdown'); // the sync site goes; the next lowest address takes over
    let r = await t.sim.check(quorumCheck);
    expect(r).toMatchObject({ status: 'pass', message: 'ubik quorum: 2 of 3 database servers up (db2, db3), sync site db2' });
    expect(r.detail).toContain('db1: down (shutdown)');
    await t.apply([res('volume', 'user.kula', { volume: 'user.kula', server: 'fs', partition: '/vicepa' })]);
    expect(t.applied['volume.user.kula']!.outputs).toMatchObject({ volid: 536870918 });

    await t.sim.service('afs-db.db2', 'stop'); // bos shutdown: guest up, servers down
    r = await t.sim.check(quorumCheck);
    expect(r).toMatchObject({ status: 'fail', message: 'no ubik quorum: 1 of 3 database servers up (db3); a majority needs 2' });
    const msg = await errorOf(t.sim.create(res('volume', 'x', { volume: 'x', server: 'fs', partition: '/vicepa' })));
    expect(msg).toBe('vos create fs /vicepa x: no quorum elected (ubik UNOQUORUM: 1 of 3 database servers up (db3); a majority needs 2)');
    expect(await errorOf(t.sim.create(res('pts-user', 'bob', { user: 'bob', principal: 'bob', admin: false })))).toContain('no quorum elected');
    // reads still work from any server
    expect((await t.sim.check(check('volume-listed', undefined, { volume: 'root.cell', server: 'fs', partition: '/vicepa' }))).status).toBe('pass');
    expect((await t.sim.check(check('pts-user', undefined, { user: 'kula' }))).status).toBe('pass');

    await t.sim.service('afs-db.db2', 'start');
    expect((await t.sim.check(quorumCheck)).status).toBe('pass');
  });

  it("breaks a tie with the lowest-addressed server's extra half vote", async () => {
    t = rig('example.org');
    await t.apply(threeDbCell(['db1', 'db2']).filter((r) => r.address !== 'guest.db3'));
    const q = check('afs-quorum', 'db1', { dbservers: ['db1', 'db2'] });
    await t.sim.xm('db2', 'pause');
    expect((await t.sim.check(q)).status).toBe('pass');
    await t.sim.xm('db2', 'unpause');
    await t.sim.xm('db1', 'pause');
    expect((await t.sim.check(q)).status).toBe('fail');
  });
});

describe('AFS servers and clients', () => {
  it('numbers volumes like OpenAFS and moves one with vos move, data and id intact', async () => {
    t = rig('example.org');
    const rs = threeDbCell();
    rs.splice(rs.findIndex((r) => r.type === 'volume'), 0, res('partition', 'fs./vicepb', { guest: 'fs', path: '/vicepb' }));
    await t.apply(rs);
    expect(t.applied['volume.root.afs']!.outputs).toMatchObject({ volid: 536870912 });
    expect(t.applied['volume.root.cell']!.outputs).toMatchObject({ volid: 536870915 });
    await t.sim.aklog('cl', 'kula');
    await t.sim.afsWrite('cl', '/afs/example.org/hello', 'hi\n', 'kula');
    const moved = res('volume', 'root.cell', { volume: 'root.cell', server: 'fs', partition: '/vicepb' });
    expect(await t.sim.update({ ...t.applied['volume.root.cell']!, address: 'volume.root.cell', name: 'root.cell' }, moved))
      .toEqual({ volid: 536870915, server: 'fs', partition: '/vicepb' });
    expect(await t.sim.afsRead('cl', '/afs/example.org/hello', 'kula')).toBe('hi\n');
    expect((await t.sim.check(check('volume-listed', undefined, { volume: 'root.cell', server: 'fs', partition: '/vicepb' }))).status).toBe('pass');
    expect(await errorOf(t.sim.create(res('partition', 'fs.data', { guest: 'fs', path: '/data' })))).toContain('not an AFS partition name');
    expect(await errorOf(t.sim.create(res('volume', 'root.afs', { volume: 'root.afs', server: 'fs', partition: '/vicepa' })))).toContain('Volume root.afs already exists');
  });

  it('will not start a client whose kernel module is not loaded', async () => {
    t = rig('example.org');
    const rs = linuxCell().filter((r) => r.type !== 'module');
    const client = rs.pop()!;
    await t.apply(rs);
    const msg = await errorOf(t.sim.create(client));
    expect(msg).toBe('openafs-client on shea: Failed to load AFS kernel module, not starting AFS (openafs-1.4.2-linux: kernel module openafs-1.4.2-linux is not loaded (it was never loaded on this boot))');
    // a client that needs no module starts
    await t.apply([withAttrs(client, { module: null })]);
    expect((await t.sim.status()).services.find((s) => s.address === 'afs-client.shea')).toMatchObject({ state: 'up' });
  });

  it('refuses to unload the module the client uses; pts admin membership changes in place', async () => {
    t = rig('example.org');
    await t.apply(linuxCell());
    const mod = t.applied['module.shea.openafs']!;
    expect(await errorOf(t.sim.delete({ ...mod, address: 'module.shea.openafs', name: 'shea.openafs' }))).toContain('ERROR: Module openafs is in use');
    const demoted = res('pts-user', 'kula', { user: 'kula', principal: 'kula', admin: false });
    await t.sim.update({ ...t.applied['pts-user.kula']!, address: 'pts-user.kula', name: 'kula' }, demoted);
    expect((await t.sim.check(check('pts-user', undefined, { user: 'kula' }))).message).toBe('kula: id 1');
    // no longer an administrator: root.cell's ACL gives it nothing
    expect((await t.sim.check(check('client-file-rw', 'shea', { principal: 'kula', path: '/afs/example.org/f' }))).message).toContain('Permission denied');
  });

  it('tears a whole cell down in reverse order, leaving an empty world', async () => {
    t = rig('awesmoe.org');
    const rs = seedResources('awesmoe-fixed');
    await t.apply(rs);
    for (const r of [...rs].reverse()) await t.destroy(r.address);
    expect(t.sim.snapshot()).toMatchObject({ hosts: {}, domains: {}, kdcs: {}, keytabs: {}, afs: null, afsdbs: {}, fileservers: {}, clients: {} });
    expect((await t.sim.status())).toEqual({ hosts: [], domains: [], services: [] });
  });

  it('stops what runs on a guest when the guest is destroyed; later deletes of its services are no-ops', async () => {
    t = rig('example.org');
    const rs = threeDbCell();
    await t.apply(rs);
    await t.destroy('guest.db1'); // KDC master and one db server
    const st = await t.sim.status();
    expect(st.services.map((s) => s.address)).not.toContain('kdc.db1');
    expect(st.services.map((s) => s.address)).not.toContain('afs-db.db1');
    expect((await t.sim.check(check('kinit', 'cl', { principal: 'kula' }))).message).toContain('Cannot find KDC for requested realm');
    expect((await t.sim.check(check('afs-quorum', 'db2', { dbservers: ['db1', 'db2', 'db3'] }))).status).toBe('pass');
    for (const a of ['principal.kula', 'service-key.afs/example.org', 'kdc.db1', 'afs-db.db1']) await t.destroy(a);
  });
});
