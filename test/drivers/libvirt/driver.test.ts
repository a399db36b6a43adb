// --driver libvirt against libvirt's own test hypervisor (test:///default): real libvirt
// define/start/destroy/undefine through one long-lived virsh per connection URI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/load.js';
import type { Driver, } from '../../../src/drivers/driver.js';
import { createLibvirtDriver, NOT_PROVISIONED } from '../../../src/drivers/libvirt/index.js';
import { virshAvailable } from '../../../src/drivers/libvirt/virsh.js';
import { PACKAGE_ROOT } from '../../../src/paths.js';
import { desiredResources } from '../../../src/plan/desired.js';
import type { Resource } from '../../../src/plan/resources.js';
import { loadCell } from '../../../src/config/load.js';
import { SecretStore } from '../../../src/state/secrets.js';
import type { ResourceState } from '../../../src/state/types.js';
import { testContext } from '../context.js';
import { recordOf } from '../../../src/state/types.js';

const HAVE_VIRSH = await virshAvailable();
const SKIP = HAVE_VIRSH ? '' : ' [skipped: virsh (libvirt-clients) not installed]';
const catalog = loadCatalog();
const tmp = mkdtempSync(join(tmpdir(), 'cellctl-libvirt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function resourcesOf(file: string): { cell: string; realm: string; resources: Resource[] } {
  const spec = loadCell(file, catalog);
  return { cell: spec.cell, realm: spec.realm, resources: desiredResources(spec, catalog) };
}

interface World {
  driver: Driver;
  state: Record<string, ResourceState>;
  logs: string[];
}

let worlds = 0;
/** A driver with an in-memory applied state, as the apply engine would keep it. */
function world(cell: { cell: string; realm: string }, connect?: string, saved?: unknown): World {
  const state: Record<string, ResourceState> = {};
  const stateDir = join(tmp, `w${++worlds}`);
  const ctx = testContext({ cell: cell.cell, realm: cell.realm, stateDir, catalog, secrets: new SecretStore(join(tmp, `secrets-${worlds}.json`)), world: saved });
  const logs = ctx.logs;
  return { driver: createLibvirtDriver(ctx, connect ? { connect } : {}), state, logs };
}

/** Create every resource in plan order (the graph lists dependencies first). */
async function applyAll(w: World, resources: Resource[]): Promise<void> {
  for (const r of resources.filter((x) => w.driver.capabilities.realizes.has(x.type))) {
    const outputs = await w.driver.create(r);
    w.state[r.address] = recordOf(r, outputs);
  }
}

async function deleteAll(w: World): Promise<void> {
  for (const address of Object.keys(w.state).reverse()) {
    const prior = w.state[address];
    await w.driver.delete({ ...prior, address, name: address.slice(prior.type.length + 1) });
    delete w.state[address];
  }
}

describe.skipIf(!HAVE_VIRSH)('libvirt driver on test:///default' + SKIP, () => {
  for (const file of ['tproa.yaml', 'awesmoe-fixed.yaml']) {
    it(`defines, starts, reports and removes every guest of cells/${file}`, async () => {
      const cell = resourcesOf(join(PACKAGE_ROOT, 'cells', file));
      const guests = cell.resources.filter((r) => r.type === 'guest');
      const w = world(cell, 'test:///default');
      try {
        await applyAll(w, cell.resources);
        for (const g of guests) {
          const out = w.state[g.address].outputs!;
          expect(out.uri).toBe('test:///default');
          expect(typeof out.domid).toBe('number');
          expect(out.state).toBe('running');
        }
        // Services are not realized: the driver says so, and nothing claims them.
        expect(w.driver.capabilities.realizes).toEqual(new Set(['host', 'guest']));
        for (const r of cell.resources.filter((x) => x.type !== 'guest' && x.type !== 'host')) expect(w.state[r.address]).toBeUndefined();

        const st = await w.driver.status();
        expect(st.domains.map((d) => d.name).sort()).toEqual(guests.map((g) => g.name).sort()); // not libvirt's own "test"
        for (const d of st.domains) {
          const g = guests.find((x) => x.name === d.name)!;
          expect(d.state).toBe('running');
          expect(d.id).toBe(w.state[g.address].outputs!.domid);
          expect(d.host).toBe(g.attrs.host);
          expect(d.memory).toBe(g.attrs.memory);
          expect(d.vifs[0]).toMatch(/^mac=00:16:3e:10:11:[0-9a-f]{2}, bridge=bridge[34]/);
        }
        expect(st.hosts).toEqual([expect.objectContaining({ name: 'kraken', used: guests.reduce((n, g) => n + (g.attrs.memory as number), 0) })]);

        const running = await w.driver.check({ id: 'run', kind: 'guest-running', name: 'running', guest: guests[0].name, params: {} });
        expect(running.status).toBe('pass');
        const kinit = await w.driver.check({ id: 'k', kind: 'kinit', name: 'kinit', guest: guests[0].name, params: { principal: 'kula' } });
        expect(kinit).toMatchObject({ status: 'skip', message: expect.stringContaining(NOT_PROVISIONED) });

        const con = await w.driver.console(guests[0].name);
        expect(con).toMatch(/no boot console/);
        expect(con).toContain(`<name>${guests[0].name}</name>`);
        expect(con).toMatch(/State:\s+running/);

        await deleteAll(w);
        expect((await w.driver.status()).domains).toEqual([]);
      } finally {
        await w.driver.close();
      }
    });
  }

  it('updates a running guest in place (balloon memory live, new definition kept) and re-creates idempotently', async () => {
    const cell = resourcesOf(join(PACKAGE_ROOT, 'cells', 'tproa.yaml'));
    const w = world(cell, 'test:///default');
    try {
      const base = cell.resources.filter((r) => r.type === 'host' || r.type === 'guest');
      await applyAll(w, base);
      const g = base.find((r) => r.address === 'guest.service-m1')!;
      const id = w.state[g.address].outputs!.domid;
      const smaller = { ...g, attrs: { ...g.attrs, memory: 200 } } as Resource;
      const out = await w.driver.update({ ...w.state[g.address], address: g.address, name: g.name }, smaller);
      expect(out).toMatchObject({ domid: id, state: 'running' }); // same domain, not a new one
      expect((await w.driver.status()).domains[0]).toMatchObject({ name: 'service-m1', memory: 200, id });
      expect(w.logs).toContain('guest service-m1: memory set to 200 MiB live');
      // create of a domain libvirt already runs redefines it under its uuid and leaves it running
      await expect(w.driver.create(smaller)).resolves.toMatchObject({ domid: id, state: 'running' });
      expect(w.logs.some((l) => /service-m1: already running/.test(l))).toBe(true);
    } finally {
      await w.driver.close();
    }
  });

  it('a later process sees an empty test hypervisor: status is empty, destroy treats domains as gone', async () => {
    const cell = resourcesOf(join(PACKAGE_ROOT, 'cells', 'tproa.yaml'));
    const first = world(cell, 'test:///default');
    await applyAll(first, cell.resources);
    await first.driver.close(); // the connection, and with it test:///default's world, ends

    const later = world(cell, 'test:///default', structuredClone(first.driver.snapshot()));
    Object.assign(later.state, first.state);
    try {
      expect((await later.driver.status()).domains).toEqual([]);
      const check = await later.driver.check({ id: 'r', kind: 'guest-running', name: 'r', guest: 'service-m1', params: {} });
      expect(check).toMatchObject({ status: 'fail', message: expect.stringMatching(/has no domain service-m1.*forgets/) });
      await deleteAll(later);
      expect(later.logs.some((l) => /service-m1.*no longer knows domain service-m1: already gone/.test(l))).toBe(true);
    } finally {
      await later.driver.close();
    }
  });

  it('spreads a two-host cell over the two hosts\' connections; migrate between test URIs fails clearly', async () => {
    const node = join(tmp, 'bigsur-node.xml');
    writeFileSync(node, '<node/>\n'); // an empty test hypervisor of its own
    const file = join(tmp, 'two-hosts.yaml');
    writeFileSync(file, `cell: two.example
hosts:
  kraken: { os: netbsd-4.0_beta, xen: 3.0.3, memory: 1024, cpus: 2, cpu_features: [pae], bridges: [bridge3], uri: "test:///default" }
  bigsur: { os: netbsd-4.0_beta, xen: 3.0.3, memory: 1024, cpus: 2, cpu_features: [pae], bridges: [bridge3], uri: "test://${node}" }
guests:
  m1:
    host: kraken
    os: netbsd-3.1
    kernel: netbsd-3.1-xen3-domu-nodiag
    memory: 128
    vifs: [ { mac: "00:16:3e:10:11:01", bridge: bridge3 } ]
    disks: [ "file:/local/xen/m1/wd0.img,0x01,w" ]
    root: /dev/wd0d
  m2:
    host: bigsur
    os: netbsd-3.1
    kernel: netbsd-3.1-xen3-domu-nodiag
    memory: 192
    vifs: [ { mac: "00:16:3e:10:11:02", bridge: bridge3 } ]
    disks: [ "file:/local/xen/m2/wd0.img,0x01,w" ]
    root: /dev/wd0d
`);
    const cell = resourcesOf(file);
    const w = world(cell);
    try {
      await applyAll(w, cell.resources);
      expect(w.state['guest.m1'].outputs!.uri).toBe('test:///default');
      expect(w.state['guest.m2'].outputs!.uri).toBe(`test://${node}`);
      // bigsur's hypervisor is a separate world: its first domain gets id 1, like kraken's
      // first domain after libvirt's built-in "test" gets 2.
      expect(w.state['guest.m2'].outputs!.domid).toBe(1);
      const st = await w.driver.status();
      expect(st.domains.map((d) => [d.name, d.host, d.state]).sort()).toEqual([['m1', 'kraken', 'running'], ['m2', 'bigsur', 'running']]);
      expect(st.hosts.find((h) => h.name === 'bigsur')).toMatchObject({ used: 192 });

      await expect(w.driver.migrate('m1', 'bigsur')).rejects.toThrow(/cannot live-migrate m1 from test:\/\/\/default to test:\/\/.*test driver implements no migration/);
      expect((await w.driver.status()).domains.find((d) => d.name === 'm1')?.host).toBe('kraken'); // still where it was
      await deleteAll(w);
      expect((await w.driver.status()).domains).toEqual([]);
    } finally {
      await w.driver.close();
    }
  });

  it('refuses to migrate between hosts that --connect puts on one hypervisor', async () => {
    const cell = resourcesOf(join(PACKAGE_ROOT, 'cells', 'tproa.yaml'));
    const w = world(cell, 'test:///default');
    try {
      await applyAll(w, cell.resources.filter((r) => r.type === 'host' || r.type === 'guest'));
      await expect(w.driver.migrate('service-m1', 'kraken')).rejects.toThrow(/both use the libvirt connection test:\/\/\/default/);
    } finally {
      await w.driver.close();
    }
  });

  it('migrates real URIs with a virsh of its own and passes libvirt\'s refusal on', async () => {
    // State as an earlier apply on two Xen hosts would have left it; no libvirtd answers here.
    const host = (uri: string) => ({
      uri, attrs: { os: 'netbsd-4.0_beta', xen: '3.0.3', memory: 1024, dom0_memory: 256, cpus: 2, cpu_features: ['pae'], bridges: ['bridge3'], devices: [], shared_storage: [], uri },
    });
    const w = world({ cell: 'two.example', realm: 'TWO.EXAMPLE' }, undefined, {
      hosts: { kraken: host('xen:///system'), bigsur: host('xen+ssh://bigsur.invalid/system') },
      guests: { m1: { uri: 'xen:///system', host: 'kraken' } },
    });
    try {
      await expect(w.driver.migrate('m1', 'bigsur')).rejects.toThrow(
        /^libvirt cannot live-migrate m1 from xen:\/\/\/system to xen\+ssh:\/\/bigsur.invalid\/system: ./,
      );
    } finally {
      await w.driver.close();
    }
  });

  it('asks for a URI when a host has none and --connect is not given', async () => {
    const cell = resourcesOf(join(PACKAGE_ROOT, 'cells', 'tproa.yaml'));
    const w = world(cell);
    try {
      await expect(w.driver.create(cell.resources[0])).rejects.toThrow(/host kraken has no libvirt connection URI.*--connect/);
    } finally {
      await w.driver.close();
    }
  });
});
