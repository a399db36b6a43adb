// Every smoke check kind, evaluated against the world: a pass when the cell works, a fail (with the
// console/log excerpt) when the piece it exercises is broken.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Check } from '../../../src/drivers/driver.js';
import { errorOf, linuxCell, res, rig, seedResources, type Rig } from './helpers.js';
import { recordOf } from '../../../src/state/types.js';

let t: Rig;
const CELL = 'example.org';
const c = (kind: Check['kind'], params: Check['params'] = {}, guest: string | undefined = 'shea'): Check =>
  ({ id: `${kind}.x`, kind, name: kind, ...(guest ? { guest } : {}), params });

beforeEach(async () => {
  t = rig(CELL);
  await t.apply(linuxCell(CELL));
});
afterEach(() => t.cleanup());

describe('checks pass on a working cell', () => {
  it.each([
    ['guest-running', c('guest-running', { guest: 'shea' }), 'shea is running on kraken as domain 1 (128 MiB)'],
    ['kdc-answers', c('kdc-answers', { realm: 'EXAMPLE.ORG' }), 'master KDC for EXAMPLE.ORG on shea answers (pid 100, 4 principals)'],
    ['kinit', c('kinit', { principal: 'kula' }), /^kinit kula@EXAMPLE.ORG on shea: ticket from the KDC on shea/],
    ['afs-quorum', c('afs-quorum', { dbservers: ['shea'] }), 'ubik quorum: 1 of 1 database servers up (shea), sync site shea'],
    ['volume-listed', c('volume-listed', { volume: 'root.cell', server: 'shea', partition: '/vicepa' }, undefined), 'root.cell 536870915 RW On-line on shea /vicepa (0 files)'],
    ['pts-user', c('pts-user', { user: 'kula' }, undefined), 'kula: id 1, member of system:administrators'],
    ['bos-status', c('bos-status'), 'bos status shea: 3 instances running'],
    ['client-module', c('client-module', { module: 'openafs-1.4.2-linux' }), 'openafs-1.4.2-linux is loaded on shea'],
    ['client-tokens', c('client-tokens', { principal: 'kula' }), "User's (AFS ID 1) tokens for afs@example.org [Expires Apr 28 02:55]; the fileserver on shea accepted it (authenticated FetchStatus of /afs/example.org)"],
    ['client-file-rw', c('client-file-rw', { principal: 'kula', path: '/afs/example.org/smoke.txt' }), /^wrote and read back \d+ bytes at \/afs\/example.org\/smoke.txt as kula \(volume root.cell 536870915 on shea\)$/],
    ['client-anon-refused', c('client-anon-refused', { path: '/afs/example.org' }), 'anonymous access refused: ls: /afs/example.org: Permission denied'],
    ['client-anon-refused', c('client-anon-refused', { path: '/afs/example.org/anonymous-write-test' }), 'anonymous write refused: /afs/example.org/anonymous-write-test: Permission denied'],
    ['afs-resolves', c('afs-resolves', { path: '/afs/example.org' }), '/afs/example.org -> root.cell (536870915) on shea /vicepa'],
  ])('%s', async (_kind, spec, message) => {
    const r = await t.sim.check(spec);
    expect(r.status, r.message).toBe('pass');
    if (typeof message === 'string') expect(r.message).toBe(message);
    else expect(r.message).toMatch(message);
  });

  it('skips the module check of a client without a module', async () => {
    expect((await t.sim.check(c('client-module', { module: null }))).status).toBe('skip');
  });
});

describe('file access really goes through the fileserver', () => {
  it('writes through the client, reads back from the fileserver, and sees what another path wrote', async () => {
    expect((await t.sim.check(c('client-file-rw', { principal: 'kula', path: '/afs/example.org/a' }))).status).toBe('pass');
    // The file is in root.cell on the fileserver: the RW path /afs/.cell sees the same volume.
    expect(await t.sim.afsRead('shea', '/afs/.example.org/a', 'kula')).toMatch(/^cellctl smoke client-file-rw.x from shea at Apr 27 /);
    expect(await t.sim.afsList('shea', '/afs/example.org', 'kula')).toEqual(['a']);
    // anonymous can't read it, and can't write
    expect(await errorOf(t.sim.afsRead('shea', '/afs/example.org/a', null))).toBe('/afs/example.org/a: Permission denied');
    expect(await errorOf(t.sim.afsWrite('shea', '/afs/example.org/b', 'x', null))).toBe('/afs/example.org/b: Permission denied');
    expect(await errorOf(t.sim.afsRead('shea', '/afs/other.org/a', 'kula'))).toContain('No such file or directory');
  });

  it('fails when the fileserver is down, logging the lost contact on the client', async () => {
    await t.sim.service('afs-fs.shea', 'stop');
    const r = await t.sim.check(c('client-file-rw', { principal: 'kula', path: '/afs/example.org/x' }));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('Connection timed out (fileserver on shea does not answer)');
    expect(r.detail).toContain('shea kernel: afs: Lost contact with file server 10.4.0.10 in cell example.org');
    const bos = await t.sim.check(c('bos-status'));
    expect(bos).toMatchObject({ status: 'fail', message: 'bos status shea: 1 of 3 instances down' });
    expect(bos.detail).toContain('Instance fs, temporarily disabled, currently shutdown.');
    expect((await t.sim.check(c('volume-listed', { volume: 'root.cell', server: 'shea', partition: '/vicepa' }))).message).toContain('volserver does not answer');
    expect((await t.sim.check(c('afs-resolves', { path: '/afs/example.org' }))).status).toBe('fail');
  });

  it('discards a token the fileserver cannot decrypt (service re-keyed) and refuses the write', async () => {
    await t.sim.aklog('shea', 'kula');
    const key = t.applied[`service-key.afs/${CELL}`]!;
    await t.destroy(`service-key.afs/${CELL}`);
    await t.apply([res('service-key', `afs/${CELL}`, key.attrs, key.deps)]); // same kvno, new random key
    const err = await errorOf(t.sim.afsWrite('shea', '/afs/example.org/y', 'y', 'kula'));
    expect(err).toBe('/afs/example.org/y: Permission denied');
    expect(await t.sim.console('shea')).toContain('kernel: afs: Tokens for user of AFS id 1 for cell example.org are discarded (rxkad error=19270407)');
    // a fresh token carries the new key, which the servers got when the key was made
    await t.sim.aklog('shea', 'kula');
    await t.sim.afsWrite('shea', '/afs/example.org/y', 'y', 'kula');
  });
});

