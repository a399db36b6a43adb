// The plan of cell file v2 (cells/tproa-full.yaml): its resources and what they wait for, what
// changes in place (vos move, fs setquota, fs setacl, pts adduser, vos release) and what is made
// again, and what netns realizes (every realm since part B of issue #15) and qemu leaves (said, with the reason).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diff } from '../../src/plan/diff.js';
import type { Resource } from '../../src/plan/resources.js';
import { Session } from '../../src/ops/session.js';
import { renderPlan } from '../../src/render/plan.js';
import { recordOf, type CellState } from '../../src/state/types.js';
import { CELLS } from '../paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cellctl-plan-v2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const s = Session.load(join(CELLS, 'tproa-full.yaml'), { stateDir: dir });
const sim = s.plan(undefined, { driver: 'sim' });
const byAddr = new Map(sim.desired.map((r) => [r.address, r]));
const get = (a: string) => byAddr.get(a)!;

const stateOf = (rs: Resource[]): CellState =>
  ({ version: 1, cell: 'tproa.net', file: s.spec.file, driver: 'sim', serial: 1, resources: Object.fromEntries(rs.map((r) => [r.address, recordOf(r)])) });
const edit = (address: string, patch: Record<string, unknown>) => sim.desired.map((r) => (r.address === address ? ({ ...r, attrs: { ...r.attrs, ...patch } } as Resource) : r));
const changeOf = (after: Resource[]) => diff(s.spec, after, stateOf(sim.desired), []).changes;

