// Refresh in the plan: what a driver found shows as changes with its reason; a teardown does not
// delete one by one what goes with a guest that is deleted anyway.
import { describe, expect, it } from 'vitest';
import { diff } from '../../src/plan/diff.js';
import type { Resource } from '../../src/plan/resources.js';
import type { Observed } from '../../src/plan/types.js';
import { planJson, renderPlan } from '../../src/render/plan.js';
import type { CellState } from '../../src/state/types.js';
import { recordOf } from '../../src/state/types.js';

const spec = { cell: 'tproa.net', file: '/x/tproa.yaml' };

function res(address: string, attrs: Record<string, unknown>, deps: string[] = []): Resource {
  const type = address.slice(0, address.indexOf('.')) as Resource['type'];
  return { address, type, name: address.slice(type.length + 1), attrs: attrs as never, deps };
}

const g = { host: 'kraken', os: 'netbsd-3.1', kernel: 'k1', kernel_image: '/k', type: 'pv', memory: 256, maxmem: 256, vcpus: 1, vifs: [], disks: [], root: '/dev/wd0d' };
// A three-db cell in miniature: pts users live on the db servers, volumes on the fileserver and the VLDB.
const cell: Resource[] = [
  res('host.kraken', { memory: 1024 }),
  ...['m1', 'm2', 'm3', 'files'].map((x) => res(`guest.${x}`, g, ['host.kraken'])),
  res('kdc.m1', { guest: 'm1' }, ['guest.m1']),
  res('principal.kula', { principal: 'kula', kdc: 'm1' }, ['kdc.m1']),
  ...['m1', 'm2', 'm3'].map((x) => res(`afs-db.${x}`, { guest: x }, [`guest.${x}`])),
  res('afs-fs.files', { guest: 'files' }, ['guest.files', 'afs-db.m1']),
  res('volume.root.cell', { volume: 'root.cell', server: 'files', partition: '/vicepa' }, ['afs-fs.files']),
  res('pts-user.kula', { user: 'kula' }, ['afs-db.m1', 'afs-db.m2', 'afs-db.m3', 'principal.kula']),
];

function applied(rs: Resource[]): CellState {
  const resources: CellState['resources'] = {};
  for (const r of rs) resources[r.address] = recordOf(r);
  return { version: 1, cell: 'tproa.net', file: spec.file, driver: 'netns', serial: 1, resources };
}

const found = (entries: [string, Observed][]) => new Map(entries);

describe('drift', () => {
  it('shows a stopped service as an update with what was found, and nothing else', () => {
    const p = diff(spec, cell, applied(cell), [], found([['kdc.m1', { state: 'degraded', reason: 'found krb5kdc not running on m1: will be restarted', repair: 'update' }]]));
    expect(p.changes.map((c) => `${c.action} ${c.address}`)).toEqual(['update kdc.m1']);
    expect(p.changes[0]).toMatchObject({ drift: true, reason: 'found krb5kdc not running on m1: will be restarted', changed: [] });
    expect(renderPlan(p, false)).toContain('  ~ kdc.m1  # found krb5kdc not running on m1: will be restarted');
    expect(p.summary).toEqual({ add: 0, change: 1, destroy: 0 });
  });

  it('replaces a crashed or vanished guest, and what runs on it with it', () => {
    const p = diff(spec, cell, applied(cell), [], found([['guest.m1', { state: 'degraded', reason: 'domain crashed', repair: 'replace' }]]));
    const line = renderPlan(p, false).split('\n').find((l) => l.includes('guest.m1'));
    expect(line).toBe('  -/+ guest.m1  # domain crashed');
    const replaced = p.changes.filter((c) => c.action === 'replace').map((c) => c.address).sort();
    expect(replaced).toEqual(['afs-db.m1', 'afs-fs.files', 'guest.m1', 'kdc.m1', 'principal.kula', 'pts-user.kula', 'volume.root.cell'].sort());
    const gone = diff(spec, cell, applied(cell), [], found([['guest.m2', { state: 'absent', reason: 'network namespace cx-x-g-m2 is gone' }]]));
    expect(gone.changes.find((c) => c.address === 'guest.m2')).toMatchObject({ action: 'replace', drift: true, reason: 'network namespace cx-x-g-m2 is gone' });
  });

  it('leaves what the driver cannot tell as it is, and says so', () => {
    const p = diff(spec, cell, applied(cell), [], found([['guest.m1', { state: 'unknown', reason: 'test driver forgets domains' }]]));
    expect(p.changes).toEqual([]);
    expect(p.unknown).toEqual([{ address: 'guest.m1', reason: 'test driver forgets domains' }]);
    const text = renderPlan(p);
    expect(text).toContain('? guest.m1  # test driver forgets domains');
    expect(text).not.toContain('No changes. The');
    expect((planJson(p) as { unknown: unknown[] }).unknown).toHaveLength(1);
  });

  it('a file change and drift on one resource: both reasons, the stronger action', () => {
    const moved = cell.map((r) => (r.address === 'kdc.m1' ? res('kdc.m1', { guest: 'm1', kdcs: ['m1'] }, r.deps) : r));
    const p = diff(spec, moved, applied(cell), [], found([['kdc.m1', { state: 'degraded', reason: 'found krb5kdc not running', repair: 'update' }]]));
    expect(p.changes.find((c) => c.address === 'kdc.m1')).toMatchObject({ action: 'update', changed: ['kdcs'], drift: true, reason: 'found krb5kdc not running' });
  });
});

describe('teardown', () => {
  it('a destroy deletes only guests and hosts one by one: what runs on them goes with them', () => {
    const p = diff(spec, [], applied(cell), []);
    const own = p.changes.filter((c) => !c.moot).map((c) => c.address).sort();
    expect(own).toEqual(['guest.files', 'guest.m1', 'guest.m2', 'guest.m3', 'host.kraken']);
    expect(p.changes.find((c) => c.address === 'pts-user.kula')!.moot).toBe('goes with guest.m1, guest.m2, guest.m3');
    expect(p.changes.find((c) => c.address === 'volume.root.cell')!.moot).toBe('goes with guest.files, guest.m1, guest.m2, guest.m3');
    expect(renderPlan(p, false)).toContain('  - pts-user.kula  # goes with guest.m1, guest.m2, guest.m3');
  });

  it('still deletes what outlives the guests that go: pts users while a db server stays', () => {
    const left = cell.filter((r) => !['guest.m3', 'afs-db.m3'].includes(r.address));
    const withoutUser = left.filter((r) => r.address !== 'pts-user.kula');
    const p = diff(spec, withoutUser, applied(cell), []);
    expect(p.changes.find((c) => c.address === 'pts-user.kula')).toMatchObject({ action: 'delete' });
    expect(p.changes.find((c) => c.address === 'pts-user.kula')!.moot).toBeUndefined();
    expect(p.changes.find((c) => c.address === 'afs-db.m3')!.moot).toBe('goes with guest.m3');
  });
});
