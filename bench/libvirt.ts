// --driver libvirt timings on this machine: a libvirtd of cellctl's own started cold (a new QEMU
// capability cache) and warm, the guests' root image built cold, define + start of a guest on it to
// its agent answering, a live migration of that guest between two namespaced libvirtds, and as
// processes: `cellctl smoke cells/tproa.yaml --driver libvirt`, then cells/tproa-2hosts.yaml (both
// hosts over local sockets here: the ssh leg needs the test's sshd) applied, its KDC/db server moved
// by `cellctl migrate` there and back, destroyed -- reported, never asserted.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import type { BenchIo } from './qemu.js';

type Proc = { ms: number; code: number };

export interface LibvirtBench {
  available: boolean;
  reason?: string;
  libvirtd?: { coldMs: number; warmMs: number; stopMs: number };
  rootImage?: { coldMs: number; sizeMiB: number };
  guest?: { defineMs: number; startMs: number; agentReadyMs: number; accel: string };
  migrate?: { ms: number; error?: string };
  smoke?: { ms: number; code: number };
  twoHosts?: { apply: Proc; migrate: Proc; migrateBack: Proc; destroy: Proc };
  error?: string;
}

const round = (x: number) => Math.round(x);

export async function libvirtBench(io: BenchIo): Promise<LibvirtBench> {
  const dist = async <T>(p: string): Promise<T> => (await import(pathToFileURL(join(io.root, 'dist', p)).href)) as T;
  const L = await dist<typeof import('../src/drivers/libvirt/libvirtd.js')>('src/drivers/libvirt/libvirtd.js');
  const pre = L.libvirtdPrerequisites();
  if (!pre.ok) return { available: false, reason: pre.reason };
  const D = await dist<typeof import('../src/drivers/libvirt/domain.js')>('src/drivers/libvirt/domain.js');
  const vm = await dist<typeof import('../src/drivers/vm/index.js')>('src/drivers/vm/index.js');
  const { waitForAgent } = await dist<typeof import('../src/drivers/vm/qemu.js')>('src/drivers/vm/qemu.js');
  const R = await dist<typeof import('../src/drivers/libvirt/root-image.js')>('src/drivers/libvirt/root-image.js');
  const X = await dist<typeof import('../src/drivers/xen/root-image.js')>('src/drivers/xen/root-image.js');
  const out: LibvirtBench = { available: true };
  const work = mkdtempSync(join(tmpdir(), 'clv-bench-')); // short: the daemons' sockets live here
  const ns = ['clvb-a', 'clvb-b'];
  const daemons: string[] = [];
  const agents: InstanceType<typeof vm.GuestAgent>[] = [];
  const virsh = (uri: string) => async (args: string[]) => {
    const r = await execa('virsh', ['-c', uri, ...args], { reject: false, all: true });
    if (r.exitCode !== 0) throw new Error(`virsh ${args.join(' ')}: ${String(r.all)}`);
    return String(r.stdout);
  };
  try {
    for (const n of ns) {
      await execa('ip', ['netns', 'add', n]);
      await execa('ip', ['-n', n, 'link', 'add', 'br0', 'type', 'bridge']);
      await execa('ip', ['-n', n, 'link', 'set', 'br0', 'up']);
    }
    await execa('ip', ['-n', ns[0]!, 'link', 'add', 'hla', 'type', 'veth', 'peer', 'name', 'hlb', 'netns', ns[1]!]);
    await execa('ip', ['-n', ns[0]!, 'link', 'set', 'hla', 'master', 'br0', 'up']);
    await execa('ip', ['-n', ns[1]!, 'link', 'set', 'hlb', 'master', 'br0', 'up']);

    io.log('libvirt: libvirtd cold (new capability cache) and warm');
    const cold = await L.startLibvirtd({ dir: join(work, 'cold'), netns: ns[0]!, hostUuid: L.hostUuidFor(`${work}cold`), capsCache: join(work, 'caps') });
    const s0 = performance.now();
    await L.stopLibvirtd(cold.daemon.dir, { remove: true });
    const stopMs = round(performance.now() - s0);
    const started: Awaited<ReturnType<typeof L.startLibvirtd>>[] = [];
    for (const [i, n] of ns.entries()) {
      const d = await L.startLibvirtd({ dir: join(work, `d${i}`), netns: n, hostUuid: L.hostUuidFor(`${work}${i}`) });
      daemons.push(d.daemon.dir);
      started.push(d);
    }
    out.libvirtd = { coldMs: round(cold.readyMs), warmMs: round(started[0]!.readyMs), stopMs };

    io.log('libvirt: the guests\' root image, cold (the cache keeps one per package versions)');
    const r0 = performance.now();
    const img = await X.buildRootImage({ packages: R.ROOT_PACKAGES }, join(work, 'root-cold.img'), { label: 'cellctl-lv-root' });
    out.rootImage = { coldMs: round(performance.now() - r0), sizeMiB: img.sizeMiB };
    rmSync(img.path, { force: true });
    const root = await R.libvirtRootImage();

    io.log('libvirt: define + start a guest on the root image to its agent answering; another migrated live');
    const files = await vm.prepareBootFiles();
    const accel = await vm.chooseAccel({ kernel: files.kernel.boot, initrd: files.initramfs.path });
    const boot = async (name: string, ip: string) => {
      const dir = join(work, name);
      mkdirSync(dir, { recursive: true });
      const sock = join(dir, 'agent-0.sock');
      const d = vm.describeGuest({ name, dir, memoryMiB: 256, kernel: files.kernel.boot, initrd: files.initramfs.path, rootImage: root.path, vifs: [{ mac: `52:54:00:82:00:0${ip.slice(-1)}`, tap: `clvb${name}0`, bridge: 'br0', ip, prefix: 24 }] }, { console: join(dir, 'console.log'), agentSocket: sock });
      writeFileSync(join(dir, 'domain.xml'), vm.domainXml(d, accel, { name: `clvb-${name}` }));
      const v = virsh(started[0]!.daemon.uri);
      const t0 = performance.now();
      await v(['define', join(dir, 'domain.xml')]);
      const t1 = performance.now();
      await v(['start', `clvb-${name}`]);
      const t2 = performance.now();
      const agent = new vm.GuestAgent(sock, name);
      agents.push(agent);
      await waitForAgent(agent, { label: name, consoleLog: join(dir, 'console.log'), timeoutMs: 180_000, gone: () => undefined });
      return { defineMs: round(t1 - t0), startMs: round(t2 - t1), agentReadyMs: round(performance.now() - t1), agent };
    };
    const g = await boot('rooted', '10.82.0.1');
    out.guest = { defineMs: g.defineMs, startMs: g.startMs, agentReadyMs: g.agentReadyMs, accel: `${accel.accel}: ${accel.reason}` };
    g.agent.close();
    const m = await boot('mover', '10.82.0.2');
    m.agent.close();
    try {
      const ms = await D.migrateDomain({
        from: started[0]!.daemon.uri, to: started[1]!.daemon.uri.replace(/^qemu:/, 'qemu+unix:'), domain: 'clvb-mover',
        channel: { port: vm.AGENT_PORT, path: join(work, 'mover', 'agent-1.sock') }, via: join(work, 'mover', 'migrate.sock'), xmlFile: join(work, 'mover', 'migrate.xml'),
      });
      out.migrate = { ms: round(ms) };
    } catch (e) {
      out.migrate = { ms: 0, error: (e as Error).message.split('\n')[0] };
    }
  } catch (e) {
    out.error = (e as Error).message.split('\n')[0];
  } finally {
    for (const x of agents) x.close();
    for (const d of daemons) {
      const uri = L.libvirtdUri(L.socketOf(d));
      for (const name of ['clvb-rooted', 'clvb-mover']) await D.removeDomain(virsh(uri), name).catch(() => undefined);
      await L.stopLibvirtd(d, { remove: true }).catch(() => undefined);
    }
    for (const n of ns) {
      // whatever a failed run left in the namespace (a QEMU outlives its libvirtd) ends with it
      for (const pid of String((await execa('ip', ['netns', 'pids', n], { reject: false })).stdout).split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await execa('ip', ['netns', 'del', n], { reject: false });
    }
    rmSync(work, { recursive: true, force: true });
  }

  io.log('libvirt: smoke cells/tproa.yaml --driver libvirt (a libvirtd of its own)');
  const sock = mkdtempSync(join(tmpdir(), 'clv-smoke-'));
  out.smoke = await io.run(['smoke', join(io.root, 'cells/tproa.yaml'), '--driver', 'libvirt', '--connect', `qemu:///system?socket=${join(sock, 'd', 'libvirt-sock')}`], 900_000);
  rmSync(sock, { recursive: true, force: true });

  io.log('libvirt: cells/tproa-2hosts.yaml (local sockets) apply, migrate service-m1 there and back, destroy');
  const two = mkdtempSync(join(tmpdir(), 'clv-two-'));
  try {
    const file = join(two, 'tproa-2hosts.yaml');
    const cell = readFileSync(join(io.root, 'cells/tproa-2hosts.yaml'), 'utf8')
      .replace(/uri: "qemu:\/\/\/system\?socket=[^"]*"/, `uri: "qemu+unix:///system?socket=${join(two, 'kraken', 'libvirt-sock')}"`)
      .replace(/uri: "qemu\+ssh:[^"]*"/, `uri: "qemu+unix:///system?socket=${join(two, 'squid', 'libvirt-sock')}"`);
    writeFileSync(file, cell);
    const st = ['--state-dir', join(two, 'state'), '--quiet'];
    const apply = await io.run(['apply', file, '--driver', 'libvirt', '--auto-approve', ...st], 900_000);
    const migrate = await io.run(['migrate', file, 'service-m1', '--to', 'squid', ...st], 900_000);
    const migrateBack = await io.run(['migrate', file, 'service-m1', '--to', 'kraken', ...st], 900_000);
    const destroy = await io.run(['destroy', file, '--auto-approve', ...st], 900_000);
    out.twoHosts = { apply, migrate, migrateBack, destroy };
  } finally {
    rmSync(two, { recursive: true, force: true });
  }
  return out;
}
