import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/diagnostics.js';
import { diff } from '../../src/plan/diff.js';
import type { Resource } from '../../src/plan/resources.js';
import { targetPlan } from '../../src/plan/target.js';
import { recordOf, type CellState } from '../../src/state/types.js';

const spec = { cell: 'c.test', file: '/c.yaml' };
const res = (address: string, attrs: Record<string, unknown>, deps: string[] = []): Resource => {
  const type = address.slice(0, address.indexOf('.')) as Resource['type'];
  return { address, type, name: address.slice(type.length + 1), attrs: attrs as never, deps };
};
// host <- guest a <- kdc a <- principal p ; host <- guest b
const desired = (kernel = 'k1'): Resource[] => [
  res('host.h', { memory: 1 }),
  res('guest.a', { kernel, memory: 1, maxmem: 1 }, ['host.h']),
  res('kdc.a', { guest: 'a' }, ['guest.a']),
  res('principal.p', { principal: 'p' }, ['kdc.a']),
  res('guest.b', { kernel: 'k1', memory: 1, maxmem: 1 }, ['host.h']),
];
const stateOf = (rs: Resource[]): CellState => ({ version: 1, cell: 'c.test', file: '/c.yaml', driver: 'sim', serial: 1, resources: Object.fromEntries(rs.map((r) => [r.address, recordOf(r)])) });
const addrs = (p: { changes: { action: string; address: string }[] }) => p.changes.map((c) => `${c.action} ${c.address}`);

describe('--target', () => {
  it('keeps the target and what it needs, and names what it left out', () => {
    const p = targetPlan(diff(spec, desired(), undefined, []), ['kdc.a'], {}, false);
    expect(addrs(p)).toEqual(['create host.h', 'create guest.a', 'create kdc.a']);
    expect(p.untargeted?.sort()).toEqual(['guest.b', 'principal.p']);
    expect(p.summary).toEqual({ add: 3, change: 0, destroy: 0 });
  });

  it('a kept replacement takes down what runs on it', () => {
    const state = stateOf(desired());
    const p = targetPlan(diff(spec, desired('k2'), state, []), ['guest.a'], state.resources, false);
    expect(addrs(p).sort()).toEqual(['replace guest.a', 'replace kdc.a', 'replace principal.p']);
  });

  it('destroy keeps the target and what depends on it', () => {
    const state = stateOf(desired());
    const p = targetPlan(diff(spec, [], state, []), ['guest.a'], state.resources, true);
    expect(addrs(p)).toEqual(['delete principal.p', 'delete kdc.a', 'delete guest.a']);
  });

  it('refuses an unknown address with the nearest one', () => {
    expect(() => targetPlan(diff(spec, desired(), undefined, []), ['kdc.b'], {}, false)).toThrow(UserError);
    try {
      targetPlan(diff(spec, desired(), undefined, []), ['guest.c'], {}, false);
    } catch (e) {
      expect((e as UserError).diagnostics[0]).toMatchObject({ message: '--target guest.c: no such resource in cell c.test', hint: 'did you mean guest.a?' });
    }
  });
});
