// cells/tproa-2hosts.yaml for real, as committed: kraken on a libvirtd cellctl runs over its socket,
// squid on one cellctl runs too but reaches through a loopback sshd (qemu+ssh://, standing for the other
// machine's sshd: the test starts it with the port and keys the cell file names). The smoke is green,
// with the KDC, the AFS servers and both kernel clients in the guests; then, applied, the KDC, AFS db
// server and fileserver service-m1 (its disks and hot-plugged /vicepa with it) moves live to squid over
// ssh and back over the socket while client-m2 keeps reading a file from /afs/tproa.net (each read
// fetched from the fileserver again), the cell's checks and state read back the same before, between
// and after; destroy leaves no domain, libvirtd, namespace, sshd or directory.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { GuestAgent } from '../../../src/drivers/vm/agent.js';
import { GUEST_BUSYBOX } from '../../../src/drivers/vm/guest-agent.js';
import { deriveChecks } from '../../../src/ops/checks.js';
import { Session } from '../../../src/ops/session.js';
import type { CellState } from '../../../src/state/types.js';
import { cellctl, title } from '../qemu/env.js';
import { cleanUp, leftovers, libvirtEnv, shortTemp } from './env.js';
import { sshAvailable, startSshd, type Sshd } from './sshd.js';

const FILE = resolve('cells/tproa-2hosts.yaml');
const CELL = 'tproa.net';
const uris = (() => {
  const doc = parseDocument(readFileSync(FILE, 'utf8')).toJS() as { hosts: Record<string, { uri: string }> };
  return { kraken: doc.hosts.kraken!.uri, squid: new URL(doc.hosts.squid!.uri) };
})();
const SSH_DIR = '/run/cellctl/tproa-ssh'; // the cell file's keyfile= and command= are in it
const DAEMON_DIRS = ['/run/cellctl/tproa-kraken', '/run/cellctl/tproa-squid'];

const PROBE = '/afs/tproa.net/migration-probe';
const PROBE_TEXT = 'read by client-m2 while service-m1 moves';
// client-m2 reads the file every 0.2 s, each time from the fileserver (fs flush drops the cached copy first)
const READ_LOOP = `ok=0; bad=0; rm -f /tmp/reads.stop
while [ ! -e /tmp/reads.stop ]; do
  fs flush ${PROBE} >/dev/null 2>&1
  if [ "$(cat ${PROBE} 2>>/tmp/reads.err)" = "${PROBE_TEXT}" ]; then ok=$((ok + 1)); else bad=$((bad + 1)); date >>/tmp/reads.err; fi
  echo "$ok $bad" >/tmp/reads.count.new && mv /tmp/reads.count.new /tmp/reads.count
  sleep 0.2
done`;

const lv = await libvirtEnv({ openafs: true });
const env = !lv.ok ? lv : sshAvailable({ nc: true }) ? lv : { ...lv, ok: false, reason: 'no sshd, ssh, virt-ssh-helper or nc (openssh-server, openssh-client, libvirt-daemon, netcat-openbsd)' };

