// cells/tproa-full.yaml on the sim: what an administrator tries by hand, through the sim's shell
// (cellctl exec) and through the driver: ACLs with groups, negative rights and the system groups,
// quotas, read-only clones and their release, backup volumes, mount points, a foreign realm's user,
// keytabs; and the lifecycles (vos move keeps the data, a quota or membership changes in place).
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Resource } from '../../../src/plan/resources.js';
import { principalPassword } from '../../../src/state/secrets.js';
import { asApplied, res, rig, seedResources, withAttrs, type Rig } from './helpers.js';

let t: Rig;
let rs: Resource[];
const G = 'service-m1';

async function sh(argv: string[], o: { as?: string; stdin?: string; guest?: string } = {}): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d: Buffer) => out.push(String(d)));
  stderr.on('data', (d: Buffer) => err.push(String(d)));
  const stdin = new PassThrough();
  stdin.end(o.stdin ?? '');
  const as = o.as ? { principal: o.as, password: principalPassword(t.ctx.secrets, o.as) } : undefined;
  const status = await t.sim.exec!({ guest: o.guest ?? G, argv, ...(as ? { as } : {}), stdin, stdout, stderr });
  return { status, out: out.join(''), err: err.join('') };
}
const line = (l: string, as?: string) => sh(['sh', '-c', l], as ? { as } : {});

beforeEach(async () => {
  t = rig('tproa.net');
  rs = seedResources('tproa-full');
  await t.apply(rs);
});
afterEach(() => t.cleanup());

