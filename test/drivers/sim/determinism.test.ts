// Same calls, same world: snapshots, consoles and logs are identical across runs, across state
// directories, and across a save/reload in the middle (a later cellctl command continuing).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Check } from '../../../src/drivers/driver.js';
import { createSimDriver } from '../../../src/drivers/sim/index.js';
import type { Json, Resource } from '../../../src/plan/resources.js';
import { SecretStore } from '../../../src/state/secrets.js';
import { catalog, host, rig, seedResources, type Rig, withAttrs } from './helpers.js';
import { testContext } from '../context.js';

const dirs: string[] = [];
const rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.cleanup();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Random keys come from the secret store; runs that share it must come out the same. */
function sharedSecrets(): SecretStore {
  const d = mkdtempSync(join(tmpdir(), 'cellctl-secrets-'));
  dirs.push(d);
  return new SecretStore(join(d, 'secrets.json'));
}

function fresh(secrets: SecretStore, data?: Json): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'cellctl-sim-'));
  const r = rig('awesmoe.org', 'AWESMOE.ORG', data, { dir, secrets });
  rigs.push(r);
  return r;
}

const CHECKS: Check[] = [
  { id: 'k', kind: 'kinit', name: 'kinit', guest: 'shea', params: { principal: 'kula' } },
  { id: 'n', kind: 'kinit', name: 'kinit', guest: 'shea', params: { principal: 'nobody' } },
  { id: 't', kind: 'client-tokens', name: 'tokens', guest: 'shea', params: { principal: 'kula' } },
  { id: 'f', kind: 'client-file-rw', name: 'rw', guest: 'shea', params: { principal: 'kula', path: '/afs/awesmoe.org/d' } },
  { id: 'q', kind: 'afs-quorum', name: 'q', guest: 'shea', params: { dbservers: ['shea'] } },
];

/** The seed cell with its host's /local/xen on shared storage, so shea can migrate. */
function cell(): Resource[] {
  const rs = seedResources('awesmoe-fixed');
  rs[0] = withAttrs(rs[0]!, { shared_storage: ['/local/xen'] });
  return rs;
}

/** A session: the cell, a second host, checks, a migration, a reboot, a destroy. */
async function session(r: Rig, rs: Resource[], from = 0): Promise<string[]> {
  const out: string[] = [];
  const steps: (() => Promise<unknown>)[] = [
    ...rs.map((x) => () => r.apply([x])),
    () => r.apply([host('kraken2', { xen: '3.0.3', bridges: ['bridge4'], shared_storage: ['/local/xen'] })]),
    ...CHECKS.map((c) => () => r.sim.check(c)),
    () => r.sim.migrate('shea', 'kraken2'),
    () => r.sim.xm('shea', 'reboot'),
    ...CHECKS.map((c) => () => r.sim.check(c)),
    () => r.destroy('afs-client.shea'),
  ];
  for (const step of steps.slice(from)) out.push(JSON.stringify(await step()));
  out.push(await r.sim.console('shea'), JSON.stringify(await r.sim.status()));
  return out;
}

describe('determinism', () => {
  it('gives identical snapshots, consoles, checks and status for the same calls in different state dirs', async () => {
    const secrets = sharedSecrets();
    const rs = cell();
    const a = fresh(secrets);
    const b = fresh(secrets);
    const outA = await session(a, rs);
    const outB = await session(b, rs);
    expect(outB).toEqual(outA);
    expect(JSON.stringify(b.sim.snapshot())).toBe(JSON.stringify(a.sim.snapshot()));
    expect(outA.join('\n')).toContain('shea krb5kdc');
  });

  it('continues identically after a save and reload in the middle (new driver from the snapshot)', async () => {
    const secrets = sharedSecrets();
    const rs = cell();
    const whole = fresh(secrets);
    const expected = await session(whole, rs);

    const first = fresh(secrets);
    const half = 7;
    await first.apply(rs.slice(0, half));
    const saved = JSON.parse(JSON.stringify(first.sim.snapshot())) as Json; // what the state file holds
    const second = rig('awesmoe.org', 'AWESMOE.ORG', saved, { dir: first.dir, secrets });
    Object.assign(second.applied, first.applied);
    const rest = await session(second, rs, half);
    expect(rest).toEqual(expected.slice(half));
    expect(JSON.stringify(second.sim.snapshot())).toBe(JSON.stringify(whole.sim.snapshot()));
  });

  it('does not depend on how the executor interleaves independent steps', async () => {
    const secrets = sharedSecrets();
    const rs = cell();
    const seq = fresh(secrets);
    await seq.apply(rs);
    const par = fresh(secrets);
    // host, guest, then module and kdc together (both only need the guest), then the rest
    await par.apply(rs.slice(0, 2));
    await Promise.all([par.sim.create(rs[2]!), par.sim.create(rs[3]!)]);
    for (const r of rs.slice(4)) await par.sim.create(r);
    expect(JSON.stringify(par.sim.snapshot())).toBe(JSON.stringify(seq.sim.snapshot()));
  });
});

describe('snapshot', () => {
  it('is plain JSON, cheap (the live object), and free of state-dir paths', async () => {
    const secrets = sharedSecrets();
    const r = fresh(secrets);
    await r.apply(seedResources('awesmoe-fixed'));
    const s = r.sim.snapshot();
    expect(r.sim.snapshot()).toBe(s);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(JSON.stringify(s)).not.toContain(r.dir);
    expect(JSON.stringify(s)).toContain('"image":"sim/images/shea/debian.4-0.img"');
  });

  it('does not share structure with the data it was built from', async () => {
    const secrets = sharedSecrets();
    const r = fresh(secrets);
    await r.apply(seedResources('awesmoe-fixed').slice(0, 2));
    const data = JSON.parse(JSON.stringify(r.sim.snapshot())) as Json;
    const copy = JSON.stringify(data);
    const again = rig('awesmoe.org', 'AWESMOE.ORG', data, { dir: r.dir, secrets });
    await again.sim.xm('shea', 'shutdown');
    expect(JSON.stringify(data)).toBe(copy);
  });

  it('refuses a world in a format it does not know, with a message saying what to do', () => {
    const secrets = sharedSecrets();
    const ctx = (world: unknown) => testContext({ cell: 'c', realm: 'C', stateDir: '/nonexistent', catalog, secrets, world });
    expect(() => createSimDriver(ctx({ version: 99 }))).toThrow('sim: the saved hypervisor state has format 99, this cellctl reads formats 1 and 2; destroy and re-apply the cell');
    expect(createSimDriver(ctx(null)).snapshot()).toMatchObject({ version: 2, clock: 0, hosts: {} });
  });
});
