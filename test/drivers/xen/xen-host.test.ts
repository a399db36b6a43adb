// A real Xen 4.17 host nested in QEMU (TCG here), booted once for this file: xl info, a domU from
// the seed's shea (cells/awesmoe-fixed.yaml) made by the real xl create, its console and agent,
// a domU too big for the host refused by xl itself, shutdown and destroy, then nothing left.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuestAgent } from '../../../src/drivers/vm/agent.js';
import { guestAlive } from '../../../src/drivers/vm/qemu.js';
import { closeDomuAgent, openDomuAgent, waitDomuReady } from '../../../src/drivers/xen/domu-agent.js';
import { domuConfig, prepareDomuBoot, type DomuBoot } from '../../../src/drivers/xen/domu-config.js';
import { attachXenHost, prepareDom0Boot, startXenHost, stopXenHost, waitXenReady, type XenHost } from '../../../src/drivers/xen/host.js';
import { buildRootImage } from '../../../src/drivers/xen/root-image.js';
import { XlError, xlConsole, xlCreate, xlDestroy, xlInfo, xlList, xlShutdown, type XenInfo } from '../../../src/drivers/xen/xl.js';
import { createBridgeNetns, type BridgeNetns } from '../vm/netns-bridge.js';
import { seedShea, xenEnvironment } from './env.js';

const env = xenEnvironment();
const shea = seedShea;

const HOST_MEMORY = 1024; // the seed's kraken: memory 1024, dom0_memory 256, cpus 2
const DOM0_MEMORY = 256;
const sec = (ms: number) => (ms / 1000).toFixed(1);
const socketDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('cellctl-vm-')).sort();