describe('the resources of tproa-full.yaml', () => {
  it('has the v2 types, named as an administrator says them', () => {
    const addrs = sim.desired.map((r) => r.address);
    expect(addrs).toEqual(expect.arrayContaining([
      'kdc.athena', 'principal.bob@ATHENA.TPROA.NET', 'keytab.host/service-m1.tproa.net',
      'cross-realm.krbtgt/ATHENA.TPROA.NET@TPROA.NET', 'cross-realm.krbtgt/TPROA.NET@ATHENA.TPROA.NET',
      'pts-user.bob@athena.tproa.net', 'pts-group.kula:friends', 'pts-group.system:authuser@athena.tproa.net',
      'quota.home', 'quota.scratch', 'mount./afs/tproa.net/home', 'mount./afs/tproa.net/home/OldFiles',
      'acl./afs/tproa.net/home', 'ro-site.root.cell@service-m1/vicepa', 'release.root.cell', 'backup.home',
    ]));
    expect(get('pts-user.kula').attrs).toEqual({ user: 'kula', principal: 'kula', admin: false, id: 1000 });
    expect(get('pts-user.kula.admin').attrs).toEqual({ user: 'kula.admin', principal: 'kula/admin', admin: true });
    expect(get('mount./afs/tproa.net/home/OldFiles').attrs).toEqual({ path: '/afs/tproa.net/home/OldFiles', in_volume: 'home', dir: '/OldFiles', volume: 'home.backup', rw: false });
    expect(get('acl./afs/tproa.net/home').attrs).toMatchObject({ volume: 'home', negative: { amy: 'idw' } });
  });

  it('waits for what each needs: users with a fixed id first, a release after the mount points and ACL it carries', () => {
    expect(get('pts-user.kula.admin').deps).toEqual(expect.arrayContaining(['pts-user.kula', 'pts-user.amy']));
    expect(get('pts-group.kula:friends').deps).toEqual(expect.arrayContaining(['pts-user.kula', 'pts-user.amy', 'pts-user.bob@athena.tproa.net']));
    expect(get('release.root.cell').deps).toEqual(expect.arrayContaining(['ro-site.root.cell@service-m1/vicepa', 'mount./afs/tproa.net/home', 'mount./afs/tproa.net/scratch', 'acl./afs/tproa.net']));
    expect(get('release.root.cell').attrs).toEqual({
      volume: 'root.cell', sites: ['service-m1/vicepa'],
      content: ['acl / system:anyuser rl, system:administrators rlidwka', 'mount /home #home', 'mount /scratch #scratch'],
    });
    expect(get('backup.home').deps).toEqual(expect.arrayContaining(['mount./afs/tproa.net/home/OldFiles', 'acl./afs/tproa.net/home']));
    expect(get('acl./afs/tproa.net/home').deps).toEqual(expect.arrayContaining(['mount./afs/tproa.net/home', 'pts-group.kula:friends', 'pts-user.amy']));
  });

  it('keys afs/<cell> with the single-DES keys OpenAFS 1.4 takes on the sim, and the AES ones the real stand-ins use on netns', () => {
    expect((get('service-key.afs/tproa.net').attrs as { enctypes: string[] }).enctypes).toEqual(['des-cbc-crc', 'des-cbc-md5', 'des-cbc-md4']);
    const real = s.plan(undefined, { driver: 'netns' }).desired.find((r) => r.address === 'service-key.afs/tproa.net')!;
    expect((real.attrs as { enctypes: string[] }).enctypes).toEqual(['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96']);
    expect(get('cross-realm.krbtgt/TPROA.NET@ATHENA.TPROA.NET').attrs).toMatchObject({ enctypes: ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96'], kdcs: ['athena', 'service-m1'] });
  });
});

describe('lifecycles', () => {
  it('vos move, fs setquota, pts adduser, fs setacl, fs mkmount and vos release change in place', () => {
    // vos move: the volume follows, its backup volume is made again beside it (vos move deletes it)
    const moved = changeOf(edit('volume.home', { partition: '/vicepa' }).map((r) => (r.address === 'backup.home' ? ({ ...r, attrs: { ...r.attrs, partition: '/vicepa' } } as Resource) : r)));
    expect(moved.map((c) => [c.address, c.action])).toEqual([['volume.home', 'update'], ['backup.home', 'update']]);
    const all = changeOf(edit('quota.scratch', { max_kb: 10 }).map((r) => (r.address === 'pts-group.kula:friends' ? ({ ...r, attrs: { ...r.attrs, members: ['amy'] } } as Resource) : r)));
    expect(all.map((c) => [c.address, c.action]).sort()).toEqual([['pts-group.kula:friends', 'update'], ['quota.scratch', 'update']]);
    expect(changeOf(edit('release.root.cell', { content: ['mount /home #home'] }))[0]).toMatchObject({ action: 'update' });
    expect(changeOf(edit('mount./afs/tproa.net/scratch', { volume: 'home' }))[0]).toMatchObject({ action: 'update' });
  });

  it('makes again what cannot change: a user\'s AFS id, a read-only site\'s place', () => {
    const id = changeOf(edit('pts-user.amy', { id: 1005 }));
    expect(id.find((c) => c.address === 'pts-user.amy')).toMatchObject({ action: 'replace', reason: 'an AFS id is fixed when pts createuser makes the user' });
    // what waits for amy's entry goes with it
    expect(id.find((c) => c.address === 'pts-group.kula:friends')).toMatchObject({ action: 'replace', reason: 'pts-user.amy is replaced' });
    const site = changeOf(edit('ro-site.root.cell@service-m1/vicepa', { partition: '/vicepb' }));
    expect(site[0]).toMatchObject({ action: 'replace', reason: 'a read-only site moves by vos remsite and vos addsite' });
  });
});

describe('what netns realizes', () => {
  it('every realm: both KDCs, their principals and the cross-realm keys; Heimdal by its catalog stand-in', () => {
    const p = s.plan(undefined, { driver: 'netns' });
    const managed = new Set(p.desired.map((r) => r.type));
    expect([...managed].sort()).toEqual(['acl', 'afs-client', 'afs-db', 'afs-fs', 'backup', 'cross-realm', 'guest', 'host', 'kdc', 'keytab', 'module', 'mount', 'partition', 'principal', 'pts-group', 'pts-user', 'quota', 'release', 'ro-site', 'service-key', 'volume']);
    for (const a of ['kdc.athena', 'principal.bob@ATHENA.TPROA.NET', 'cross-realm.krbtgt/ATHENA.TPROA.NET@TPROA.NET', 'cross-realm.krbtgt/TPROA.NET@ATHENA.TPROA.NET']) {
      expect(p.desired.map((r) => r.address)).toContain(a);
    }
    expect(p.unmanaged?.declined ?? {}).toEqual({});
    // another realm's user is a pts entry, made after its realm's system:authuser@ group (the ptserver wants it first)
    const bob = p.desired.find((r) => r.address === 'pts-user.bob@athena.tproa.net');
    expect(bob?.deps).toContain('pts-group.system:authuser@athena.tproa.net');
    const text = renderPlan(p);
    expect(text).not.toMatch(/^Not managed by netns/m);
    // the cell's Heimdal 0.72 runs as Debian's Heimdal 7.8, the second realm's MIT 1.4.4 as MIT 1.20
    expect(s.standIns('netns')).toContain('heimdal-0.72 is served by heimdal-7.8 (Debian heimdal-kdc 7.8.git20221117.28daf24+dfsg-2)');
    expect(s.standIns('netns')).toContain('mit-krb5-1.4.4 is served by mit-krb5-1.20 (Debian krb5-kdc 1.20.1-2+deb12u5)');
    // the keytab asks for single DES, which the MIT krb5 1.20 clients here do not take: plan says so
    expect(s.standIns('netns')).toContain("keytab.host/service-m1.tproa.net: mit-krb5 1.20 (the KDC or the clients here) takes no des-cbc-crc, des-cbc-md5: keyed with the KDC's default key types (smoke lists them)");
    // fs mkmount and fs setacl run with an administrator's token: after the administrators' pts entries
    for (const a of ['mount./afs/tproa.net/home', 'acl./afs/tproa.net/home']) expect(p.desired.find((r) => r.address === a)?.deps).toContain('pts-user.kula.admin');
  });

  it('qemu runs every realm and serves Heimdal with MIT (it runs no Heimdal KDC), and says so', () => {
    expect(s.standIns('qemu')).toContain('heimdal-0.72 is served by MIT krb5 1.20 (Debian krb5-kdc, krb5-admin-server) (this driver does not run its catalog stand-in, heimdal-7.8)');
    const p = s.plan(undefined, { driver: 'qemu' });
    expect(p.unmanaged?.declined ?? {}).toEqual({});
    expect(p.changes.map((c) => c.address)).toEqual(expect.arrayContaining(['kdc.athena', 'cross-realm.krbtgt/TPROA.NET@ATHENA.TPROA.NET']));
  });
});
