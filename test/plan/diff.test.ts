import { describe, expect, it } from 'vitest';
import { topoOrder } from '../../src/plan/dag.js';
import { diff } from '../../src/plan/diff.js';
import { renderPlan, planJson } from '../../src/render/plan.js';
import type { Resource } from '../../src/plan/resources.js';
import type { CellState } from '../../src/state/types.js';
import { recordOf } from '../../src/state/types.js';

const spec = { cell: 'tproa.net', file: '/x/tproa.yaml' };

function res(address: string, attrs: Record<string, unknown>, deps: string[] = []): Resource {
  const type = address.slice(0, address.indexOf('.')) as Resource['type'];
  return { address, type, name: address.slice(type.length + 1), attrs: attrs as never, deps };
}

const guestAttrs = { host: 'kraken', os: 'netbsd-3.1', kernel: 'k1', kernel_image: '/k', type: 'pv', memory: 256, maxmem: 256, vcpus: 1, vifs: [], disks: [], root: '/dev/wd0d' };
const desired = (g = guestAttrs): Resource[] => [
  res('host.kraken', { memory: 1024 }),
  res('guest.service-m1', g, ['host.kraken']),
  res('kdc.service-m1', { guest: 'service-m1' }, ['guest.service-m1']),
  res('principal.kula', { principal: 'kula' }, ['kdc.service-m1']),
  res('guest.other', { ...g, memory: 64, maxmem: 64 }, ['host.kraken']),
];

function stateOf(rs: Resource[]): CellState {
  const resources: CellState['resources'] = {};
  for (const r of rs) resources[r.address] = recordOf(r);
  return { version: 1, cell: 'tproa.net', file: spec.file, driver: 'sim', serial: 1, resources };
}

describe('diff', () => {
  it('creates everything from nothing, dependencies first', () => {
    const p = diff(spec, desired(), undefined, []);
    expect(p.changes.map((c) => c.action)).toEqual(Array(5).fill('create'));
    const order = p.changes.map((c) => c.address);
    expect(order.indexOf('host.kraken')).toBeLessThan(order.indexOf('guest.service-m1'));
    expect(order.indexOf('kdc.service-m1')).toBeLessThan(order.indexOf('principal.kula'));
    expect(p.summary).toEqual({ add: 5, change: 0, destroy: 0 });
    expect(renderPlan(p)).toContain('Plan: 5 to add, 0 to change, 0 to destroy.');
  });

  it('is empty when state matches', () => {
    const p = diff(spec, desired(), stateOf(desired()), []);
    expect(p.changes).toEqual([]);
    expect(p.unchanged).toBe(5);
    expect(renderPlan(p)).toContain('No changes.');
  });

  it('balloons memory down in place, within maxmem', () => {
    const p = diff(spec, desired({ ...guestAttrs, memory: 192 }), stateOf(desired()), []);
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]).toMatchObject({ address: 'guest.service-m1', action: 'update', changed: ['memory'] });
    expect(renderPlan(p)).toMatch(/~ guest.service-m1[\s\S]*memory: 256 -> 192/);
  });

  it('replaces a guest whose memory grows past maxmem, and what runs on it', () => {
    const p = diff(spec, desired({ ...guestAttrs, memory: 512, maxmem: 512 }), stateOf(desired()), []);
    const byAddr = Object.fromEntries(p.changes.map((c) => [c.address, c]));
    expect(byAddr['guest.service-m1'].action).toBe('replace');
    expect(byAddr['guest.service-m1'].reason).toMatch(/maxmem|reboot/);
    expect(byAddr['kdc.service-m1']).toMatchObject({ action: 'replace', reason: 'guest.service-m1 is replaced' });
    expect(byAddr['principal.kula']).toMatchObject({ action: 'replace', reason: 'kdc.service-m1 is replaced' });
    expect(byAddr['guest.other']).toBeUndefined();
    expect(p.summary).toEqual({ add: 3, change: 0, destroy: 3 });
  });

  it('replaces on kernel change, saying why', () => {
    const p = diff(spec, desired({ ...guestAttrs, kernel: 'k2' }), stateOf(desired()), []);
    expect(p.changes[0]).toMatchObject({ action: 'replace', reason: 'kernel change needs a reboot' });
    expect(renderPlan(p)).toContain('-/+ guest.service-m1');
  });

  it('destroys removed resources, dependents first', () => {
    const p = diff(spec, desired().filter((r) => !r.address.endsWith('service-m1') && r.type !== 'principal'), stateOf(desired()), []);
    expect(p.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
      'delete principal.kula', 'delete kdc.service-m1', 'delete guest.service-m1',
    ]);
    expect(p.summary.destroy).toBe(3);
  });

  it('gives a stable JSON shape (format_version 2: actions arrays, before/after, sensitivity, dependencies)', () => {
    const j = planJson(diff(spec, desired(), undefined, [{ code: 'x', severity: 'warning', subject: 'guest.other', message: 'm' }]), null) as Record<string, any>;
    expect(Object.keys(j)).toEqual(['format_version', 'cell', 'file', 'state', 'summary', 'targets', 'untargeted', 'resource_changes', 'unmanaged', 'unknown', 'findings', 'errors']);
    expect(j.format_version).toBe('2');
    expect(j.resource_changes[0]).toMatchObject({ address: 'host.kraken', type: 'host', name: 'kraken', dependencies: [], change: { actions: ['create'], before: null, reason: null } });
    const principal = j.resource_changes.find((c: any) => c.type === 'principal');
    expect(principal.change.after_sensitive).toEqual({ password: true });
    expect(principal.change.after).not.toHaveProperty('password');
    expect(principal.dependencies).toContain('kdc.service-m1');
    expect(j.resource_changes[0].change).toMatchObject({ drift: false, moot: null });
    expect(j.errors).toBe(0);
  });

  it('marks a replacement as delete then create, and unchanged resources as no-op', () => {
    const state = stateOf(desired());
    const next = desired().map((r) => (r.type === 'guest' ? { ...r, attrs: { ...r.attrs, kernel: 'other' } } : r)) as Resource[];
    const j = planJson(diff(spec, next, state, []), { serial: 7, lineage: 'abc' }) as Record<string, any>;
    expect(j.state).toEqual({ serial: 7, lineage: 'abc' });
    const byAddr = Object.fromEntries(j.resource_changes.map((c: any) => [c.address, c.change]));
    expect(byAddr['guest.service-m1'].actions).toEqual(['delete', 'create']);
    expect(byAddr['guest.service-m1'].reason).toBe('kernel change needs a reboot');
    expect(byAddr['host.kraken'].actions).toEqual(['no-op']);
    expect(byAddr['host.kraken'].before).toEqual(byAddr['host.kraken'].after);
  });
});

describe('topoOrder', () => {
  it('is linear on a long chain and a wide fan', () => {
    const n = 20000;
    const chain = Array.from({ length: n }, (_, i) => ({ address: `a${i}`, deps: i ? [`a${i - 1}`] : [] }));
    expect(topoOrder([...chain].reverse())[n - 1]).toBe(`a${n - 1}`);
  });
  it('names two resources with one address instead of reporting an empty cycle', () => {
    expect(() => topoOrder([{ address: 'pts-user.kula.admin', deps: [] }, { address: 'a', deps: [] }, { address: 'pts-user.kula.admin', deps: ['a'] }]))
      .toThrow('two resources have the same address: pts-user.kula.admin');
  });

  it('rejects cycles', () => {
    expect(() => topoOrder([{ address: 'a', deps: ['b'] }, { address: 'b', deps: ['a'] }])).toThrow(/cycle/);
  });
});
