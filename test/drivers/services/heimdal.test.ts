// A real Heimdal 7.8 KDC (Debian's, unpacked beside MIT krb5) in a network namespace, used by MIT's
// kinit/klist/kvno from a second namespace over a veth pair, its afs/<cell> keytab taken by OpenAFS asetkey.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa, execaSync } from 'execa';
import {
  ensureHeimdal, heimdalPrerequisites, HeimdalRealm, kdcAlive, kdcPid, kdcProcesses, mitClientConf, startKdc, stopKdc,
  type HeimdalInstall,
} from '../../../src/drivers/services/heimdal/index.js';

const TOOLS = ['ip', 'unshare', 'kinit', 'klist', 'kvno', 'asetkey'];

function skipReason(): string {
  if (process.getuid?.() !== 0) return 'not root: network namespaces and apt need root';
  const missing = TOOLS.filter((t) => execaSync('sh', ['-c', 'command -v "$1"', 'sh', t], { reject: false }).exitCode !== 0);
  if (missing.length) return `missing ${missing.join(', ')} (krb5-user, openafs-krb5, iproute2, util-linux)`;
  const pre = heimdalPrerequisites();
  return pre.ok ? '' : `Heimdal packages cannot be had: ${pre.reason}`;
}

const reason = skipReason();
const id = `${process.pid % 10000}`;
const NS_KDC = `hdk-${id}`;
const NS_CLI = `hdc-${id}`;
const NET = `10.199.${process.pid % 250}`;
const KDC_IP = `${NET}.1`;
const CELL = 'heimdal.test';
const REALM = 'HEIMDAL.TEST';
const AFS = `afs/${CELL}`;

// Secrets with spaces and shell characters: they travel on stdin only, and must never show up anywhere.
const masterPw = `M ${randomBytes(9).toString('hex')} $x'"`;
const userPw = `u ${randomBytes(9).toString('hex')} !#;`;
const secrets = [masterPw, userPw];
const seen: string[] = []; // every output and error this test produced
const times: Record<string, number> = {};

async function sh(cmd: string, args: string[], o: { input?: string; env?: Record<string, string> } = {}) {
  const r = await execa(cmd, args, { input: o.input ?? '', env: o.env, reject: false, detached: true, timeout: 30_000 });
  const res = { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  seen.push(res.stdout, res.stderr);
  return res;
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } catch (e) {
    seen.push(String(e));
    throw e;
  } finally {
    times[what] = Math.round(performance.now() - t0);
  }
}