describe.skipIf(!env.ok)(`a nested Xen host and its domUs${env.ok ? '' : ` (skipped: ${env.reason})`}`, () => {
  const socketDirsBefore = socketDirs();
  let dir: string;
  let net: BridgeNetns;
  let host: XenHost;
  let info: XenInfo;
  let boot: DomuBoot;
  let agent: GuestAgent;
  const split: Record<string, number> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xenkit-host-'));
    // the host's uplink: a tap on a bridge in a namespace of our own, standing for the other cell hosts
    net = await createBridgeNetns(1, '10.4.0.1/24');
    const [dom0Boot, domuBoot] = await Promise.all([prepareDom0Boot(), prepareDomuBoot()]);
    boot = domuBoot;
    const t0 = Date.now();
    host = await startXenHost({
      name: 'kraken', dir: join(dir, 'kraken'), memoryMiB: HOST_MEMORY, cpus: 2, dom0MemoryMiB: DOM0_MEMORY,
      bridges: ['bridge3', 'bridge4'], netns: net.ns,
      vifs: [{ mac: `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`, tap: net.taps[0]!, bridge: 'bridge4' }],
      shares: [{ hostPath: join(dir, 'local-xen'), dom0Path: '/local/xen' }],
    }, dom0Boot);
    // the seed's disk, at the seed's path (dom0's /local/xen is the host's dir/local-xen)
    await buildRootImage({ programs: ['uname', 'hostname', 'ip'] }, join(dir, 'local-xen', 'shea.awesmoe.org', 'debian.4-0.img'));
    info = await waitXenReady(host);
    split.xlInfo = Date.now() - t0;
    const dom0Up = /cellctl-init: \[([\d.]+)\] userspace up/.exec(readFileSync(host.dom0.consoleLog, 'utf8'))?.[1];
    console.log(`dom0 userspace at dom0 uptime ${dom0Up} s`);
    const argv = readFileSync(`/proc/${host.dom0.pid}/cmdline`, 'utf8').split('\0');
    console.log(`Xen host up (${host.dom0.accel.accel}, -cpu ${argv[argv.indexOf('-cpu') + 1]}): dom0 agent ${sec(host.timings.dom0Agent!)} s, dom0 set up ${sec(host.timings.dom0Setup!)} s, xl info ${sec(host.timings.xlInfo!)} s after QEMU start`);
  }, 400_000);

  afterAll(async () => {
    agent?.close();
    if (host && guestAlive(host.dom0.pidfile)) await stopXenHost(host).catch(() => undefined);
    await net?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('answers xl info with the machine asked for: its memory, cpus, Xen 4.17', async () => {
    expect(info.xenVersion).toMatch(/^4\.17\./);
    // Xen keeps a few pages of the machine's memory for itself
    expect(info.totalMemoryMiB).toBeGreaterThan(HOST_MEMORY - 16);
    expect(info.totalMemoryMiB).toBeLessThanOrEqual(HOST_MEMORY);
    expect(info.freeMemoryMiB).toBeLessThanOrEqual(info.totalMemoryMiB - DOM0_MEMORY);
    expect(info.freeMemoryMiB).toBeGreaterThan(HOST_MEMORY - DOM0_MEMORY - 64);
    expect(info.nrCpus).toBe(2);
    expect(info.raw.xen_commandline).toContain(`dom0_mem=${DOM0_MEMORY}M`);
    const dom0 = (await xlList(host)).find((d) => d.id === 0);
    expect(dom0).toMatchObject({ name: 'Domain-0', memMiB: DOM0_MEMORY, vcpus: 2 });
    console.log(`xl info: xen_version ${info.xenVersion}, total_memory ${info.totalMemoryMiB}, free_memory ${info.freeMemoryMiB}, nr_cpus ${info.nrCpus}`);
  });

  it('has the Xen console and dom0 boot in the host console, and the bridges in dom0', async () => {
    const con = readFileSync(host.dom0.consoleLog, 'utf8');
    expect(con).toMatch(/\(XEN\) Xen version 4\.17/);
    expect(con).toMatch(/Hypervisor detected: Xen PV/);
    for (const mark of ['cellctl-dom0: ', 'xenstored up', 'xenconsoled up', 'bridge bridge4', 'uplink ']) expect(con).toContain(mark);
    const links = (await host.dom0.agent.exec('ip', ['-o', 'link', 'show', 'master', 'bridge4'])).stdout;
    expect(links).toMatch(/master bridge4/); // the uplink NIC
  });

  it("creates the seed's shea with the real xl create: in xl list with its id and memory", async () => {
    const cfg = domuConfig('shea', shea(), boot, { gateway: '10.4.0.1' });
    agent = await openDomuAgent(host, 'shea');
    const t0 = Date.now();
    const created = await xlCreate(host, cfg);
    split.xlCreate = Date.now() - t0;
    expect(created.id).toBeGreaterThan(0);
    const d = (await xlList(host)).find((x) => x.name === 'shea');
    expect(d).toMatchObject({ id: created.id, memMiB: 128, vcpus: 1 });
    expect(d!.state).toMatch(/^[-rb]{6}$/); // running or blocked, not paused or crashed
    await waitDomuReady(host, 'shea', agent, 180_000);
    split.domuAgent = Date.now() - t0;
    const up = /cellctl-init: \[([\d.]+)\] domU userspace up/.exec(xlConsole(host, 'shea'));
    console.log(`split: QEMU start -> xl info ${sec(split.xlInfo!)} s; xl create returned ${sec(split.xlCreate)} s; domU userspace at domU uptime ${up?.[1]} s; domU agent answered ${sec(split.domuAgent)} s after xl create started`);
  }, 300_000);

  it("shows the domU's console from its first line: the real kernel log and the init's markers", () => {
    const con = xlConsole(host, 'shea');
    expect(con).toMatch(/^\[ +0\.000000\] Linux version 6\.\d+/); // the domU's own first line
    expect(con).toMatch(/Command line: root=\/dev\/hda1 ro console=hvc0 cellctl\.hostname=shea/);
    expect(con).toMatch(/Booting kernel on Xen/);
    for (const mark of ['domU userspace up', 'hypervisor xen', 'root /dev/xvda mounted read-only (root=/dev/hda1 ro)', 'root remounted read-write', 'net: eth0 00:16:3e:10:11:38 10.4.0.38/24', 'agent listening on [link-local]:7000']) {
      expect(con).toContain(mark);
    }
  });

  it('runs commands in the domU through its agent: uname -r, files, the cell network', async () => {
    expect(await agent.exec('uname', ['-r'])).toEqual({ code: 0, stdout: `${boot.kernel.release}\n`, stderr: '' });
    expect((await agent.exec('hostname')).stdout).toBe('shea\n');
    const data = randomBytes(100_000);
    await agent.writeFile('/root/xenkit.bin', data, 0o600);
    expect((await agent.readFile('/root/xenkit.bin')).equals(data)).toBe(true);
    expect((await agent.exec('cat', ['/sys/hypervisor/type'])).stdout).toBe('xen\n');
    // the control NIC is not in the guest's own namespace: the cell sees eth0 only
    expect((await agent.exec('ip', ['-o', 'link'])).stdout).not.toMatch(/eth1/);
    // shea's address, reached from the other end of dom0's uplink (inside the test's namespace)
    const ping = execaSync('ip', ['netns', 'exec', net.ns, 'busybox', 'ping', '-c', '2', '-W', '5', '10.4.0.38'], { reject: false });
    expect(ping.exitCode, String(ping.stdout) + String(ping.stderr)).toBe(0);
  }, 120_000);

  it("refuses a domU bigger than the host's free memory with xl's own message", async () => {
    const free = (await xlInfo(host)).freeMemoryMiB;
    const cfg = `name = "huge"\nkernel = "${boot.kernel.boot}"\nramdisk = "${boot.initramfs.path}"\nmemory = ${free + 512}\nextra = "console=hvc0"\n`;
    const err = await xlCreate(host, cfg).catch((e: Error) => e);
    expect(err).toBeInstanceOf(XlError);
    const out = (err as XlError).xlOutput;
    console.log(`xl create of ${free + 512} MiB with ${free} MiB free:\n${out}`);
    expect(out).toMatch(/^Parsing config from \/etc\/xen\/cellctl\/huge\.cfg/);
    expect(out).toMatch(/libxl: error: .*(memory|Cannot allocate|Out of memory)/i);
    expect((await xlList(host)).map((d) => d.name)).not.toContain('huge');
  }, 120_000);

  it('destroys a domU at once (xl destroy)', async () => {
    const cfg = `name = "scratch"\nkernel = "${boot.kernel.boot}"\nramdisk = "${boot.initramfs.path}"\nmemory = 128\nextra = "console=hvc0 cellctl.hostname=scratch"\n`;
    await xlCreate(host, cfg);
    expect((await xlList(host)).map((d) => d.name)).toContain('scratch');
    await xlDestroy(host, 'scratch');
    expect((await xlList(host)).map((d) => d.name)).not.toContain('scratch');
    await expect(xlDestroy(host, 'scratch')).rejects.toThrow(XlError);
  }, 120_000);

  it('shuts shea down cleanly (xl shutdown -w): its init syncs and powers off', async () => {
    await xlShutdown(host, 'shea', { waitMs: 120_000 });
    agent.close();
    await closeDomuAgent(host, 'shea');
    expect((await xlList(host)).map((d) => d.name)).toEqual(['Domain-0']);
    expect(xlConsole(host, 'shea')).toContain('shutdown requested; syncing and powering off');
  }, 150_000);

  it('finds the running host again from its directory (a later cellctl process)', async () => {
    host.dom0.agent.close(); // QEMU serves one connection per agent socket
    const again = attachXenHost(join(dir, 'kraken'))!;
    expect(again).toMatchObject({ spec: { name: 'kraken', memoryMiB: HOST_MEMORY }, dom0: { pid: host.dom0.pid }, logDir: host.logDir });
    expect((await xlInfo(again)).totalMemoryMiB).toBe(info.totalMemoryMiB);
    again.dom0.agent.close();
  });

  it('stops the host and leaves no process, namespace, tap, socket or file outside its directory', async () => {
    // the nested CPU model is chosen for this (catalog: stand-ins.json xen_host.cpu_model): no process died of a bad access
    const faults = (await host.dom0.agent.exec('sh', ['-c', 'dmesg | grep -E "segfault|general protection|traps:" || true'])).stdout.trim();
    expect(faults, 'dom0 kernel log').toBe('');
    expect(xlConsole(host, 'shea').split('\n').filter((l) => /segfault|general protection|traps:/.test(l)), 'shea kernel log').toEqual([]);
    const pid = host.dom0.pid;
    expect(await stopXenHost(host)).toBe('poweroff');
    expect(guestAlive(host.dom0.pidfile)).toBeUndefined();
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')).toBe(false);
    expect(readFileSync(host.dom0.consoleLog, 'utf8')).toMatch(/reboot: Power down|\(XEN\) .*(Power|power|Hardware Dom0 shutdown)/);
    const tap = net.taps[0]!;
    await net.destroy();
    expect(String(execaSync('ip', ['netns', 'list']).stdout)).not.toContain(net.ns);
    expect(existsSync(`/sys/class/net/${tap}`)).toBe(false);
    expect(socketDirs()).toEqual(socketDirsBefore);
    expect(readdirSync(join(dir, 'kraken')).sort()).toEqual(['dom0', 'xen-host.json', 'xen-log']);
    expect(readdirSync(join(dir, 'kraken', 'dom0')).sort()).toEqual(['console.log', 'qemu.log']);
  }, 120_000);
});
