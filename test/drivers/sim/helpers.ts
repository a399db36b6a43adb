// Shared set-up for the sim driver tests: a DriverContext over a temp dir, resources built by hand
// (or from the seed cells through the real spec loader and graph), and an apply loop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog } from '../../../src/catalog/load.js';
import type { AppliedResource, DriverContext } from '../../../src/drivers/driver.js';
import { testContext } from '../context.js';
import { createSimDriver, type SimDriver } from '../../../src/drivers/sim/index.js';
import { parseDisk } from '../../../src/config/disk.js';
import { loadCell } from '../../../src/config/load.js';
import { desiredResources } from '../../../src/plan/desired.js';
import type { Json, Resource, ResourceType } from '../../../src/plan/resources.js';
import { SecretStore } from '../../../src/state/secrets.js';
import type { ResourceState } from '../../../src/state/types.js';
import { CELLS } from '../../paths.js';
import { recordOf } from '../../../src/state/types.js';

export const catalog = loadCatalog();

export interface Rig {
  dir: string;
  ctx: DriverContext;
  sim: SimDriver;
  applied: Record<string, ResourceState>;
  logs: string[];
  /** create every resource in order, recording outputs like the executor does */
  apply(rs: Resource[]): Promise<void>;
  destroy(address: string): Promise<void>;
  /** a second driver on the saved world, sharing the state dir and secrets (a later command) */
  reopen(): Rig;
  cleanup(): void;
}

export function rig(cell = 'tproa.net', realm = cell.toUpperCase(), data?: Json, shared?: { dir: string; secrets: SecretStore }): Rig {
  const dir = shared?.dir ?? mkdtempSync(join(tmpdir(), 'cellctl-sim-'));
  const secrets = shared?.secrets ?? new SecretStore(join(dir, 'secrets.json'));
  const applied: Record<string, ResourceState> = {};
  const ctx = testContext({ cell, realm, stateDir: join(dir, 'state'), catalog, secrets, world: data });
  const logs = ctx.logs;
  const sim = createSimDriver(ctx);
  const r: Rig = {
    dir, ctx, sim, applied, logs,
    async apply(rs) {
      for (const res of rs) {
        const outputs = await sim.create(res);
        applied[res.address] = recordOf(res, outputs);
      }
    },
    async destroy(address) {
      await sim.delete(asApplied(address, applied[address]!));
      delete applied[address];
    },
    reopen() {
      const again = rig(cell, realm, JSON.parse(JSON.stringify(sim.snapshot())) as Json, { dir, secrets });
      Object.assign(again.applied, applied);
      return again;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}

export function asApplied(address: string, s: ResourceState): AppliedResource {
  return { ...s, address, name: address.slice(s.type.length + 1) };
}

/** A copy of r with some attrs changed (not checked against its type). */
export function withAttrs(r: Resource, patch: Record<string, unknown>): Resource {
  return { ...r, attrs: { ...r.attrs, ...patch } } as Resource;
}

/** A resource built by hand; attrs are not checked against the type (tests build odd ones on purpose). */
export function res(type: ResourceType, name: string, attrs: object, deps: string[] = []): Resource {
  return { address: `${type}.${name}`, type, name, attrs, deps } as Resource;
}

export function host(name: string, over: Partial<Record<string, unknown>> = {}): Resource {
  return res('host', name, {
    os: 'netbsd-4.0_beta', xen: '3.0.2', memory: 1024, dom0_memory: 256, cpus: 2, cpu_features: ['pae'],
    bridges: ['bridge3', 'bridge4'], devices: ['/dev/wd2d', '/dev/wd3e', '/dev/wd3f'], shared_storage: [], uri: null, ...over,
  });
}

export function guest(name: string, over: Partial<Record<string, unknown>> & { disks?: string[] } = {}): Resource {
  const { disks, ...rest } = over;
  const memory = (rest.memory as number | undefined) ?? 128;
  const attrs = {
    host: 'kraken', os: 'debian-etch', kernel: 'linux-2.6.16.29-xen-3.0.3', kernel_image: `/local/xen/${name}/vmlinuz`,
    type: 'pv', memory, maxmem: memory, vcpus: 1,
    vifs: [{ mac: '00:16:3e:00:00:01', bridge: 'bridge4', ip: '10.4.0.10' }],
    root: '/dev/hda1 ro', ...rest,
    disks: (disks ?? [`file:/local/xen/${name}/disk.img,0x301,w`]).map(parseDisk),
  };
  return res('guest', name, attrs, [`host.${attrs.host}`]);
}

/** The seed cells through the real loader and graph: what `cellctl apply` would hand the driver. */
export function seedResources(file: 'tproa' | 'tproa-full' | 'awesmoe' | 'awesmoe-fixed'): Resource[] {
  return desiredResources(loadCell(join(CELLS, `${file}.yaml`), catalog), catalog);
}

/** A one-guest Linux cell with KDC, db, fileserver, client: resources by hand, in dependency order. */
export function linuxCell(cell = 'example.org', kernel = 'linux-2.6.16.29-xen-3.0.3', g = 'shea'): Resource[] {
  const realm = cell.toUpperCase();
  return [
    host('kraken'),
    guest(g, { kernel }),
    res('module', `${g}.openafs`, { guest: g, module: 'openafs-1.4.2-linux', name: 'openafs' }),
    res('kdc', g, { guest: g, realm, role: 'master', master: g, software: 'mit-krb5-1.4.4', kdcs: [g] }),
    res('principal', 'kula', { realm, principal: 'kula', kdc: g }),
    res('service-key', `afs/${cell}`, { principal: `afs/${cell}@${realm}`, realm, cell, kdc: g, enctypes: ['aes256-cts-hmac-sha1-96'] }),
    res('afs-db', g, { guest: g, cell, software: 'openafs-1.4.2', dbservers: [g] }),
    res('afs-fs', g, { guest: g, cell, software: 'openafs-1.4.2', partitions: ['/vicepa'], dbservers: [g] }),
    res('partition', `${g}./vicepa`, { guest: g, path: '/vicepa' }),
    res('volume', 'root.afs', { volume: 'root.afs', server: g, partition: '/vicepa' }),
    res('volume', 'root.cell', { volume: 'root.cell', server: g, partition: '/vicepa' }),
    res('pts-user', 'kula', { user: 'kula', principal: 'kula', admin: true }),
    res('afs-client', g, { guest: g, cell, software: 'openafs-1.4.2', module: 'openafs-1.4.2-linux', dbservers: [g] }),
  ];
}

/** What a rejected promise said. */
export async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