function live(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes whose network namespace is the named one. */
function pidsInNetns(ns: string): number[] {
  let link: string;
  try {
    link = `net:[${statSync(`/run/netns/${ns}`).ino}]`;
  } catch {
    return [];
  }
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/ns/net`) === link && live(p);
    } catch {
      return false;
    }
  });
}

describe.skipIf(!!reason)(`Heimdal KDC in a network namespace, MIT clients${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let heimdal: HeimdalInstall;
  let realm: HeimdalRealm;
  let work: string;
  let dir: string;
  let mitEnv: Record<string, string>;
  const keytab = () => join(work, 'afs', 'rxkad.keytab');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cellctl-heimdal-'));
    dir = join(work, 'kdc');
    for (const ns of [NS_KDC, NS_CLI]) {
      await execa('ip', ['netns', 'add', ns]);
      await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await execa('ip', ['-n', NS_KDC, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS_CLI]);
    for (const [ns, ip] of [[NS_KDC, KDC_IP], [NS_CLI, `${NET}.2`]] as const) {
      await execa('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await execa('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    writeFileSync(join(work, 'krb5-udp.conf'), mitClientConf(REALM, [KDC_IP]));
    writeFileSync(join(work, 'krb5-tcp.conf'), mitClientConf(REALM, [KDC_IP], { tcp: true }));
    mitEnv = { KRB5_CONFIG: join(work, 'krb5-udp.conf'), KRB5CCNAME: `FILE:${join(work, 'ccache')}` };
  });

  afterAll(async () => {
    if (dir) await stopKdc(dir).catch(() => undefined);
    for (const ns of [NS_KDC, NS_CLI]) await execa('ip', ['netns', 'del', ns], { reject: false });
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`heimdal timings (ms): ${JSON.stringify(times)}`);
  });

  it('unpacks Debian Heimdal once and reports the version its own binaries print', async () => {
    heimdal = await timed('ensureHeimdal', () => ensureHeimdal());
    expect(heimdal.version).toMatch(/^Heimdal 7\.8\./);
    expect(heimdal.packageVersion).toMatch(/^7\.8\./);
    for (const b of [heimdal.bin.kdc, heimdal.bin.kadmin, heimdal.bin.kstash, heimdal.bin.ktutil]) expect(existsSync(b)).toBe(true);
    const again = await timed('ensureHeimdal cached', () => ensureHeimdal());
    expect(again.prefix).toBe(heimdal.prefix);
    expect(again.fresh).toBe(false);
    const v = await sh(heimdal.bin.kadmin, ['--version'], { env: heimdal.env });
    expect(`${v.stdout}${v.stderr}`).toContain('Heimdal 7.8');
  });

  it('two concurrent first unpacks into an empty cache end with one complete prefix', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'cellctl-heimdal-cache-'));
    const saved = process.env.CELLCTL_CACHE_DIR;
    process.env.CELLCTL_CACHE_DIR = cache;
    try {
      const [a, b] = await timed('download+unpack (2 at once)', () => Promise.all([ensureHeimdal(), ensureHeimdal()]));
      expect(a.prefix).toBe(b.prefix);
      expect(a.prefix.startsWith(cache)).toBe(true);
      expect([a.fresh, b.fresh].filter(Boolean).length).toBeGreaterThanOrEqual(1);
      expect(readdirSync(join(cache, 'heimdal', a.packageVersion))).toEqual([basename(a.prefix)]); // no temp dir left
      expect(a.version).toBe(heimdal.version);
    } finally {
      if (saved === undefined) delete process.env.CELLCTL_CACHE_DIR;
      else process.env.CELLCTL_CACHE_DIR = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('sets up a realm: stash from stdin, kadmin -l init, a user, afs/<cell> with a random key, a 0600 keytab', async () => {
    realm = await timed('realm init', () => HeimdalRealm.create(heimdal, { dir, realm: REALM, kdcAddresses: [KDC_IP] }, masterPw));
    expect(statSync(realm.files.stash).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const user = await timed('addPrincipal', () => realm.addPrincipal('alice', userPw));
    expect(user).toMatchObject({ principal: `alice@${REALM}`, kvno: 1, enctypes: ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96'] });
    const svc = await realm.addRandomKey(AFS);
    expect((await realm.addRandomKey(AFS)).kvno).toBe(svc.kvno); // kept, not re-keyed
    const names = await realm.listPrincipals();
    for (const p of [`alice@${REALM}`, `${AFS}@${REALM}`, `krbtgt/${REALM}@${REALM}`]) expect(names).toContain(p);
    expect(await realm.getPrincipal('nobody')).toBeUndefined();
    // a second create on the same dir reuses the realm
    const reopened = await HeimdalRealm.create(heimdal, { dir, realm: REALM, kdcAddresses: [KDC_IP] }, masterPw);
    expect(await reopened.listPrincipals()).toEqual(names);

    const only256 = join(work, 'only256.keytab');
    const one = await realm.extractKeytab(AFS, only256, ['aes256-cts-hmac-sha1-96']);
    expect(one.enctypes).toEqual(['aes256-cts-hmac-sha1-96']);
    const kt = await realm.extractKeytab(AFS, keytab());
    expect(kt.kvno).toBe(svc.kvno);
    expect(statSync(keytab()).mode & 0o777).toBe(0o600);
    const mit = await sh('klist', ['-k', '-e', keytab()]);
    expect(mit.code).toBe(0);
    const rows = mit.stdout.split('\n').filter((l) => l.includes(`${AFS}@${REALM}`));
    expect(rows.map((l) => /\(([^)]+)\)/.exec(l)?.[1]).sort()).toEqual(['aes128-cts-hmac-sha1-96', 'aes256-cts-hmac-sha1-96']);
    expect(rows.every((l) => l.trim().startsWith(`${kt.kvno} `))).toBe(true);
    const mit1 = await sh('klist', ['-k', '-e', only256]);
    expect(mit1.stdout).toContain('aes256-cts-hmac-sha1-96');
    expect(mit1.stdout).not.toContain('aes128');
    await expect(realm.addPrincipal('-bad', userPw)).rejects.toThrow(/invalid principal/);
    // Failures that had a password at hand: their errors go into `seen` for the final check.
    const bad = join(work, 'bad');
    mkdirSync(join(bad, 'm-key'), { recursive: true }); // a stash that is no key file: init cannot read it
    const err1 = await HeimdalRealm.create(heimdal, { dir: bad, realm: 'BAD.TEST' }, masterPw).then(() => 'created', (e: Error) => e.message);
    const err2 = await realm.addPrincipal('bob', `${userPw}\nsecond line`).then(() => 'added', (e: Error) => e.message);
    seen.push(err1, err2);
    expect(err1).toMatch(/kadmin\.heimdal -l .* init .* failed \(exit 1\): .*m-key/);
    expect(err2).toMatch(/single line/);
    await expect(realm.extractKeytab('nobody', join(work, 'x.keytab'))).rejects.toThrow(/no principal nobody/);
  });

  it('starts the KDC in its namespace; MIT kinit (UDP and TCP), klist and kvno work from another namespace', async () => {
    const pid = await timed('startKdc', () => startKdc(heimdal, { dir, netns: NS_KDC }));
    expect(kdcAlive(dir)).toBe(true);
    expect(await startKdc(heimdal, { dir, netns: NS_KDC })).toBe(pid); // idempotent
    expect(pidsInNetns(NS_KDC)).toContain(pid);
    // A second realm's KDC cannot have port 88 in the same namespace: a clear error, nothing left running.
    const dir2 = join(work, 'kdc2');
    await HeimdalRealm.create(heimdal, { dir: dir2, realm: 'OTHER.TEST' }, masterPw);
    const clash = await startKdc(heimdal, { dir: dir2, netns: NS_KDC, timeoutMs: 3000 }).then(() => 'started', (e: Error) => e.message);
    seen.push(clash);
    expect(clash).toMatch(/did not start \(bind .*88: Address already in use\)/);
    expect(kdcProcesses(dir2)).toEqual([]);
    expect(kdcAlive(dir)).toBe(true);
    expect(existsSync('/run/kdc.pid') && readFileSync('/run/kdc.pid', 'utf8').trim() === String(pid)).toBe(false);
    const kinit = await timed('MIT kinit', () => sh('ip', ['netns', 'exec', NS_CLI, 'kinit', `alice@${REALM}`], { input: `${userPw}\n`, env: mitEnv }));
    expect(kinit.code, kinit.stderr).toBe(0);
    const klist = await sh('ip', ['netns', 'exec', NS_CLI, 'klist'], { env: mitEnv });
    expect(klist.stdout).toContain(`Default principal: alice@${REALM}`);
    expect(klist.stdout).toContain(`krbtgt/${REALM}@${REALM}`);
    const kvno = await sh('ip', ['netns', 'exec', NS_CLI, 'kvno', `${AFS}@${REALM}`], { env: mitEnv });
    expect(kvno.code, kvno.stderr).toBe(0);
    expect(kvno.stdout).toContain(`${AFS}@${REALM}: kvno = ${(await realm.getPrincipal(AFS))!.kvno}`);
    const trace = join(work, 'trace-tcp.log'); // a file: /dev/stderr cannot be opened on execa's socket pipes
    const tcpEnv = { KRB5_CONFIG: join(work, 'krb5-tcp.conf'), KRB5CCNAME: `FILE:${join(work, 'ccache-tcp')}`, KRB5_TRACE: trace };
    const tcp = await sh('ip', ['netns', 'exec', NS_CLI, 'kinit', `alice@${REALM}`], { input: `${userPw}\n`, env: tcpEnv });
    expect(tcp.code, tcp.stderr).toBe(0);
    const traced = readFileSync(trace, 'utf8');
    seen.push(traced);
    expect(traced).toContain(`Sending TCP request to stream ${KDC_IP}:88`);
    expect(traced).not.toContain('UDP');
    const wrong = await sh('ip', ['netns', 'exec', NS_CLI, 'kinit', `alice@${REALM}`],
      { input: 'not the password\n', env: { ...mitEnv, KRB5CCNAME: `FILE:${join(work, 'ccache-wrong')}` } });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Password incorrect|Preauthentication failed/);
    expect(readFileSync(realm.files.kdcLog, 'utf8')).toMatch(new RegExp(`AS-REQ alice@${REALM.replace('.', '\\.')} from IPv4:${NET.replace(/\./g, '\\.')}\\.2`));
  });

  it('OpenAFS asetkey takes the afs/<cell> keytab into a private KeyFileExt', async () => {
    // asetkey only opens /etc/openafs/server (AFSCONF is a fallback used when that fails): bind a copy over it.
    const conf = join(work, 'afs-server');
    mkdirSync(conf, { mode: 0o700 });
    for (const f of ['ThisCell', 'CellServDB']) if (existsSync(`/etc/openafs/server/${f}`)) cpSync(`/etc/openafs/server/${f}`, join(conf, f));
    writeFileSync(join(conf, 'ThisCell'), `${CELL}\n`);
    const realExt = () => (existsSync('/etc/openafs/server/KeyFileExt') ? statSync('/etc/openafs/server/KeyFileExt').mtimeMs : -1);
    const before = realExt();
    const kvno = (await realm.getPrincipal(AFS))!.kvno;
    // `asetkey list` prints key material: cut off inside the namespace, before it reaches this process.
    const script = 'mount --bind "$1" /etc/openafs/server && shift && for e in 18 17; do asetkey add rxkad_krb5 "$1" $e "$2" "$3" || exit 1; done'
      + ' && asetkey list | sed "s/key is.*//"';
    const r = await sh('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', conf, String(kvno), keytab(), `${AFS}@${REALM}`]);
    expect(r.code, r.stderr).toBe(0);
    const listed = r.stdout.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => l.startsWith('rxkad_krb5'));
    expect(listed.sort()).toEqual([`rxkad_krb5 kvno ${kvno} enctype 17;`, `rxkad_krb5 kvno ${kvno} enctype 18;`]);
    expect(statSync(join(conf, 'KeyFileExt')).size).toBeGreaterThan(0);
    expect(realExt()).toBe(before);
  });

  it('stopping the KDC leaves no process and the namespaces go', async () => {
    const pid = kdcPid(dir)!;
    expect(kdcProcesses(dir).length).toBeGreaterThan(1); // master and its workers
    await timed('stopKdc', () => stopKdc(dir));
    expect(kdcAlive(dir)).toBe(false);
    expect(kdcProcesses(dir)).toEqual([]);
    expect(existsSync(join(dir, 'run', 'kdc.pid'))).toBe(false);
    expect(live(pid)).toBe(false);
    const after = await sh('ip', ['netns', 'exec', NS_CLI, 'kvno', `${AFS}@${REALM}`], { env: { ...mitEnv, KRB5CCNAME: `FILE:${join(work, 'ccache-tcp')}` } });
    expect(after.code).not.toBe(0); // the KDC really is gone (fresh ccache has only the TGT)
    for (const ns of [NS_KDC, NS_CLI]) {
      expect(pidsInNetns(ns)).toEqual([]);
      await execa('ip', ['netns', 'del', ns]);
    }
    const left = (await execa('ip', ['netns', 'list'])).stdout;
    expect(left).not.toContain(NS_KDC);
    expect(left).not.toContain(NS_CLI);
  });

  it('no password appears in any output, error, config or log', () => {
    const files = readdirSync(dir).filter((f) => /\.(conf|log|stderr|acl)$/.test(f)).map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(files.length).toBeGreaterThan(3);
    for (const text of [...seen, ...files]) for (const s of secrets) expect(text.includes(s)).toBe(false);
  });
});