describe('checks fail when their piece is broken', () => {
  it('guest-running and kdc-answers show the state and the console', async () => {
    await t.sim.xm('shea', 'crash');
    const r = await t.sim.check(c('guest-running', { guest: 'shea' }));
    expect(r).toMatchObject({ status: 'fail', message: 'guest shea is crashed' });
    expect(r.detail).toContain('Kernel panic - not syncing');
    expect((await t.sim.check(c('kdc-answers', { realm: 'EXAMPLE.ORG' }))).message).toBe('guest shea is crashed');
    expect((await t.sim.check(c('bos-status'))).message).toContain("bos: failed to contact host's bosserver on shea");
    expect((await t.sim.check(c('guest-running', { guest: 'nope' }))).message).toBe('guest nope does not exist');
  });

  it('kdc-answers fails for a stopped KDC or another realm', async () => {
    expect((await t.sim.check(c('kdc-answers', { realm: 'OTHER.ORG' }))).message).toBe('the KDC on shea serves EXAMPLE.ORG, not OTHER.ORG');
    await t.sim.service('kdc.shea', 'stop');
    expect((await t.sim.check(c('kdc-answers', { realm: 'EXAMPLE.ORG' }))).message).toBe('the KDC on shea is not running');
    expect((await t.sim.check(c('kinit', { principal: 'kula' }))).message).toBe("kinit: Cannot contact any KDC for realm 'EXAMPLE.ORG' while getting initial credentials");
  });

  it('volume-listed and pts-user fail for what is not there', async () => {
    expect((await t.sim.check(c('volume-listed', { volume: 'user.nobody', server: 'shea', partition: '/vicepa' }))).message).toBe('vos listvldb: no VLDB entry for user.nobody');
    expect((await t.sim.check(c('volume-listed', { volume: 'root.cell', server: 'shea', partition: '/vicepb' }))).message).toContain('expected shea /vicepb');
    expect((await t.sim.check(c('pts-user', { user: 'nobody' }))).message).toBe("pts: User or group doesn't exist so couldn't look up id for nobody");
  });

  it('client-module, client-tokens, client-file-rw fail without the kernel module (2.6.16-xen from Xen 3.0.2)', async () => {
    const t2 = rig('awesmoe.org');
    try {
      const rs = seedResources('awesmoe');
      for (const r of rs) await t2.sim.create(r).then((o) => { t2.applied[r.address] = recordOf(r, o); }, () => undefined);
      const m = await t2.sim.check(c('client-module', { module: 'openafs-1.4.2-linux' }));
      expect(m.status).toBe('fail');
      expect(m.message).toContain('openafs-1.4.2-linux is not loaded on shea: FATAL: Error inserting openafs');
      expect(m.detail).toContain('shea kernel: openafs: Unknown symbol xen_features');
      const tok = await t2.sim.check(c('client-tokens', { principal: 'kula' }));
      expect(tok).toMatchObject({ status: 'fail', message: 'no AFS client on shea (afs-client.shea not created)' });
      expect((await t2.sim.check(c('client-file-rw', { principal: 'kula', path: '/afs/awesmoe.org/f' }))).status).toBe('fail');
      expect((await t2.sim.check(c('client-anon-refused', { path: '/afs/awesmoe.org' }))).message).toBe('no working AFS client on shea');
      // the Kerberos side still works
      expect((await t2.sim.check(c('kinit', { principal: 'kula' }))).status).toBe('pass');
    } finally {
      t2.cleanup();
    }
  });

  it('client-tokens fails without the afs service key, and client-anon-refused fails when anyone may read', async () => {
    await t.destroy(`service-key.afs/${CELL}`);
    const tok = await t.sim.check(c('client-tokens', { principal: 'kula' }));
    expect(tok.message).toBe("aklog: Couldn't get example.org AFS tickets: Server not found in Kerberos database (afs/example.org@EXAMPLE.ORG)");
    const world = t.sim.world;
    const acl = world.fileservers.shea!.attached['/vicepa']!['536870915']!.acls['/']!;
    acl['system:anyuser'] = 'rl';
    expect((await t.sim.check(c('client-anon-refused', { path: '/afs/example.org' }))).message).toContain('anonymous ls /afs/example.org was allowed');
    acl['system:anyuser'] = 'rli';
    expect((await t.sim.check(c('client-anon-refused', { path: '/afs/example.org/w' }))).message).toBe('anonymous write to /afs/example.org/w was allowed: system:anyuser can insert into it');
  });

  it('afs-resolves fails without root.cell', async () => {
    await t.destroy('afs-client.shea');
    await t.destroy('volume.root.cell');
    await t.apply([linuxCell(CELL).at(-1)!]);
    expect((await t.sim.check(c('afs-resolves', { path: '/afs/example.org' }))).message).toBe('/afs/example.org: No such device (volume root.cell is not in the VLDB)');
  });
});