describe('ACLs: groups, negative rights, system groups', () => {
  it('lets kula (rlidwka) write in home and refuses amy, whom a negative entry denies what kula:friends grants', async () => {
    expect(await line('echo hi > /afs/.tproa.net/home/k.txt && cat /afs/.tproa.net/home/k.txt', 'kula')).toMatchObject({ status: 0, out: 'hi\n' });
    expect(await line('echo hi > /afs/.tproa.net/home/a.txt', 'amy')).toMatchObject({ status: 1, err: 'sh: cannot create /afs/.tproa.net/home/a.txt: Permission denied\n' });
    // amy can still read (system:authuser rl), list, and her group's rights elsewhere hold
    expect((await line('cat /afs/.tproa.net/home/k.txt', 'amy')).out).toBe('hi\n');
    expect((await line('echo hi > /afs/.tproa.net/scratch/a.txt', 'amy')).status).toBe(0);
  });

  it('gives system:authuser rights to the cell\'s users only: a foreign user has system:authuser@realm, and its groups', async () => {
    await line("echo secret > /afs/.tproa.net/home/k.txt", 'kula');
    // bob is in kula:friends (rlidwk on home) but not in system:authuser
    expect((await line('echo from-bob > /afs/.tproa.net/home/b.txt', 'bob@ATHENA.TPROA.NET')).status).toBe(0);
    await line('fs sa /afs/.tproa.net/scratch kula:friends none', 'kula/admin');
    await line('fs sa /afs/.tproa.net/scratch system:authuser rl', 'kula/admin');
    expect((await line('ls /afs/.tproa.net/scratch', 'amy')).status).toBe(0);
    const bob = await line('ls /afs/.tproa.net/scratch', 'bob@ATHENA.TPROA.NET');
    expect(bob.status).toBe(0); // system:anyuser rl still lets anyone list
    await line('fs sa /afs/.tproa.net/scratch system:anyuser none', 'kula/admin');
    expect((await line('ls /afs/.tproa.net/scratch', 'bob@ATHENA.TPROA.NET')).err).toMatch(/Permission denied/);
    await line('fs sa /afs/.tproa.net/scratch system:authuser@athena.tproa.net rl', 'kula/admin');
    expect((await line('ls /afs/.tproa.net/scratch', 'bob@ATHENA.TPROA.NET')).status).toBe(0);
  });

  it('fs la prints normal and negative rights; only a holder of a may change them', async () => {
    const la = await line('fs la /afs/tproa.net/home', 'kula');
    expect(la.out).toBe('Access list for /afs/tproa.net/home is\nNormal rights:\n  system:anyuser l\n  system:authuser rl\n  kula:friends rlidwk\n  kula rlidwka\nNegative rights:\n  amy idw\n');
    expect((await line('fs sa /afs/.tproa.net/home amy all', 'amy')).err).toMatch(/You don't have the required access rights/);
    expect((await line('fs sa /afs/.tproa.net/home amy all', 'kula')).status).toBe(0);
  });
});

describe('quotas', () => {
  it('refuses a write over the quota with EDQUOT as the guest\'s libc says it (NetBSD: Disc quota exceeded)', async () => {
    const big = 'x'.repeat(70 * 1024);
    const r = await sh(['sh', '-c', 'cat > /afs/.tproa.net/scratch/big'], { as: 'amy', stdin: big });
    expect(r.status).toBe(1);
    expect(r.err).toBe('sh: cannot create /afs/.tproa.net/scratch/big: Disc quota exceeded\n');
    const lq = await line('fs lq /afs/tproa.net/scratch', 'amy');
    expect(lq.out).toMatch(/^scratch\s+64\s+2\s+3%$/m);
    expect((await sh(['sh', '-c', 'cat > /afs/.tproa.net/scratch/small'], { as: 'amy', stdin: 'x'.repeat(10 * 1024) })).status).toBe(0);
  });

  it('changes a quota in place (fs setquota), keeping what the volume holds', async () => {
    await line('echo kept > /afs/.tproa.net/scratch/f', 'amy');
    const q = rs.find((r) => r.address === 'quota.scratch')!;
    await t.sim.update(asApplied(q.address, t.applied[q.address]!), withAttrs(q, { max_kb: 1000 }));
    expect((await sh(['sh', '-c', 'cat > /afs/.tproa.net/scratch/big'], { as: 'amy', stdin: 'x'.repeat(70 * 1024) })).status).toBe(0);
    expect((await line('cat /afs/tproa.net/scratch/f', 'amy')).out).toBe('kept\n');
  });
});

describe('read-only clones, release, backup', () => {
  it('serves the released content from /afs/<cell>, refuses writes there, and shows later RW writes only after vos release', async () => {
    expect((await line('echo one > /afs/tproa.net/x', 'kula/admin')).err).toMatch(/Read-only file system/);
    expect((await line('echo one > /afs/.tproa.net/x', 'kula/admin')).status).toBe(0);
    expect((await line('cat /afs/tproa.net/x', 'kula/admin')).err).toMatch(/No such file or directory/);
    expect((await line('vos release root.cell', 'kula')).err).toMatch(/no permission/);
    expect((await line('vos release root.cell', 'kula/admin')).status).toBe(0);
    expect((await line('cat /afs/tproa.net/x', 'kula/admin')).out).toBe('one\n');
    await line('echo two > /afs/.tproa.net/x', 'kula/admin');
    expect((await line('cat /afs/tproa.net/x', 'kula/admin')).out).toBe('one\n');
    expect((await sh(['vos', 'release', 'root.cell', '-localauth'])).status).toBe(0);
    expect((await line('cat /afs/tproa.net/x', 'kula/admin')).out).toBe('two\n');
    expect((await line('fs whereis /afs/tproa.net ; fs examine /afs/tproa.net', 'kula/admin')).out).toMatch(/named root\.cell\.readonly/);
  });

  it('keeps the backup as it was at vos backup, mounted as OldFiles, read-only', async () => {
    await line('echo v1 > /afs/.tproa.net/home/f', 'kula');
    await sh(['vos', 'backup', 'home', '-localauth']);
    await line('echo v2 > /afs/.tproa.net/home/f', 'kula');
    expect((await line('cat /afs/tproa.net/home/OldFiles/f', 'kula')).out).toBe('v1\n');
    expect((await line('cat /afs/tproa.net/home/f', 'kula')).out).toBe('v2\n');
    expect((await line('echo x > /afs/tproa.net/home/OldFiles/g', 'kula')).err).toMatch(/Read-only file system/);
    expect((await line('fs lsmount /afs/tproa.net/home/OldFiles', 'kula')).out).toBe("'/afs/tproa.net/home/OldFiles' is a mount point for volume '#home.backup'\n");
  });

  it('vos move keeps the data and the quota; the backup clone goes, and the plan\'s in-place backup update makes it again', async () => {
    await line('echo moved > /afs/.tproa.net/home/f', 'kula');
    const vol = rs.find((r) => r.address === 'volume.home')!;
    await t.sim.update(asApplied(vol.address, t.applied[vol.address]!), withAttrs(vol, { partition: '/vicepa' }));
    expect((await line('cat /afs/tproa.net/home/f', 'kula')).out).toBe('moved\n');
    expect((await line('vos examine home', 'kula')).out).toMatch(/service-m1\.tproa\.net \/vicepa[\s\S]*MaxQuota\s+100000 K/);
    expect((await line('ls /afs/tproa.net/home/OldFiles', 'kula')).err).toMatch(/home\.backup does not exist/);
    const bk = rs.find((r) => r.address === 'backup.home')!;
    expect(await t.sim.read(asApplied(bk.address, t.applied[bk.address]!))).toMatchObject({ state: 'absent' });
    await t.sim.update(asApplied(bk.address, t.applied[bk.address]!), withAttrs(bk, { partition: '/vicepa' }));
    expect((await line('cat /afs/tproa.net/home/OldFiles/f', 'kula')).out).toBe('moved\n');
  });
});

describe('refresh reads back what an administrator changed by hand', () => {
  it('an ACL, a membership, a quota and an unreleased mount point show as drift to repair in place', async () => {
    await line('fs sa /afs/.tproa.net/home amy all', 'kula');
    await line('pts adduser kula kula:friends', 'kula');
    await line('fs sq /afs/.tproa.net/scratch -max 9', 'kula/admin');
    const read = (a: string) => t.sim.read(asApplied(a, t.applied[a]!));
    expect(await read('acl./afs/tproa.net/home')).toMatchObject({ state: 'degraded', repair: 'update' });
    expect(await read('pts-group.kula:friends')).toMatchObject({ state: 'degraded', reason: 'found members amy, bob@athena.tproa.net, kula: will be set' });
    expect(await read('quota.scratch')).toMatchObject({ state: 'degraded', reason: 'found quota 9 KB: will be set to 64 KB' });
    expect(await read('release.root.cell')).toEqual({ state: 'present' });
    // a mount point made in the RW and not released: the RO clone is older than the RW
    await t.sim.update(asApplied('mount./afs/tproa.net/scratch', t.applied['mount./afs/tproa.net/scratch']!), withAttrs(rs.find((r) => r.address === 'mount./afs/tproa.net/scratch')!, { volume: 'home' }));
    expect(await read('release.root.cell')).toMatchObject({ state: 'degraded', repair: 'update' });
  });
});

describe('another realm, trusted both ways', () => {
  it('gives bob@ATHENA.TPROA.NET a token through krbtgt/TPROA.NET@ATHENA.TPROA.NET, with his pts id', async () => {
    const r = await line('tokens; klist', 'bob@ATHENA.TPROA.NET');
    expect(r.out).toMatch(/User's \(AFS ID \d+\) tokens for afs@tproa\.net/);
    expect(r.out).toMatch(/krbtgt\/TPROA\.NET@ATHENA\.TPROA\.NET/);
    expect((await sh(['pts', 'examine', 'bob@athena.tproa.net'])).out).toMatch(/^Name: bob@athena\.tproa\.net, id: \d+/);
  });

  it('refuses the token without the trust, and when the two realms hold different keys', async () => {
    const cross = 'cross-realm.krbtgt/TPROA.NET@ATHENA.TPROA.NET';
    const rec = t.applied[cross]!;
    await t.destroy(cross);
    expect((await line('tokens', 'bob@ATHENA.TPROA.NET')).err).toMatch(/Server krbtgt\/TPROA\.NET@ATHENA\.TPROA\.NET not found in Kerberos database/);
    await t.apply([res('cross-realm', 'krbtgt/TPROA.NET@ATHENA.TPROA.NET', rec.attrs, rec.deps)]);
    expect((await line('tokens', 'bob@ATHENA.TPROA.NET')).status).toBe(0);
    // the ATHENA side re-keyed alone (kadmin cpw -randkey there): the cell's KDC cannot decrypt the cross-realm TGT
    t.sim.world.kdcs.athena!.db['krbtgt/TPROA.NET@ATHENA.TPROA.NET']!.key_check = 'another-key';
    expect((await line('tokens', 'bob@ATHENA.TPROA.NET')).err).toMatch(/Decrypt integrity check failed/);
    expect(await t.sim.read(asApplied(cross, t.applied[cross]!))).toMatchObject({ state: 'degraded', repair: 'replace' });
  });
});

describe('keytabs', () => {
  it('installs a keytab kinit -k accepts, and re-extracts it (a new kvno) when its enctypes change', async () => {
    expect(await sh(['sh', '-c', 'kinit -k host/service-m1.tproa.net && klist'])).toMatchObject({ status: 0 });
    expect((await sh(['klist', '-k'])).out).toMatch(/   1 host\/service-m1\.tproa\.net@TPROA\.NET \(des-cbc-crc\)/);
    const k = rs.find((r) => r.type === 'keytab')!;
    await t.sim.update(asApplied(k.address, t.applied[k.address]!), withAttrs(k, { enctypes: ['aes256-cts-hmac-sha1-96'] }));
    expect((await sh(['klist', '-k'])).out).toMatch(/   1 host\/service-m1\.tproa\.net@TPROA\.NET \(aes256-cts-hmac-sha1-96\)/); // Heimdal keeps the kvno
    expect((await sh(['kinit', '-k', 'host/service-m1.tproa.net'])).status).toBe(0);
    const keys = await t.sim.keytab!('host/service-m1.tproa.net@TPROA.NET');
    expect(keys?.keys.map((x) => [x.enctype, x.key.length])).toEqual([['aes256-cts-hmac-sha1-96', 32]]);
  });
});

describe('the shell', () => {
  it('says what it does not know (127), runs ; && || and keeps root\'s tickets between runs', async () => {
    expect(await sh(['frobnicate'])).toEqual({ status: 127, out: '', err: 'sh: frobnicate: not found\n' });
    expect((await line('false && echo no; false || echo yes')).out).toBe('yes\n');
    expect((await sh(['kinit', 'kula'], { stdin: 'wrong\n' })).err).toMatch(/Password incorrect/);
    expect((await sh(['kinit', 'kula'], { stdin: `${principalPassword(t.ctx.secrets, 'kula')}\n` })).status).toBe(0);
    expect((await sh(['aklog'])).status).toBe(0);
    expect((await sh(['tokens'])).out).toMatch(/User's \(AFS ID 1000\) tokens for afs@tproa\.net/);
    expect((await sh(['klist'])).out).toMatch(/Default principal: kula@TPROA\.NET[\s\S]*afs\/tproa\.net@TPROA\.NET/);
    expect((await sh(['unlog'])).status).toBe(0);
    expect((await sh(['tokens'])).out).not.toMatch(/tokens for/);
    // the AFS tools are only where AFS is: athena is a KDC only
    expect((await sh(['pts', 'examine', 'kula'], { guest: 'athena' })).status).toBe(127);
    expect((await sh(['kinit', 'bob@ATHENA.TPROA.NET'], { guest: 'athena', stdin: `${principalPassword(t.ctx.secrets, 'bob@ATHENA.TPROA.NET')}\n` })).status).toBe(0);
  });

  it('pts and vos answer from the databases as the tools print them', async () => {
    expect((await sh(['pts', 'membership', 'kula:friends'])).out).toBe('Members of kula:friends (id: -206) are:\n  amy\n  bob@athena.tproa.net\n');
    expect((await sh(['pts', 'membership', 'amy'])).err).toMatch(/Permission denied/);
    expect((await sh(['pts', 'membership', 'amy', '-localauth'])).out).toBe('Groups amy (id: 1001) is a member of:\n  kula:friends\n');
    expect((await sh(['pts', 'listentries'])).err).toMatch(/Permission denied/);
    expect((await sh(['vos', 'listvldb', '-name', 'root.cell'])).out).toMatch(/number of sites -> 2\n\s+server service-m1\.tproa\.net partition \/vicepa RW Site \n\s+server service-m1\.tproa\.net partition \/vicepa RO Site/);
    expect((await sh(['vos', 'listvol', G, '/vicepb'])).out).toMatch(/home\.backup\s+536870920 BK/);
    expect((await line('ls /afs/tproa.net', 'kula')).out).toBe('home\nscratch\n');
  });

  it('records what a command changed: the next command sees it (the world is saved with the state)', async () => {
    await line('echo persisted > /afs/.tproa.net/home/p', 'kula');
    const later = t.reopen();
    t = later;
    expect((await line('cat /afs/tproa.net/home/p', 'kula')).out).toBe('persisted\n');
  });
});
