// Live migration between two libvirtds on this machine, each inside its own network namespace (its
// own host UUID), the two hosts' bridges joined into one segment, the guests' files on a path both
// see. A diskless guest (nothing over 9p) moves under TCG over qemu+ssh:// (a loopback sshd standing
// for the other machine) and back over qemu+unix://, keeping its memory, uptime, address and agent;
// a guest with the host root over 9p is refused by QEMU, in QEMU's words.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDomain, removeDomain, type Virsh } from '../../../src/drivers/libvirt/domain.js';
import { hostUuidFor, startLibvirtd, stopLibvirtd, type Libvirtd } from '../../../src/drivers/libvirt/libvirtd.js';
import { parseChannelPath } from '../../../src/drivers/libvirt/parse.js';
import { chooseAccel } from '../../../src/drivers/vm/accel.js';
import { GuestAgent } from '../../../src/drivers/vm/agent.js';
import { prepareBootFiles, type BootFiles } from '../../../src/drivers/vm/boot-files.js';
import { domainXml } from '../../../src/drivers/vm/domain-xml.js';
import { AGENT_PORT, GUEST_BUSYBOX } from '../../../src/drivers/vm/guest-agent.js';
import { describeGuest, type GuestSpec } from '../../../src/drivers/vm/guest-description.js';
import { waitForAgent } from '../../../src/drivers/vm/qemu.js';
import { VirshSession } from '../../../src/drivers/libvirt/virsh.js';
import { title } from '../qemu/env.js';
import { cleanUp, leftovers, libvirtEnv, shortTemp } from './env.js';
import { sshAvailable, startSshd, type Sshd } from './sshd.js';

const lv = await libvirtEnv();
const env = !lv.ok ? lv : sshAvailable() ? lv : { ...lv, ok: false, reason: 'no sshd, ssh or virt-ssh-helper (openssh-server, openssh-client, libvirt-daemon)' };
const NS = ['clvm-a', 'clvm-b'];

async function ip(...args: string[]): Promise<void> {
  await execa('ip', args);
}