describe.skipIf(!env.ok)(title('cells/tproa-2hosts.yaml on two libvirtds, the second reached over qemu+ssh:// (loopback sshd)', env), () => {
  let work: string;
  let sshd: Sshd | undefined;
  let stateDir: string;
  let destroyed = false;
  const prefix = () => netnsPrefix(CELL, join(stateDir, CELL, 'libvirt'));
  const state = (): CellState => JSON.parse(readFileSync(join(stateDir, CELL, 'state.json'), 'utf8')) as CellState;
  const out = (a: string) => state().resources[a]!.outputs as Record<string, any>;
  const run = (...args: string[]) => cellctl([...args, '--state-dir', stateDir], 900_000);
  type Drift = { address: string; reason: string | null; found: boolean };
  const drift = async (): Promise<Drift[]> => {
    const s = await run('status', FILE, '--json');
    expect(s.code, s.stderr).toBe(0);
    const j = JSON.parse(s.stdout) as { drift: Drift[]; refreshed: boolean; unknown: unknown[] };
    expect(j.refreshed).toBe(true);
    expect(j.unknown).toEqual([]);
    return j.drift;
  };
  /** The cell's checks (as smoke derives them) run on the applied cell, through a read-only driver: name -> status. */
  const cellChecks = async (): Promise<Record<string, string>> => {
    const s = Session.load(FILE, { stateDir, driver: 'libvirt' });
    try {
      const st = s.readState()!;
      const d = await s.driver('libvirt', st, { readOnly: true });
      const out: Record<string, string> = {};
      for (const c of deriveChecks(s.spec.cell, s.spec.realm, s.plan(st, { driver: 'libvirt' }).desired)) {
        const r = await d.check(c);
        out[c.name] = r.status === 'fail' ? `fail: ${r.message}` : r.status;
      }
      return out;
    } finally {
      await s.close();
    }
  };
  const green = (checks: Record<string, string>) => {
    expect(Object.values(checks).filter((x) => x.startsWith('fail'))).toEqual([]);
    expect(Object.values(checks).filter((x) => x === 'pass').length).toBeGreaterThanOrEqual(4); // each guest runs and has openafs.ko
  };
  const withAgent = async <T>(guest: string, f: (a: GuestAgent) => Promise<T>): Promise<T> => {
    const a = new GuestAgent(out(`guest.${guest}`).agent_socket, guest); // one client at a time: closed before the CLI runs
    try {
      return await f(a);
    } finally {
      a.close();
    }
  };
  const uptime = (g: string) => withAgent(g, async (a) => Number((await a.exec('cat', ['/proc/uptime'])).stdout.split(' ')[0]));
  const reads = () => withAgent('client-m2', async (a) => {
    const [ok, bad] = (await a.readFile('/tmp/reads.count')).toString().trim().split(' ').map(Number);
    return { ok: ok!, bad: bad! };
  });
  const domains = async (uri: string) => String((await execa('virsh', ['-c', uri, 'list', '--name'])).stdout).trim().split('\n').filter(Boolean);

  beforeAll(async () => {
    work = shortTemp('tproa2');
    stateDir = join(work, 'state');
    for (const d of [SSH_DIR, ...DAEMON_DIRS]) if (existsSync(d)) throw new Error(`${d} exists: another run of this test, or one that was killed (remove it)`);
    sshd = await startSshd(SSH_DIR, undefined, Number(uris.squid.port));
  }, 60_000);

  afterAll(async () => {
    if (!destroyed && stateDir && existsSync(join(stateDir, CELL))) await run('destroy', FILE, '--auto-approve');
    sshd?.stop();
    rmSync(SSH_DIR, { recursive: true, force: true });
    await cleanUp(work, work ? [prefix()] : []);
  }, 300_000);

  it('smokes green: every check passes or is skipped for a stated reason, none fails; nothing is left', async () => {
    const r = await cellctl(['smoke', FILE, '--driver', 'libvirt', '--json', '--state-dir', join(work, 'smoke')], 900_000);
    const rep = JSON.parse(r.stdout) as { summary: { passed: number; failed: number; skipped: number }; checks?: { name: string; status: string }[] };
    console.log(`smoke cells/tproa-2hosts.yaml --driver libvirt: ${JSON.stringify(rep.summary)}`);
    expect(rep.summary.failed, r.stdout).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    for (const name of [
      'KDC on service-m1 answers an AS-REQ for TPROA.NET', 'ubik quorum with one sync site among service-m1',
      'volume root.cell on-line on service-m1 /vicepa and in the VLDB', 'AFS client module loaded on client-m2',
      'write a file in /afs/tproa.net from client-m2 as kula/admin and read it back from the fileserver',
    ]) expect(rep.checks?.find((c) => c.name === name)?.status, name).toBe('pass');
    expect(rep.summary.passed).toBeGreaterThanOrEqual(19); // tproa.yaml's 19, and client-m2's
    for (const d of DAEMON_DIRS) expect(existsSync(d)).toBe(false);
    expect(await leftovers('/run/cellctl/tproa-', [])).toEqual([]);
  }, 900_000);

  it('applies: one libvirtd per host, squid\'s reached over qemu+ssh://, host UUIDs of their own', async () => {
    const a = await run('apply', FILE, '--driver', 'libvirt', '--auto-approve');
    expect(a.code, `${a.stdout}\n${a.stderr}`).toBe(0);
    expect(out('host.squid').connected).toMatch(/^qemu\+ssh:\/\/root@127\.0\.0\.1:\d+\/system/);
    expect(out('host.kraken').libvirtd_dir).toBe(DAEMON_DIRS[0]);
    expect(out('host.squid').libvirtd_dir).toBe(DAEMON_DIRS[1]);
    const uuid = async (uri: string) => /<host>\s*<uuid>([^<]+)<\/uuid>/.exec(String((await execa('virsh', ['-c', uri, 'capabilities'])).stdout))![1];
    expect(await uuid(uris.kraken)).not.toBe(await uuid(uris.squid.href));
    expect(await domains(uris.kraken)).toEqual([`${prefix()}-service-m1`]);
    expect(await domains(uris.squid.href)).toEqual([`${prefix()}-client-m2`]);
    expect(await drift()).toEqual([]);
  }, 900_000);

  it('`cellctl migrate` moves the KDC, db and file server service-m1 live to squid over ssh and back over the socket; client-m2 keeps reading a file from /afs; the cell\'s checks and refresh give what they gave before', async () => {
    const before = await cellChecks();
    green(before);
    // kula/admin writes the file and lets anyone read /afs/tproa.net; client-m2 reads it anonymously
    const pw = (() => {
      const s = Session.load(FILE, { stateDir, driver: 'libvirt' });
      try {
        return s.secrets().peek('principal:kula/admin')!;
      } finally {
        void s.close();
      }
    })();
    const put = await withAgent('service-m1', (a) => a.exec('pagsh', ['-c', [
      'export KRB5CCNAME=FILE:/tmp/krb5cc_probe',
      'kinit kula/admin@TPROA.NET >/dev/null && aklog -c tproa.net -k TPROA.NET || exit 3',
      `echo '${PROBE_TEXT}' >${PROBE} && fs setacl /afs/tproa.net system:anyuser rl; rc=$?; kdestroy -q; exit $rc`,
    ].join('\n')], { input: `${pw}\n`, timeoutMs: 60_000 }));
    expect(put.code, put.stdout + put.stderr).toBe(0);
    await withAgent('client-m2', (a) => a.spawn(GUEST_BUSYBOX, ['sh', '-c', READ_LOOP], { logFile: '/tmp/reads.log' }));
    for (let i = 0; i < 100 && !(await reads().catch(() => ({ ok: 0, bad: 0 }))).ok; i++) await new Promise((r) => setTimeout(r, 200));
    expect((await reads()).ok).toBeGreaterThan(0);
    const up0 = await uptime('service-m1');
    const figures: string[] = [];
    for (const [to, uri] of [['squid', uris.squid.href], ['kraken', uris.kraken]] as const) {
      const r0 = await reads();
      const t0 = Date.now();
      const m = await run('migrate', FILE, 'service-m1', '--to', to);
      const r1 = await reads();
      figures.push(`to ${to}: cellctl migrate ${((Date.now() - t0) / 1000).toFixed(1)} s, ${r1.ok - r0.ok} reads ok, ${r1.bad - r0.bad} failed`);
      console.log(`cellctl migrate ${FILE} service-m1 --to ${to}:\n${m.stdout.trim().split('\n').slice(-3).join('\n')}`);
      expect(m.code, `${m.stdout}\n${m.stderr}`).toBe(0);
      expect(r1.ok).toBeGreaterThan(r0.ok); // the client read the file during the move
      expect(r1.bad, figures.join('; ')).toBe(r0.bad);
      expect(await domains(uri)).toContain(`${prefix()}-service-m1`);
      expect((state().resources['guest.service-m1']!.attrs as { host: string }).host).toBe(to);
      // refresh finds everything as recorded (the guest answers, its module is loaded, /vicepa mounted,
      // afsd up) on its new host; on squid the file disagrees (it names kraken): the next apply would move it back
      const d = await drift();
      expect(d.filter((x) => x.found)).toEqual([]);
      if (to === 'kraken') expect(d).toEqual([]);
      else expect(d.find((x) => x.address === 'guest.service-m1')?.reason).toMatch(/moves to another host/);
      expect(await cellChecks()).toEqual(before); // the cell's checks give what they gave before the move
    }
    expect(await uptime('service-m1')).toBeGreaterThan(up0); // the same running kernel, not a reboot
    const total = await withAgent('client-m2', async (a) => {
      await a.exec(GUEST_BUSYBOX, ['sh', '-c', 'touch /tmp/reads.stop; sleep 1']);
      return (await a.readFile('/tmp/reads.count')).toString().trim();
    });
    console.log(`client-m2 reading ${PROBE} during two live migrations of service-m1: ${figures.join('; ')}; in all (ok failed): ${total}`);
    expect(total.split(' ')[1]).toBe('0');
  }, 900_000);

  it('destroy leaves no domain, libvirtd, namespace or directory (the sshd is the other machine\'s: the test stops it)', async () => {
    const d = await run('destroy', FILE, '--auto-approve');
    destroyed = true;
    expect(d.code, `${d.stdout}\n${d.stderr}`).toBe(0);
    for (const dir of DAEMON_DIRS) expect(existsSync(dir)).toBe(false);
    sshd!.stop();
    rmSync(SSH_DIR, { recursive: true, force: true });
    const ended = () => {
      try {
        const st = readFileSync(`/proc/${sshd!.pid}/stat`, 'utf8');
        return st.slice(st.lastIndexOf(')') + 2).startsWith('Z'); // exited, not yet reaped by whoever adopted it
      } catch {
        return true;
      }
    };
    for (let i = 0; i < 50 && !ended(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(ended()).toBe(true);
    expect(await leftovers('/run/cellctl/tproa-', [prefix()])).toEqual([]);
    expect(existsSync(join(stateDir, CELL))).toBe(false);
  }, 300_000);
});
