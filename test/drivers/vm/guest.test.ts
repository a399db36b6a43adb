// Real QEMU guests (TCG here): two booted in parallel on one bridge inside a netns, driven through
// the agent, then stopped; plus a guest stopped before its agent is up and one whose kernel panics.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentTimeoutError, type GuestAgent } from '../../../src/drivers/vm/agent.js';
import { prepareBootFiles, type BootFiles } from '../../../src/drivers/vm/boot-files.js';
import { GUEST_BUSYBOX } from '../../../src/drivers/vm/guest-agent.js';
import { hostKernelImage } from '../../../src/drivers/vm/kernel.js';
import { isStaticElf } from '../../../src/drivers/vm/kimage.js';
import { qmpCommand } from '../../../src/drivers/vm/qmp.js';
import { attachGuest, guestAlive, startGuest, stopGuest, waitReady, type Guest } from '../../../src/drivers/vm/qemu.js';
import { createBridgeNetns, type BridgeNetns } from './netns-bridge.js';

function environment(): { ok: boolean; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (taps, netns)' };
  try {
    const release = hostKernelImage().release;
    if (!existsSync(`/lib/modules/${release}/modules.dep`)) return { ok: false, reason: `no /lib/modules/${release}` };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (!existsSync('/bin/busybox') || !isStaticElf(readFileSync('/bin/busybox'))) return { ok: false, reason: 'no static /bin/busybox (busybox-static)' };
  for (const [cmd, arg] of [['qemu-system-x86_64', '--version'], ['ip', '-V'], ['modprobe', '--version'], ['xz', '--version']]) {
    try {
      execaSync(cmd!, [arg!]);
    } catch {
      return { ok: false, reason: `no ${cmd}` };
    }
  }
  return { ok: true, reason: '' };
}
const env = environment();

const mac = () => `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
const IP1 = '10.213.0.11';
const IP2 = '10.213.0.12';
const socketDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('cellctl-vm-')).sort();

/** Processes in the guest as "pid stat args" lines (busybox ps: no dependency on the guest's procps). */
async function guestPs(a: GuestAgent): Promise<string[]> {
  return (await a.exec(GUEST_BUSYBOX, ['ps', '-o', 'pid,stat,args'])).stdout.trim().split('\n').slice(1).map((l) => l.trim());
}

describe.skipIf(!env.ok)(`QEMU guests driven by the agent${env.ok ? '' : ` (skipped: ${env.reason})`}`, () => {
  const diskMarker = `vmkit-disk-${randomBytes(4).toString('hex')}`;
  const socketDirsBefore = socketDirs();
  let dir: string; // made in beforeAll: a skipped describe still runs its body
  let boot: BootFiles;
  let net: BridgeNetns;
  let g1: Guest;
  let g2: Guest;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vmkit-guests-'));
    const disk = join(dir, 'data.img');
    boot = await prepareBootFiles();
    net = await createBridgeNetns(2, '10.213.0.1/24');
    writeFileSync(disk, Buffer.concat([Buffer.from(diskMarker), Buffer.alloc((1 << 20) - diskMarker.length)]));
    const common = { kernel: boot.kernel.boot, initrd: boot.initramfs.path, netns: net.ns, memoryMiB: 384 };
    const t0 = Date.now();
    [g1, g2] = await Promise.all([
      startGuest({ ...common, name: 'vmt1', dir: join(dir, 'vmt1'), vifs: [{ mac: mac(), tap: net.taps[0]!, ip: IP1, prefix: 24 }], disks: [{ file: disk, readonly: true }] }),
      startGuest({ ...common, name: 'vmt2', dir: join(dir, 'vmt2'), vifs: [{ mac: mac(), tap: net.taps[1]!, ip: IP2, prefix: 24 }], root: 'tmpfs' }),
    ]);
    const ready = await Promise.all([waitReady(g1), waitReady(g2)]);
    console.log(`two guests (${g1.accel.accel}: ${g1.accel.reason}) agent-ready ${Date.now() - t0} ms after start (${ready.join(', ')} ms after QEMU was up)`);
  }, 240_000);

  afterAll(async () => {
    for (const g of [g1, g2]) if (g && guestAlive(g.pidfile)) await stopGuest(g);
    await net?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('boots the kit kernel: uname -r is its release, hostname is the guest name, console shows the markers', async () => {
    const r = await g1.agent.exec('uname', ['-r']);
    expect(r).toEqual({ code: 0, stdout: `${boot.kernel.release}\n`, stderr: '' });
    expect((await g2.agent.exec('uname', ['-n'])).stdout.trim()).toBe('vmt2');
    const con = readFileSync(g1.consoleLog, 'utf8');
    expect(con).toMatch(/=== cellctl: starting guest vmt1 .* \(tcg|kvm/);
    expect(con).toMatch(/Linux version \S+/); // the kernel's own log
    for (const mark of ['host root mounted over 9p', 'root: overlayfs', `net: eth0 `, 'switching root', 'cellctl-agent: ']) expect(con).toContain(mark);
  });

  it('writes and reads back binary data, with the mode asked for', async () => {
    const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(200_000)]);
    await g1.agent.writeFile('/root/vmkit/blob.bin', data, 0o600);
    expect((await g1.agent.readFile('/root/vmkit/blob.bin')).equals(data)).toBe(true);
    expect((await g1.agent.exec('stat', ['-c', '%a %s', '/root/vmkit/blob.bin'])).stdout).toBe(`600 ${data.length}\n`);
    await expect(g1.agent.readFile('/root/vmkit/absent')).rejects.toThrow(/guest vmt1: cannot read \/root\/vmkit\/absent/);
  });

  it('reports stdout, stderr and exit status 3 of a failing command', async () => {
    const r = await g1.agent.exec('sh', ['-c', 'echo to-out; echo to-err >&2; exit 3']);
    expect(r).toEqual({ code: 3, stdout: 'to-out\n', stderr: 'to-err\n' });
  });

  it('answers concurrent callers each with their own result', async () => {
    const rs = await Promise.all(['a', 'b', 'c', 'd'].map((x) => g1.agent.exec('sh', ['-c', `echo ${x}$((6*7))`], { input: 'unused' })));
    expect(rs.map((r) => r.stdout)).toEqual(['a42\n', 'b42\n', 'c42\n', 'd42\n']);
    expect((await g1.agent.exec('cat', [], { input: 'from stdin' })).stdout).toBe('from stdin');
  });

  it('times out a hanging command (killing it, keeping stdin secrets out of the error); the next command works', async () => {
    const t0 = Date.now();
    const err = await g1.agent.exec('sh', ['-c', 'cat >/dev/null; exec sleep 777'], { input: 's3cret-vmkit', timeoutMs: 1500 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AgentTimeoutError);
    expect(String(err)).toMatch(/guest vmt1: sh -c .* timed out after 1500 ms/);
    expect(String(err)).not.toContain('s3cret');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await g1.agent.exec('echo', ['alive'])).stdout).toBe('alive\n');
    expect((await guestPs(g1.agent)).filter((l) => l.includes('sleep 777'))).toEqual([]);
  });

  it('spawns a daemon that outlives its request, a timed-out neighbour and a restart of the agent', async () => {
    const pid = await g1.agent.spawn('sleep', ['1000'], { logFile: '/var/log/vmkit/sleep.log' });
    const alive = async () => (await guestPs(g1.agent)).find((l) => l.startsWith(`${pid} `));
    expect(await alive()).toMatch(new RegExp(`^${pid} +[^Z ]\\S* +(/usr/bin/)?sleep 1000$`)); // running or sleeping, not a zombie
    await g1.agent.exec('sleep', ['60'], { timeoutMs: 300 }).catch(() => undefined);
    // the agent is killed from a detached helper; stage2 starts a new one a second later
    await g1.agent.spawn('sh', ['-c', `sleep 0.3; kill $(cat /run/cellctl/agent.pid)`]);
    await new Promise((r) => setTimeout(r, 1500));
    await waitReady(g1, 30_000);
    expect((await g1.agent.exec('cat', ['/run/cellctl/agent.pid'])).code).toBe(0);
    expect(await alive()).toBeDefined();
    expect(readFileSync(g1.consoleLog, 'utf8')).toMatch(/agent exited \(\d+\); restarting it/);
  }, 60_000);

  it('gives each guest the IP asked for on a shared bridge: they ping each other', async () => {
    const [a, b] = await Promise.all([
      g1.agent.exec(GUEST_BUSYBOX, ['ping', '-c', '2', '-W', '5', IP2], { timeoutMs: 20_000 }),
      g2.agent.exec(GUEST_BUSYBOX, ['ping', '-c', '2', '-W', '5', IP1], { timeoutMs: 20_000 }),
    ]);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect((await g2.agent.exec('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout).toContain(`inet ${IP2}/24`);
  }, 60_000);

  it('keeps guest writes in the guest: overlay root (vmt1), tmpfs dirs over a read-only root (vmt2)', async () => {
    const probe = `/usr/local/vmkit-${randomBytes(4).toString('hex')}`;
    expect((await g1.agent.exec('sh', ['-c', `echo x > ${probe} && cat ${probe}`])).stdout).toBe('x\n');
    expect(existsSync(probe)).toBe(false); // not on the host
    const w2 = await g2.agent.exec('sh', ['-c', `echo x > ${probe}`]);
    expect(w2.code).not.toBe(0);
    expect(w2.stderr).toMatch(/Read-only file system/);
    expect((await g2.agent.exec('sh', ['-c', 'echo y > /etc/vmkit-probe && cat /etc/vmkit-probe /etc/hostname'])).stdout).toBe('y\nvmt2\n');
    expect(readFileSync(g2.consoleLog, 'utf8')).toContain('root: host root read-only, tmpfs on /etc');
  });

  it('attaches raw disks as virtio-blk: vmt1 reads the marker from /dev/vda', async () => {
    const r = await g1.agent.exec(GUEST_BUSYBOX, ['head', '-c', String(diskMarker.length), '/dev/vda']);
    expect(r.stdout).toBe(diskMarker);
  });

  it('finds a running guest again from its directory', async () => {
    expect(guestAlive(g1.pidfile)).toBe(g1.pid);
    g1.agent.close(); // QEMU serves one agent connection at a time
    const again = attachGuest('vmt1', g1.dir)!;
    expect(again).toMatchObject({ pid: g1.pid, cmdline: g1.cmdline, agentSocket: g1.agentSocket, accel: { accel: g1.accel.accel, cpu: g1.accel.cpu } });
    expect((await again.agent.exec('uname', ['-n'])).stdout).toBe('vmt1\n');
    again.agent.close();
    await expect(startGuest({ name: 'vmt1', dir: g1.dir, kernel: boot.kernel.boot, initrd: boot.initramfs.path })).rejects.toThrow(/guest vmt1: already running/);
  });

  it('stops both by guest poweroff and leaves no process, socket, namespace or tap behind', async () => {
    const t0 = Date.now();
    expect(await Promise.all([stopGuest(g1), stopGuest(g2)])).toEqual(['poweroff', 'poweroff']);
    console.log(`stop: ${Date.now() - t0} ms`);
    for (const g of [g1, g2]) {
      expect(guestAlive(g.pidfile)).toBeUndefined();
      expect(existsSync(`/proc/${g.pid}`) && !readFileSync(`/proc/${g.pid}/stat`, 'utf8').includes(') Z')).toBe(false);
      expect(readdirSync(g.dir).sort()).toEqual(['console.log', 'qemu.log']);
      expect(readFileSync(g.consoleLog, 'utf8')).toMatch(/reboot: Power down/);
    }
    const taps = net.taps;
    await net.destroy();
    expect(String(execaSync('ip', ['netns', 'list']).stdout)).not.toContain(net.ns);
    for (const t of taps) expect(existsSync(`/sys/class/net/${t}`)).toBe(false);
    expect(socketDirs()).toEqual(socketDirsBefore);
    expect(readdirSync(dir).sort()).toEqual(['data.img', 'vmt1', 'vmt2']);
  }, 60_000);

  it('stops a guest whose agent is not up yet (QMP quit), without waiting for its boot', async () => {
    const g = await startGuest({ name: 'vmt3', dir: join(dir, 'vmt3'), kernel: boot.kernel.boot, initrd: boot.initramfs.path, memoryMiB: 256 });
    expect(guestAlive(g.pidfile)).toBe(g.pid);
    // paused before its init runs, so the agent cannot answer however fast the machine boots
    await qmpCommand(g.qmpSocket, 'stop');
    const t0 = Date.now();
    expect(await stopGuest(g)).toBe('qmp-quit');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(guestAlive(g.pidfile)).toBeUndefined();
  }, 30_000);

  it("reports QEMU's own error when it cannot start, and leaves nothing running", async () => {
    const err = await startGuest({ name: 'vmt5', dir: join(dir, 'vmt5'), kernel: join(dir, 'no-such-kernel'), initrd: boot.initramfs.path }).catch((e: Error) => e);
    expect(String(err)).toMatch(/guest vmt5: QEMU did not start \(exit 1\): .*could not open kernel file/);
    expect(guestAlive(join(dir, 'vmt5', 'qemu.pid'))).toBeUndefined();
    expect(readFileSync(join(dir, 'vmt5', 'qemu.log'), 'utf8')).toMatch(/could not open kernel file/);
  });

  it('fails waitReady early, with the console, when the guest dies during boot', async () => {
    const junk = join(dir, 'junk.img');
    writeFileSync(junk, randomBytes(4096));
    const g = await startGuest({ name: 'vmt4', dir: join(dir, 'vmt4'), kernel: boot.kernel.boot, initrd: junk, memoryMiB: 256 });
    const err = await waitReady(g, 120_000).catch((e: Error) => e);
    expect(String(err)).toMatch(/guest vmt4: QEMU exited before the agent answered; console ends:[\s\S]*Kernel panic/);
    expect(guestAlive(g.pidfile)).toBeUndefined();
    await stopGuest(g);
  }, 130_000);
});
