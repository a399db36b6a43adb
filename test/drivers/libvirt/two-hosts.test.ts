// One cell over two libvirtds, each host naming its own URI in the cell file (hosts.<h>.uri): h1's
// libvirtd is cellctl's own (run inside h1's namespace), h2 stands for another machine, reached over
// qemu+ssh:// through an sshd on loopback in front of a libvirtd the test runs in a namespace of its
// own (its bridge joined to h1's: the LAN). Guests on the two hosts reach each other; `cellctl migrate`
// moves one live to the other machine; destroy removes what cellctl made there and here, and leaves the
// other machine's libvirtd alone.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostUuidFor, libvirtdPid, startLibvirtd, stopLibvirtd, type Libvirtd } from '../../../src/drivers/libvirt/libvirtd.js';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { GuestAgent } from '../../../src/drivers/vm/agent.js';
import { GUEST_BUSYBOX } from '../../../src/drivers/vm/guest-agent.js';
import type { CellState } from '../../../src/state/types.js';
import { cellctl, title, type Run } from '../qemu/env.js';
import { cleanUp, leftovers, libvirtEnv, shortTemp } from './env.js';
import { sshAvailable, startSshd, type Sshd } from './sshd.js';

const lv = await libvirtEnv();
const env = !lv.ok ? lv : sshAvailable() ? lv : { ...lv, ok: false, reason: 'no sshd, ssh or virt-ssh-helper (openssh-server, libvirt-daemon)' };
const CELL = 'lv2.test';
const FAR = 'clv2-far'; // the other machine's namespace

