import { describe, expect, it } from 'vitest';
import { diff } from '../../src/plan/diff.js';
import type { Resource } from '../../src/plan/resources.js';
import { approvalReason } from '../../src/ops/approval.js';
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

describe('approval', () => {
  it('is asked for plans that destroy or replace, never for creates and updates', () => {
    const state = stateOf(desired());
    expect(approvalReason(diff(spec, desired(), undefined, []), false)).toBeUndefined();
    expect(approvalReason(diff(spec, desired('k2'), state, []), false)).toBe('replaces 3 resources');
    expect(approvalReason(diff(spec, desired().slice(0, 4), state, []), false)).toBe('destroys 1 resource');
    expect(approvalReason(diff(spec, [], state, []), true)).toBe('destroys 5 resources');
    expect(approvalReason(diff(spec, [], undefined, []), true)).toBeUndefined();
  });
});
