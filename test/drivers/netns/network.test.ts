// The netns driver's network layer alone (no daemons, a few seconds): hosts with bridges, guests on
// veths, addresses assigned when the file gives none, hosts' same-named bridges joined into one segment,
// live migration between hosts, two cells side by side.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { readCatalog } from '../../../src/catalog/load.js';
import { SecretStore } from '../../../src/state/secrets.js';
import { createNetnsDriver, netnsPrerequisites, type NetnsDriver } from '../../../src/drivers/netns/index.js';
import type { DriverContext } from '../../../src/drivers/driver.js';
import type { Resource } from '../../../src/plan/resources.js';
import { leftovers } from './helpers.js';
import { testContext } from '../context.js';

const pre = netnsPrerequisites();

function ctxFor(cell: string): DriverContext {
  const stateDir = mkdtempSync(join(tmpdir(), 'cellctl-netns-net-'));
  return testContext({ cell, realm: cell.toUpperCase(), stateDir, catalog: readCatalog(), secrets: new SecretStore(join(stateDir, 'secrets.json')) });
}

const host = (name: string, bridges: string[]): Resource => ({
  address: `host.${name}`, type: 'host', name, deps: [],
  attrs: { os: 'netbsd-4.0_beta', xen: '3.0.3', memory: 1024, dom0_memory: 256, cpus: 2, cpu_features: [], bridges, devices: [], shared_storage: [], uri: null },
});
const guest = (name: string, on: string, vifs: { mac: string; bridge: string; ip?: string }[]): Resource => ({
  address: `guest.${name}`, type: 'guest', name, deps: [`host.${on}`],
  attrs: { host: on, os: 'netbsd-3.1', kernel: 'x', kernel_image: '/x', type: 'pv', memory: 128, maxmem: 128, vcpus: 1, vifs, disks: [], root: null },
});

async function ipIn(ns: string, args: string[]): Promise<string> {
  return (await execa('ip', ['-n', ns, ...args])).stdout;
}

describe.skipIf(!pre.ok)('netns driver: network namespaces, bridges, veths, migration', () => {
  const drivers: [NetnsDriver, DriverContext][] = [];
  afterAll(async () => {
    for (const [d, c] of drivers) {
      await d.destroyAll();
      rmSync(c.stateDir, { recursive: true, force: true });
    }
  });

  it('wires guests onto host bridges, assigns addresses, migrates a guest live', async () => {
    const ctx = ctxFor('net-a.example');
    const d = createNetnsDriver(ctx);
    drivers.push([d, ctx]);
    const a = (await d.create(host('alpha', ['bridge3', 'a-very-long-bridge-name'])))!;
    await d.create(host('beta', ['bridge3']));
    expect((a.bridges as string[]).every((b) => b.length <= 15)).toBe(true);
    const g1 = (await d.create(guest('one', 'alpha', [{ mac: '00:16:3e:00:00:01', bridge: 'bridge3', ip: '10.3.0.1' }])))!;
    const g2 = (await d.create(guest('two', 'alpha', [{ mac: '00:16:3e:00:00:02', bridge: 'bridge3' }])))!;
    expect(g2.ip).toMatch(/^10\.\d+\.0\.\d+$/); // from the cell's private test range
    expect(await ipIn(g1.netns as string, ['link', 'show', 'eth0'])).toMatch(/00:16:3e:00:00:01/);
    // the guests reach each other over the bridge: the peer's kernel answers a TCP SYN with a reset
    const probe = (from: string, to: string) =>
      execa('ip', ['netns', 'exec', from, 'bash', '-c', `exec 3<>/dev/tcp/${to}/9`], { reject: false, timeout: 5000 });
    expect((await probe(g2.netns as string, g1.ip as string)).stderr).toMatch(/Connection refused/);

    const moved = (await d.migrate('two', 'beta'))!;
    expect(moved.host).toBe('beta');
    const vh = (g2.veths as string[])[0]!;
    expect(await ipIn(moved.host_netns as string, ['link', 'show', vh])).toMatch(/master bridge3/);
    expect(await ipIn(g2.netns as string, ['addr', 'show', 'eth0'])).toContain(g2.ip as string);
    // bridge3 on alpha and on beta are one segment (the hosts' LAN): the neighbours are still there
    expect((await probe(g2.netns as string, g1.ip as string)).stderr).toMatch(/Connection refused/);
    expect((await d.status()).domains.find((x) => x.name === 'two')!.host).toBe('beta');
  });

  it('runs a second cell beside the first, then removes both without a trace', async () => {
    const ctx = ctxFor('net-b.example');
    const d = createNetnsDriver(ctx);
    drivers.push([d, ctx]);
    await d.create(host('alpha', ['bridge3']));
    await d.create(guest('one', 'alpha', [{ mac: '00:16:3e:00:00:01', bridge: 'bridge3', ip: '10.3.0.1' }]));
    expect(d.prefix).not.toBe(drivers[0]![0].prefix);
    for (const [dr, c] of drivers) {
      await dr.destroyAll();
      expect(await leftovers(dr.prefix, c.stateDir)).toEqual([]);
    }
  });
});

if (!pre.ok) {
  describe('netns driver network layer (unavailable here)', () => {
    it.skip(`skipped: ${pre.reason ?? ''}`, () => undefined);
  });
}
