// The executor's guarantees around failures: recovery never forgets a step it could not undo, a
// concurrency that would run nothing is refused, destroy --force goes on past failures, and a moot
// delete calls no driver.
import { describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../src/drivers/capabilities.js';
import { PRESENT, type AppliedResource, type Driver, type Observed } from '../../src/drivers/driver.js';
import { execute } from '../../src/engine/execute.js';
import { recoverInterrupted } from '../../src/engine/recover.js';
import { diff } from '../../src/plan/diff.js';
import type { Resource } from '../../src/plan/resources.js';
import type { CellState } from '../../src/state/types.js';
import { recordOf } from '../../src/state/types.js';

function res(address: string, deps: string[] = [], attrs: Record<string, unknown> = {}): Resource {
  const type = address.slice(0, address.indexOf('.')) as Resource['type'];
  return { address, type, name: address.slice(type.length + 1), attrs: attrs as never, deps };
}

/** A driver whose deletes of some addresses fail (a domain libvirt cannot reach, say). */
class Flaky implements Driver {
  readonly name = 'libvirt';
  readonly capabilities = capabilitiesOf('sim');
  calls: string[] = [];
  constructor(private failing: Set<string> = new Set()) {}
  async read(): Promise<Observed> { return PRESENT; }
  async create(r: Resource) { this.calls.push(`create ${r.address}`); }
  async update(_p: AppliedResource, r: Resource) { this.calls.push(`update ${r.address}`); }
  async delete(p: AppliedResource) {
    this.calls.push(`delete ${p.address}`);
    if (this.failing.has(p.address)) throw new Error(`virsh destroy ${p.name}: cannot reach the host`);
  }
  async console() { return ''; }
  async status() { return { hosts: [], domains: [], services: [] }; }
  async check() { return { status: 'pass' as const, message: '' }; }
  async migrate() {}
  snapshot() { return {}; }
  async close() {}
}

const spec = { cell: 'c', file: 'f' };
const graph = [res('host.h'), res('guest.a', ['host.h'], { host: 'h' }), res('kdc.a', ['guest.a'], { guest: 'a' })];
const stateWith = (rs: Resource[]): CellState => {
  const resources: CellState['resources'] = {};
  for (const r of rs) resources[r.address] = recordOf(r);
  return { version: 1, cell: 'c', file: 'f', driver: 'libvirt', serial: 0, resources };
};

describe('recovery after a kill', () => {
  it('keeps a pending delete it could not finish, and its resource, and says why', async () => {
    const state = stateWith(graph);
    state.pending = { 'guest.a': { action: 'delete', resource: state.resources['guest.a']! } };
    const r = await recoverInterrupted(state, new Flaky(new Set(['guest.a'])), () => undefined);
    expect(r.failed).toEqual([{ address: 'guest.a', action: 'delete', message: 'virsh destroy a: cannot reach the host' }]);
    expect(state.pending?.['guest.a']).toBeDefined(); // still pending...
    expect(state.resources['guest.a']).toBeDefined(); // ...and still recorded: the domain is not orphaned
  });

  it('finishes what it can: an undone create and a finished delete leave pending', async () => {
    const state = stateWith(graph);
    state.pending = {
      'kdc.a': { action: 'delete', resource: state.resources['kdc.a']! },
      'guest.b': { action: 'create', resource: recordOf(res('guest.b', ['host.h'])) },
    };
    const d = new Flaky();
    const r = await recoverInterrupted(state, d, () => undefined);
    expect(r).toEqual({ recovered: 2, failed: [] });
    expect(d.calls.sort()).toEqual(['delete guest.b', 'delete kdc.a']);
    expect(state.pending).toBeUndefined();
    expect(state.resources['kdc.a']).toBeUndefined();
  });

  it('a step left pending stays pending through the next run until a step settles it', async () => {
    const state = stateWith(graph);
    state.pending = { 'guest.z': { action: 'delete', resource: recordOf(res('guest.z', ['host.h'])) } };
    await execute(diff(spec, graph, state, []), new Flaky(), state, { concurrency: 2, save: () => undefined });
    expect(state.pending?.['guest.z']).toBeDefined();
  });
});

describe('executor limits', () => {
  it('refuses a concurrency that would run no step (instead of reporting success)', async () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      const state = stateWith([]);
      await expect(execute(diff(spec, graph, state, []), new Flaky(), state, { concurrency, save: () => undefined }))
        .rejects.toThrow(/concurrency must be a whole number of at least 1/);
      expect(state.resources).toEqual({});
    }
  });

  it('keepGoing (destroy --force) tries every step and reports every failure', async () => {
    const state = stateWith(graph);
    const d = new Flaky(new Set(['kdc.a']));
    const plan = diff(spec, [], state, []);
    plan.changes.forEach((c) => delete c.moot); // every delete a step of its own, to see it fail
    const r = await execute(plan, d, state, { concurrency: 1, save: () => undefined, keepGoing: true });
    expect(d.calls).toEqual(['delete kdc.a', 'delete guest.a', 'delete host.h']);
    expect(r.failures).toEqual([{ address: 'kdc.a', message: 'virsh destroy a: cannot reach the host' }]);
    expect(Object.keys(state.resources)).toEqual(['kdc.a']);
    const stop = stateWith(graph);
    const plain = diff(spec, [], stop, []);
    plain.changes.forEach((c) => delete c.moot);
    const d2 = new Flaky(new Set(['kdc.a']));
    await execute(plain, d2, stop, { concurrency: 1, save: () => undefined });
    expect(d2.calls).toEqual(['delete kdc.a']); // without it: stops at the first failure
  });

  it('a moot delete calls no driver: it goes with its guest', async () => {
    const state = stateWith(graph);
    const d = new Flaky(new Set(['kdc.a'])); // would fail: a KDC that cannot be reached
    const r = await execute(diff(spec, [], state, []), d, state, { concurrency: 1, save: () => undefined });
    expect(r.failed).toBeUndefined();
    expect(d.calls).toEqual(['delete guest.a', 'delete host.h']);
    expect(state.resources).toEqual({});
  });
});
