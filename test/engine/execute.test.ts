// The executor's ordering, parallelism and failure handling, through a driver that records calls.
import { describe, expect, it } from 'vitest';
import { plainView } from '../../src/cli/views/plain.js';
import { capabilitiesOf } from '../../src/drivers/capabilities.js';
import { execute } from '../../src/engine/execute.js';
import { PRESENT, type AppliedResource, type Driver, type Observed } from '../../src/drivers/driver.js';
import { diff } from '../../src/plan/diff.js';
import type { Resource } from '../../src/plan/resources.js';
import type { CellState } from '../../src/state/types.js';

function res(address: string, deps: string[] = [], attrs: Record<string, unknown> = {}): Resource {
  const type = address.slice(0, address.indexOf('.')) as Resource['type'];
  return { address, type, name: address.slice(type.length + 1), attrs: attrs as never, deps };
}

class RecordingDriver implements Driver {
  readonly name = 'sim';
  readonly capabilities = capabilitiesOf('sim');
  calls: string[] = [];
  running = 0;
  maxRunning = 0;
  constructor(private failOn?: string) {}
  private async op(what: string) {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setTimeout(r, 5));
    this.running--;
    if (what === this.failOn) throw new Error(`boom at ${what}`);
    this.calls.push(what);
  }
  async read(): Promise<Observed> { return PRESENT; }
  async create(r: Resource) { await this.op(`create ${r.address}`); return { ok: true }; }
  async update(p: AppliedResource, r: Resource) { await this.op(`update ${r.address}`); }
  async delete(p: AppliedResource) { await this.op(`delete ${p.address}`); }
  async console() { return ''; }
  async status() { return { hosts: [], domains: [], services: [] }; }
  async check() { return { status: 'pass' as const, message: '' }; }
  async migrate() {}
  snapshot() { return { calls: this.calls.length }; }
  async close() {}
}

const spec = { cell: 'c', file: 'f' };
const graph = [
  res('host.h'), res('guest.a', ['host.h']), res('guest.b', ['host.h']),
  res('kdc.a', ['guest.a']), res('principal.p', ['kdc.a']), res('afs-db.b', ['guest.b', 'principal.p']),
];
const empty = (): CellState => ({ version: 1, cell: 'c', file: 'f', driver: 'sim', serial: 0, resources: {} });

describe('execute', () => {
  it('creates in dependency order, in parallel where allowed, and records everything', async () => {
    const d = new RecordingDriver();
    const state = empty();
    const saved: number[] = []; // resources recorded at each save
    const r = await execute(diff(spec, graph, state, []), d, state, { concurrency: 8, save: (st) => saved.push(Object.keys(st.resources).length) });
    expect(r).toEqual({ done: 6, interrupted: false });
    const at = (a: string) => d.calls.indexOf(`create ${a}`);
    for (const g of graph) for (const dep of g.deps) expect(at(dep)).toBeLessThan(at(g.address));
    expect(d.maxRunning).toBeGreaterThan(1); // guest.a and guest.b together
    expect(Object.keys(state.resources).sort()).toEqual(graph.map((g) => g.address).sort());
    expect(state.resources['guest.a'].outputs).toEqual({ ok: true });
    expect(state.driverData).toEqual({ calls: 6 });
    expect(saved.at(-1)).toBe(6); // the last save has everything
    expect(state.pending).toBeUndefined();
  });

  it('destroys dependents first', async () => {
    const d = new RecordingDriver();
    const state = empty();
    await execute(diff(spec, graph, state, []), d, state, { concurrency: 8, save: () => {} });
    d.calls = [];
    await execute(diff(spec, [], state, []), d, state, { concurrency: 8, save: () => {} });
    const at = (a: string) => d.calls.indexOf(`delete ${a}`);
    for (const g of graph) for (const dep of g.deps) expect(at(g.address)).toBeLessThan(at(dep));
    expect(state.resources).toEqual({});
  });

  it('stops at the first failure, keeps what was done, starts nothing after it', async () => {
    const d = new RecordingDriver('create kdc.a');
    const state = empty();
    const lines: string[] = [];
    const r = await execute(diff(spec, graph, state, []), d, state, { concurrency: 1, save: () => {}, hooks: plainView((l) => lines.push(l)) });
    expect(r.failed).toEqual({ address: 'kdc.a', message: 'boom at create kdc.a' });
    expect(state.resources['kdc.a']).toBeUndefined();
    expect(state.resources['principal.p']).toBeUndefined();
    expect(state.resources['guest.a']).toBeDefined();
    expect(lines).toContain('+ kdc.a: FAILED: boom at create kdc.a');
    // A second run picks up where it stopped.
    const d2 = new RecordingDriver();
    const r2 = await execute(diff(spec, graph, state, []), d2, state, { concurrency: 4, save: () => {} });
    expect(r2.failed).toBeUndefined();
    expect(d2.calls.every((c) => !c.includes('guest.a'))).toBe(true);
    expect(Object.keys(state.resources)).toHaveLength(6);
  });

  it('saves during a long apply, not only at the end, so a kill loses little', async () => {
    const many = [res('host.h'), ...Array.from({ length: 80 }, (_, i) => res(`guest.g${i}`, ['host.h']))];
    const saved: number[] = [];
    const state = empty();
    await execute(diff(spec, many, state, []), new RecordingDriver(), state, { concurrency: 1, save: (st) => saved.push(Object.keys(st.resources).length) });
    expect(saved.at(-1)).toBe(81);
    expect(saved.length).toBeGreaterThanOrEqual(3); // every 32 steps at the latest, then the final save
    expect(saved.slice(0, -1).every((n) => n < 81)).toBe(true);
  });
});
