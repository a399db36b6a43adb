// One cell over two libvirtds: each host names its own URI in the cell file (hosts.<h>.uri), cellctl
// runs each libvirtd inside its host's namespace (distinct host UUIDs), the hosts' same-named bridges
// are one segment, so a guest on one host reaches a guest on the other. `cellctl migrate` asks libvirt
// to move a guest live; with the host root over 9p QEMU refuses, and the guest stays where it ran.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { GuestAgent } from '../../../src/drivers/vm/agent.js';
import { GUEST_BUSYBOX } from '../../../src/drivers/vm/guest-agent.js';
import type { CellState } from '../../../src/state/types.js';
import { cellctl, title, type Run } from '../qemu/env.js';
import { cleanUp, leftovers, libvirtEnv, shortTemp } from './env.js';

const env = await libvirtEnv();
const CELL = 'lv2.test';

describe.skipIf(!env.ok)(title('--driver libvirt: one cell over two libvirtds named by hosts.<h>.uri', env), () => {
  let work: string;
  let stateDir: string;
  let file: string;
  let applied: Run;
  let destroyed: Run | undefined;
  const prefix = () => netnsPrefix(CELL, join(stateDir, CELL, 'libvirt'));
  const uri = (h: string) => `qemu:///system?socket=${join(work, h, 'libvirt-sock')}`;
  const out = (a: string) => (JSON.parse(readFileSync(join(stateDir, CELL, 'state.json'), 'utf8')) as CellState).resources[a]!.outputs as Record<string, any>;

  beforeAll(async () => {
    work = shortTemp('two');
    stateDir = join(work, 'state');
    file = join(work, 'two-hosts.yaml');
    const host = (h: string) => `  ${h}: { os: netbsd-4.0_beta, xen: 3.0.3, memory: 512, dom0_memory: 128, cpus: 2, bridges: [br0], uri: "${uri(h)}" }`;
    const guest = (g: string, h: string, n: number) => `  ${g}: { host: ${h}, os: debian-etch, kernel: linux-2.6.16.29-xen-3.0.3, memory: 128, vifs: [{ mac: "00:16:3e:81:00:0${n}", bridge: br0, ip: 10.81.0.${n} }] }`;
    writeFileSync(file, ['cell: lv2.test', 'hosts:', host('h1'), host('h2'), 'guests:', guest('g1', 'h1', 1), guest('g2', 'h2', 2), ''].join('\n'));
    applied = await cellctl(['apply', file, '--driver', 'libvirt', '--state-dir', stateDir], 600_000);
  }, 700_000);

  afterAll(async () => {
    if (!destroyed && stateDir && existsSync(join(stateDir, CELL))) await cellctl(['destroy', file, '--state-dir', stateDir, '--auto-approve']);
    await cleanUp(work, work ? [prefix()] : []);
  }, 120_000);

  it('runs a libvirtd per host, each in its namespace with a host UUID of its own', async () => {
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
    const uuids = new Set<string>();
    for (const h of ['h1', 'h2']) {
      expect(out(`host.${h}`).uri).toBe(uri(h));
      const caps = String((await execa('virsh', ['-c', uri(h), 'capabilities'])).stdout);
      uuids.add(/<host>\s*<uuid>([^<]+)<\/uuid>/.exec(caps)![1]!);
      expect(String((await execa('virsh', ['-c', uri(h), 'list', '--name'])).stdout).trim()).toBe(`${prefix()}-${h === 'h1' ? 'g1' : 'g2'}`);
    }
    expect(uuids.size).toBe(2);
  });

  it('a guest on one host reaches a guest on the other (the hosts\' bridges are one segment)', async () => {
    const a = new GuestAgent(out('guest.g1').agent_socket, 'g1');
    try {
      const r = await a.exec(GUEST_BUSYBOX, ['ping', '-c', '2', '-W', '5', '10.81.0.2'], { timeoutMs: 30_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    } finally {
      a.close();
    }
  });

  it('`cellctl migrate` reaches libvirt, which refuses a guest with the host root over 9p; it keeps running where it was', async () => {
    const m = await cellctl(['migrate', file, 'g1', '--to', 'h2', '--state-dir', stateDir]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/Migration is disabled when VirtFS export path '\/' is mounted in the guest using mount_tag 'root'.*\(guests of --driver libvirt have the host's root over 9p/s);
    expect(String((await execa('virsh', ['-c', uri('h1'), 'domstate', `${prefix()}-g1`])).stdout).trim()).toBe('running');
    const s = await cellctl(['status', file, '--state-dir', stateDir, '--json']);
    expect((JSON.parse(s.stdout) as { drift: unknown[] }).drift).toEqual([]);
  });

  it('destroy leaves no domain, libvirtd, namespace or file', async () => {
    destroyed = await cellctl(['destroy', file, '--state-dir', stateDir, '--auto-approve']);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(await leftovers(work, [prefix()])).toEqual([]);
    for (const h of ['h1', 'h2']) expect(existsSync(join(work, h))).toBe(false);
    expect(existsSync(join(stateDir, CELL))).toBe(false);
  });
});
