// libvirt refresh: read() reports each domain's real state (libvirt's test driver loaded from a node
// file with domains paused, shut off and crashed), update brings a paused or shut-off domain back,
// and a domain a test:// connection cannot see is "cannot tell", not "gone" and not "fine".
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/load.js';
import { loadCell } from '../../../src/config/load.js';
import type { AppliedResource } from '../../../src/drivers/driver.js';
import { createLibvirtDriver } from '../../../src/drivers/libvirt/index.js';
import { virshAvailable } from '../../../src/drivers/libvirt/virsh.js';
import { desiredResources } from '../../../src/plan/desired.js';
import type { Resource } from '../../../src/plan/resources.js';
import { SecretStore } from '../../../src/state/secrets.js';
import { CELLS } from '../../paths.js';
import { testContext } from '../context.js';

const HAVE_VIRSH = await virshAvailable();
const tmp = mkdtempSync(join(tmpdir(), 'cellctl-libvirt-refresh-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// runstate: 3 paused, 5 shut off, 6 crashed (virDomainState)
const STATES: Record<string, number> = { 'paused-one': 3, 'off-one': 5, 'crashed-one': 6, 'running-one': 1 };

describe.skipIf(!HAVE_VIRSH)(`libvirt read()${HAVE_VIRSH ? '' : ' [skipped: virsh (libvirt-clients) not installed]'}`, () => {
  const catalog = loadCatalog();
  const spec = loadCell(join(CELLS, 'tproa.yaml'), catalog);
  const resources = desiredResources(spec, catalog);
  const host = resources.find((r) => r.type === 'host')!;
  const guest = resources.find((r) => r.type === 'guest')!;
  const node = join(tmp, 'node.xml');
  writeFileSync(node, `<node>\n${Object.entries(STATES).map(([name, st]) =>
    `<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>${name}</name><memory>65536</memory><os><type>hvm</type></os><test:runstate>${st}</test:runstate></domain>`).join('\n')}\n</node>\n`);
  const uri = `test://${node}`;
  const named = (name: string): Resource => ({ ...guest, name, address: `guest.${name}` }) as Resource;
  const applied = (r: Resource): AppliedResource => ({ type: r.type, attrs: r.attrs, deps: r.deps, address: r.address, name: r.name }) as AppliedResource;

  function driver() {
    const guests = Object.fromEntries([...Object.keys(STATES), 'gone-one'].map((g) => [g, { uri, host: host.name }]));
    const world = { hosts: { [host.name]: { uri, attrs: { ...host.attrs, uri } } }, guests };
    const ctx = testContext({ cell: spec.cell, realm: spec.realm, stateDir: join(tmp, 'state'), catalog, secrets: new SecretStore(join(tmp, 'secrets.json')), world });
    return createLibvirtDriver(ctx);
  }

  it('reports paused, shut off and crashed domains with what apply will do, and running ones as present', async () => {
    const d = driver();
    try {
      expect(await d.read(applied(named('running-one')))).toEqual({ state: 'present' });
      expect(await d.read(applied(named('paused-one')))).toEqual({ state: 'degraded', reason: 'domain paused: will be resumed', repair: 'update' });
      expect(await d.read(applied(named('off-one')))).toEqual({ state: 'degraded', reason: 'domain shut off: will be started', repair: 'update' });
      expect(await d.read(applied(named('crashed-one')))).toEqual({ state: 'degraded', reason: 'domain crashed', repair: 'replace' });
      const gone = await d.read(applied(named('gone-one')));
      expect(gone.state).toBe('unknown');
      expect(gone.state === 'unknown' && gone.reason).toMatch(/test driver .* keeps domains only while the connection that made them is open/);
      expect(await d.read(applied(host))).toEqual({ state: 'present' });
    } finally {
      await d.close();
    }
  });

  it('update resumes a paused domain and starts a shut-off one', async () => {
    const d = driver();
    try {
      for (const name of ['paused-one', 'off-one']) {
        const r = named(name);
        await d.update(applied(r), r);
        expect(await d.read(applied(r)), name).toEqual({ state: 'present' });
      }
    } finally {
      await d.close();
    }
  });

  it('console of a domain the connection cannot see says why, not a raw virsh error', async () => {
    const d = driver();
    try {
      await expect(d.console('gone-one')).rejects.toThrow(/^libvirt's test driver \(test:\/\/.*\) keeps domains only while the connection that made them is open/);
    } finally {
      await d.close();
    }
  });
});