describe.skipIf(!env.ok)(title('live migration between two namespaced libvirtds on this machine', env), () => {
  let work: string;
  let files: BootFiles;
  const daemons: Libvirtd[] = [];
  let sshd: Sshd | undefined;
  const sessions: VirshSession[] = [];
  const virsh = async (uri: string): Promise<Virsh> => {
    const s = await VirshSession.open(uri);
    sessions.push(s);
    return (args, t) => s.run(args, t);
  };
  const agents: GuestAgent[] = [];
  const agentAt = (sock: string) => {
    const a = new GuestAgent(sock, sock);
    agents.push(a);
    return a;
  };

  /** Defines and starts a guest from the guest description on daemon i; returns its agent once it answers. */
  async function boot(name: string, i: number, spec: Partial<GuestSpec>): Promise<GuestAgent> {
    const dir = join(work, 'guests', name);
    mkdirSync(dir, { recursive: true });
    const agentSocket = join(dir, `agent-${i}.sock`);
    const d = describeGuest({ name, dir, memoryMiB: 256, kernel: files.kernel.boot, initrd: files.initramfs.path, ...spec }, { console: join(dir, 'console.log'), agentSocket });
    const xml = join(dir, 'domain.xml');
    writeFileSync(xml, domainXml(d, await chooseAccel({ kernel: files.kernel.boot, initrd: files.initramfs.path }), { name: `clvm-${name}` }));
    const v = await virsh(daemons[i]!.uri);
    await v(['define', xml]);
    await v(['start', `clvm-${name}`]);
    const agent = agentAt(agentSocket); // a channel socket serves one client at a time
    await waitForAgent(agent, { label: name, consoleLog: join(dir, 'console.log'), timeoutMs: 180_000, gone: () => undefined });
    return agent;
  }

  beforeAll(async () => {
    work = shortTemp('mig');
    files = await prepareBootFiles();
    // two hosts: a namespace each with a bridge, the bridges joined by a veth (one segment, as the cell's same-named bridges)
    for (const ns of NS) {
      await ip('netns', 'add', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', ns, 'link', 'add', 'br0', 'type', 'bridge');
      await ip('-n', ns, 'link', 'set', 'br0', 'up');
    }
    await ip('-n', NS[0]!, 'link', 'add', 'hla', 'type', 'veth', 'peer', 'name', 'hlb', 'netns', NS[1]!);
    await ip('-n', NS[0]!, 'link', 'set', 'hla', 'master', 'br0', 'up');
    await ip('-n', NS[1]!, 'link', 'set', 'hlb', 'master', 'br0', 'up');
    for (const [i, ns] of NS.entries()) daemons.push((await startLibvirtd({ dir: join(work, `d${i}`), netns: ns, hostUuid: hostUuidFor(`${work}|${i}`) })).daemon);
    sshd = await startSshd(join(work, 'ssh'), daemons[1]!.dir);
  }, 300_000);

  afterAll(async () => {
    for (const a of agents) a.close();
    for (const s of sessions) await s.close();
    for (const d of daemons) {
      for (const name of ['clvm-mover', 'clvm-rooted']) {
        const v: Virsh = async (args) => {
          const r = await execa('virsh', ['-c', d.uri, ...args], { reject: false, all: true });
          if (r.exitCode !== 0) throw new Error(String(r.all));
          return String(r.stdout);
        };
        await removeDomain(v, name).catch(() => undefined);
      }
      await stopLibvirtd(d.dir, { remove: true }).catch(() => undefined);
    }
    sshd?.stop();
    for (const ns of NS) await execa('ip', ['netns', 'del', ns], { reject: false });
    await cleanUp(work, NS);
  }, 120_000);

  it('moves a running diskless guest to the other host over qemu+ssh:// and back over qemu+unix://, memory, uptime, address and agent intact', async () => {
    const [before, rooted] = await Promise.all([
      boot('mover', 0, { root: 'diskless', vifs: [{ mac: '52:54:00:80:00:01', tap: 'clvmmover0', bridge: 'br0', ip: '10.80.0.1', prefix: 24 }] }),
      boot('rooted', 0, { vifs: [{ mac: '52:54:00:80:00:02', tap: 'clvmrooted0', bridge: 'br0', ip: '10.80.0.2', prefix: 24 }] }),
    ]);
    rooted!.close();
    const sockA = before!.socketPath;
    await before.writeFile('/tmp/marker', 'written before the move\n'); // tmpfs: it lives in the guest's memory only
    const up0 = Number((await before!.exec('cat', ['/proc/uptime'])).stdout.split(' ')[0]);
    before!.close();

    const sockB = join(work, 'guests', 'mover', 'agent-1.sock');
    const ms = await migrateDomain({
      from: daemons[0]!.uri, to: sshd!.uri, domain: 'clvm-mover', channel: { port: AGENT_PORT, path: sockB },
      via: join(work, 'guests', 'mover', 'migrate.sock'), xmlFile: join(work, 'guests', 'mover', 'migrate.xml'),
    });
    expect(ms).toBeGreaterThan(0);
    const [a, b] = await Promise.all(daemons.map((d) => virsh(d.uri)));
    expect((await a!(['list', '--all', '--name'])).split('\n')).not.toContain('clvm-mover'); // --undefinesource
    expect((await b!(['domstate', 'clvm-mover'])).trim()).toBe('running');
    expect(parseChannelPath(await b!(['dumpxml', 'clvm-mover']), AGENT_PORT)).toBe(sockB);
    expect((await execa('ip', ['-n', NS[1]!, '-o', 'link', 'show', 'master', 'br0'])).stdout).toContain('clvmmover0'); // its tap now on B's bridge

    const there = agentAt(sockB);
    expect((await there.readFile('/tmp/marker')).toString()).toBe('written before the move\n');
    expect(Number((await there.exec('cat', ['/proc/uptime'])).stdout.split(' ')[0])).toBeGreaterThan(up0); // the same boot, not a new one
    const ping = await there.exec(GUEST_BUSYBOX, ['ping', '-c', '2', '-W', '5', '10.80.0.2'], { timeoutMs: 30_000 }); // to the guest still on A, across the joined bridges
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    there.close();

    await migrateDomain({
      from: daemons[1]!.uri, to: daemons[0]!.uri.replace(/^qemu:/, 'qemu+unix:'), domain: 'clvm-mover', channel: { port: AGENT_PORT, path: sockA },
      via: join(work, 'guests', 'mover', 'migrate.sock'), xmlFile: join(work, 'guests', 'mover', 'migrate.xml'),
    });
    expect((await a!(['domstate', 'clvm-mover'])).trim()).toBe('running');
    expect((await agentAt(sockA).readFile('/tmp/marker')).toString()).toBe('written before the move\n');
  }, 600_000);

  it('refuses a guest with the host root over 9p, in QEMU\'s words', async () => {
    await expect(migrateDomain({
      from: daemons[0]!.uri, to: sshd!.uri, domain: 'clvm-rooted', channel: { port: AGENT_PORT, path: join(work, 'guests', 'rooted', 'agent-1.sock') },
      via: join(work, 'guests', 'rooted', 'migrate.sock'), xmlFile: join(work, 'guests', 'rooted', 'migrate.xml'),
    })).rejects.toThrow(/cannot migrate domain: Migration is disabled when VirtFS export path '\/' is mounted in the guest using mount_tag 'root'/);
    const a = await virsh(daemons[0]!.uri);
    expect((await a(['domstate', 'clvm-rooted'])).trim()).toBe('running'); // left where it was
  }, 120_000);

  it('leaves nothing once the domains, daemons, sshd and namespaces are gone', async () => {
    for (const a of agents.splice(0)) a.close();
    for (const s of sessions.splice(0)) await s.close();
    for (const d of daemons) {
      const v: Virsh = async (args) => String((await execa('virsh', ['-c', d.uri, ...args])).stdout);
      for (const n of (await v(['list', '--all', '--name'])).split('\n').filter(Boolean)) await removeDomain(v, n);
      expect(await stopLibvirtd(d.dir, { remove: true })).toBe('stopped');
    }
    sshd!.stop();
    for (const ns of NS) await execa('ip', ['netns', 'del', ns]);
    for (let i = 0; i < 50 && (await leftovers(work, NS)).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await leftovers(work, NS)).toEqual([]);
  }, 120_000);
});