describe.skipIf(!env.ok)(title('--driver libvirt: one cell over cellctl\'s libvirtd and another reached over qemu+ssh://', env), () => {
  let work: string;
  let stateDir: string;
  let file: string;
  let far: Libvirtd;
  let sshd: Sshd;
  let applied: Run;
  let destroyed: Run | undefined;
  const prefix = () => netnsPrefix(CELL, join(stateDir, CELL, 'libvirt'));
  const h1Uri = () => `qemu:///system?socket=${join(work, 'h1', 'libvirt-sock')}`;
  const out = (a: string) => (JSON.parse(readFileSync(join(stateDir, CELL, 'state.json'), 'utf8')) as CellState).resources[a]!.outputs as Record<string, any>;

  beforeAll(async () => {
    work = shortTemp('two');
    stateDir = join(work, 'state');
    await execa('ip', ['netns', 'add', FAR]);
    await execa('ip', ['-n', FAR, 'link', 'add', 'br0', 'type', 'bridge']);
    await execa('ip', ['-n', FAR, 'link', 'set', 'br0', 'up']);
    far = (await startLibvirtd({ dir: join(work, 'far'), netns: FAR, hostUuid: hostUuidFor(`${work}|far`) })).daemon;
    sshd = await startSshd(join(work, 'ssh'), far.dir);
    file = join(work, 'two-hosts.yaml');
    const host = (h: string, uri: string) => `  ${h}: { os: netbsd-4.0_beta, xen: 3.0.3, memory: 512, dom0_memory: 128, cpus: 2, bridges: [br0], uri: "${uri}" }`;
    const guest = (g: string, h: string, n: number) => `  ${g}: { host: ${h}, os: debian-etch, kernel: linux-2.6.16.29-xen-3.0.3, memory: 128, vifs: [{ mac: "00:16:3e:81:00:0${n}", bridge: br0, ip: 10.81.0.${n} }] }`;
    writeFileSync(file, ['cell: lv2.test', 'hosts:', host('h1', h1Uri()), host('h2', sshd.uri), 'guests:', guest('g1', 'h1', 1), guest('g2', 'h2', 2), ''].join('\n'));
    applied = await cellctl(['apply', file, '--driver', 'libvirt', '--state-dir', stateDir], 600_000);
  }, 700_000);

  afterAll(async () => {
    if (!destroyed && stateDir && existsSync(join(stateDir, CELL))) await cellctl(['destroy', file, '--state-dir', stateDir, '--auto-approve']);
    sshd?.stop();
    if (far) await stopLibvirtd(far.dir, { remove: true }).catch(() => undefined);
    await cleanUp(work, work ? [prefix(), FAR] : [FAR]);
  }, 120_000);

  it('puts each guest on its host\'s libvirtd; the two have host UUIDs of their own', async () => {
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
    expect(out('host.h1').libvirtd_dir).toBe(join(work, 'h1')); // cellctl's own
    expect(out('host.h2').libvirtd_dir).toBeUndefined(); // another's: only connected to
    const uuids = new Set<string>();
    for (const [h, uri] of [['h1', h1Uri()], ['h2', sshd.uri]] as const) {
      const caps = String((await execa('virsh', ['-c', uri, 'capabilities'])).stdout);
      uuids.add(/<host>\s*<uuid>([^<]+)<\/uuid>/.exec(caps)![1]!);
      expect(String((await execa('virsh', ['-c', uri, 'list', '--name'])).stdout).trim()).toBe(`${prefix()}-${h === 'h1' ? 'g1' : 'g2'}`);
    }
    expect(uuids.size).toBe(2);
    expect(String((await execa('ip', ['-n', FAR, '-o', 'link', 'show', 'master', 'br0'])).stdout)).toContain(out('guest.g2').taps[0]); // g2's tap, on the far bridge
  });

  it('a guest on one host reaches a guest on the other once the two bridges are one segment', async () => {
    await execa('ip', ['-n', out('host.h1').netns, 'link', 'add', 'lan1', 'type', 'veth', 'peer', 'name', 'lan2', 'netns', FAR]);
    await execa('ip', ['-n', out('host.h1').netns, 'link', 'set', 'lan1', 'master', 'br0', 'up']);
    await execa('ip', ['-n', FAR, 'link', 'set', 'lan2', 'master', 'br0', 'up']);
    const a = new GuestAgent(out('guest.g1').agent_socket, 'g1');
    try {
      const r = await a.exec(GUEST_BUSYBOX, ['ping', '-c', '2', '-W', '5', '10.81.0.2'], { timeoutMs: 30_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    } finally {
      a.close();
    }
  });

  it('`cellctl migrate` moves g1 live to the other machine\'s libvirtd (nothing over 9p: its root is the shared image); it still answers and reaches g2', async () => {
    const m = await cellctl(['migrate', file, 'g1', '--to', 'h2', '--state-dir', stateDir]);
    expect(m.code, `${m.stdout}\n${m.stderr}`).toBe(0);
    expect(String((await execa('virsh', ['-c', h1Uri(), 'list', '--all', '--name'])).stdout).trim()).toBe('');
    expect(String((await execa('virsh', ['-c', sshd.uri, 'domstate', `${prefix()}-g1`])).stdout).trim()).toBe('running');
    expect(out('guest.g1').host).toBe('h2');
    const a = new GuestAgent(out('guest.g1').agent_socket, 'g1');
    try {
      const r = await a.exec(GUEST_BUSYBOX, ['ping', '-c', '2', '-W', '5', '10.81.0.2'], { timeoutMs: 30_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    } finally {
      a.close();
    }
    const s = await cellctl(['status', file, '--state-dir', stateDir, '--json']);
    const drift = (JSON.parse(s.stdout) as { drift: { address: string; found: boolean }[] }).drift;
    expect(drift.filter((d) => d.found)).toEqual([]); // refresh finds it as recorded; the file still names h1
  });

  it('destroy removes every domain and what cellctl made; the other machine\'s libvirtd keeps running', async () => {
    destroyed = await cellctl(['destroy', file, '--state-dir', stateDir, '--auto-approve']);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(String((await execa('virsh', ['-c', far.uri, 'list', '--all', '--name'])).stdout).trim()).toBe('');
    expect(libvirtdPid(far.dir)).toBe(far.pid);
    expect(await leftovers(join(work, 'state'), [prefix()])).toEqual([]);
    expect(await leftovers(join(work, 'h1'), [])).toEqual([]);
    expect(existsSync(join(work, 'h1'))).toBe(false);
    expect(existsSync(join(stateDir, CELL))).toBe(false);
  });
});

describe.skipIf(!lv.ok)(title('--driver libvirt: two hosts cannot share the libvirtd cellctl runs in one host\'s namespace', lv), () => {
  let work: string;
  afterAll(() => cleanUp(work, work ? [netnsPrefix('share.test', join(work, 'state', 'share.test', 'libvirt'))] : []), 60_000);

  it('refuses the second host, naming both and what to do; destroy removes the first', async () => {
    work = shortTemp('share');
    const file = join(work, 'share.yaml');
    const host = (h: string) => `  ${h}: { os: netbsd-4.0_beta, xen: 3.0.3, memory: 512, dom0_memory: 128, cpus: 2, bridges: [br0] }`;
    writeFileSync(file, ['cell: share.test', 'hosts:', host('h1'), host('h2'), 'guests: {}', ''].join('\n'));
    const stateDir = join(work, 'state');
    const connect = `qemu:///system?socket=${join(work, 'd', 'libvirt-sock')}`;
    const r = await cellctl(['apply', file, '--driver', 'libvirt', '--connect', connect, '--state-dir', stateDir]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/hosts h[12] and h[12] cannot share the libvirtd cellctl runs at .*\/d: it runs inside one host's network namespace; give each host a socket of its own/);
    const d = await cellctl(['destroy', file, '--connect', connect, '--state-dir', stateDir, '--auto-approve']);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(await leftovers(work, [netnsPrefix('share.test', join(stateDir, 'share.test', 'libvirt'))])).toEqual([]);
    expect(existsSync(join(work, 'd'))).toBe(false);
  }, 120_000);
});
