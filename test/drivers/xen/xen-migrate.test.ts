// Two nested Xen hosts on one bridge (through their uplinks, in a namespace of the test's own)
// with shared storage: the real `xl migrate` of the seed's shea, and the cold move (xl save +
// xl restore) that works where the live one cannot.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuestAgent } from '../../../src/drivers/vm/agent.js';
import { guestAlive } from '../../../src/drivers/vm/qemu.js';
import { closeDomuAgent, openDomuAgent, waitDomuReady } from '../../../src/drivers/xen/domu-agent.js';
import { domuConfig, prepareDomuBoot } from '../../../src/drivers/xen/domu-config.js';
import { prepareDom0Boot, startXenHost, stopXenHost, waitXenReady, type XenHost } from '../../../src/drivers/xen/host.js';
import { pvLiveMigration, xlMigrate, xlMoveCold } from '../../../src/drivers/xen/migrate.js';
import { buildRootImage } from '../../../src/drivers/xen/root-image.js';
import { XlError, xlConsole, xlCreate, xlList } from '../../../src/drivers/xen/xl.js';
import { createBridgeNetns, type BridgeNetns } from '../vm/netns-bridge.js';
import { seedShea, xenEnvironment } from './env.js';

const env = xenEnvironment();
const mac = () => `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
const names = async (h: XenHost) => (await xlList(h)).map((d) => d.name);

describe.skipIf(!env.ok)(`moving a domU between two nested Xen hosts${env.ok ? '' : ` (skipped: ${env.reason})`}`, () => {
  let dir: string;
  let net: BridgeNetns;
  let a: XenHost;
  let b: XenHost;
  let agent: GuestAgent;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xenkit-migrate-'));
    net = await createBridgeNetns(2, '10.4.0.1/24');
    const [dom0Boot, boot] = await Promise.all([prepareDom0Boot(), prepareDomuBoot()]);
    // storage both dom0s see at /local/xen: the same host directory
    const shared = { hostPath: join(dir, 'local-xen'), dom0Path: '/local/xen' };
    const host = (name: string, i: number) =>
      startXenHost({ name, dir: join(dir, name), memoryMiB: 768, cpus: 1, dom0MemoryMiB: 256, bridges: ['bridge4'], netns: net.ns, vifs: [{ mac: mac(), tap: net.taps[i]!, bridge: 'bridge4' }], shares: [shared] }, dom0Boot);
    [a, b] = await Promise.all([host('kraken', 0), host('kraken2', 1)]);
    await buildRootImage({ programs: ['uname', 'hostname'] }, join(dir, 'local-xen', 'shea.awesmoe.org', 'debian.4-0.img'));
    await Promise.all([waitXenReady(a), waitXenReady(b)]);
    agent = await openDomuAgent(a, 'shea');
    await xlCreate(a, domuConfig('shea', seedShea(), boot, { gateway: '10.4.0.1' }));
    await waitDomuReady(a, 'shea', agent, 240_000);
    await agent.writeFile('/root/marker', 'written on kraken\n');
  }, 500_000);

  afterAll(async () => {
    agent?.close();
    await Promise.all([a, b].filter((h) => h && guestAlive(h.dom0.pidfile)).map((h) => stopXenHost(h).catch(() => undefined)));
    await net?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('live: xl migrate does what this Xen build allows (PV log-dirty needs shadow paging)', async () => {
    const live = pvLiveMigration(a);
    const r = await xlMigrate(a, b, 'shea', { bridge: 'bridge4' }).then(() => undefined, (e: Error) => e);
    if (live === false) {
      expect(r).toBeInstanceOf(XlError);
      // xl's own words: the sender cannot put the domain in log-dirty mode
      expect((r as XlError).xlOutput).toMatch(/Failed to enable logdirty: 95/);
      console.log(`xl migrate on a build without CONFIG_SHADOW_PAGING:\n${(r as XlError).xlOutput}`);
      // the domain is still on the sender, and still works
      expect(await names(a)).toContain('shea');
      expect((await agent.exec('cat', ['/root/marker'])).stdout).toBe('written on kraken\n');
    } else {
      expect(r).toBeUndefined();
      expect(await names(b)).toContain('shea');
    }
  }, 300_000);

  it('cold: xl save on one host, xl restore on the other; memory, disk and network come along', async () => {
    if (!(await names(a)).includes('shea')) return; // moved live above
    agent.close();
    const t0 = Date.now();
    const { id } = await xlMoveCold(a, b, 'shea', { stateFile: '/local/xen/shea.save' });
    console.log(`cold move (xl save + xl restore): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await closeDomuAgent(a, 'shea');
    expect(await names(a)).not.toContain('shea');
    expect((await xlList(b)).find((d) => d.name === 'shea')).toMatchObject({ id, memMiB: 128 });
    agent = await openDomuAgent(b, 'shea');
    await waitDomuReady(b, 'shea', agent, 120_000);
    expect((await agent.exec('cat', ['/root/marker'])).stdout).toBe('written on kraken\n');
    expect((await agent.exec('hostname')).stdout).toBe('shea\n');
    // the kernel resumed where it was: no second boot in its console on the new host
    expect(xlConsole(b, 'shea')).not.toMatch(/Linux version/);
    const ping = execaSync('ip', ['netns', 'exec', net.ns, 'busybox', 'ping', '-c', '2', '-W', '5', '10.4.0.38'], { reject: false });
    expect(ping.exitCode, String(ping.stdout) + String(ping.stderr)).toBe(0);
    expect(readdirSync(join(dir, 'local-xen'))).toEqual(['shea.awesmoe.org']); // the state file is gone
  }, 300_000);
});
