// Fuzzing the front of the pipeline: whatever the cell file holds, parse + compat + plan either give a
// plan or throw a UserError whose diagnostics point into the file; never another exception, never a hang.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { generateCell } from '../../bench/gen.js';
import { loadCatalog } from '../../src/catalog/load.js';
import { runCompat } from '../../src/compat/index.js';
import { UserError } from '../../src/diagnostics.js';
import { diff } from '../../src/plan/diff.js';
import { desiredResources } from '../../src/plan/desired.js';
import { planJson, renderPlan } from '../../src/render/plan.js';
import { decodeUtf8, parseCell } from '../../src/config/load.js';
import type { CellState } from '../../src/state/types.js';
import { CELLS } from '../paths.js';
import { recordOf } from '../../src/state/types.js';

const FILE = '/fuzz/cell.yaml';
const CASE_BUDGET_MS = 10_000; // a hang detector, not a speed check: real cells take well under 50 ms
const catalog = loadCatalog();
const REAL = ['tproa.yaml', 'awesmoe.yaml', 'awesmoe-fixed.yaml'].map((f) => readFileSync(join(CELLS, f), 'utf8'));
const SMALL = generateCell(12, { cell: 'fuzz.test' });
const SEEDS = [...REAL, SMALL];
const SEED_DATA = SEEDS.map((t) => parseYaml(t) as Record<string, unknown>);

/** The state an uninterrupted apply of a seed would record, so mutations also exercise update/replace/delete. */
const SEED_STATES: CellState[] = SEEDS.map((t) => {
  const spec = parseCell(t, FILE, catalog);
  const resources = Object.fromEntries(desiredResources(spec, catalog).map((r) => [r.address, recordOf(r)]));
  return { version: 1, cell: spec.cell, file: FILE, driver: 'sim', serial: 1, resources };
});

let slowest = { ms: 0, input: '' };
const outcomes = { plan: 0, 'user-error': 0 };

/** Run the pipeline on one input; returns what happened, fails the test on anything but a plan or a UserError. */
function pipeline(text: string, state?: CellState): 'plan' | 'user-error' {
  const t0 = performance.now();
  try {
    const spec = parseCell(text, FILE, catalog);
    const findings = runCompat(spec, catalog);
    const desired = desiredResources(spec, catalog);
    const p = diff(spec, desired, state?.cell === spec.cell ? state : undefined, findings);
    renderPlan(p);
    JSON.stringify(planJson(p));
    outcomes.plan++;
    return 'plan';
  } catch (e) {
    if (!(e instanceof UserError)) {
      throw new Error(`not a UserError: ${(e as Error)?.stack ?? e}\n--- input (${text.length} chars) ---\n${text.slice(0, 2000)}`);
    }
    checkDiagnostics(e, text);
    outcomes['user-error']++;
    return 'user-error';
  } finally {
    timeCase(t0, text);
  }
}

/** Fails a case that took over its budget. Errors quote at most 300 characters: fast-check prints counterexamples in full. */
function timeCase(t0: number, text: string): void {
  const ms = performance.now() - t0;
  if (ms > slowest.ms) slowest = { ms, input: text.slice(0, 200) };
  if (ms > CASE_BUDGET_MS) throw new Error(`one case took ${ms.toFixed(0)} ms (budget ${CASE_BUDGET_MS}): ${text.slice(0, 300)}`);
}

/** Diagnostics name this file, and positions lie inside the text; at least one has a position. */
function checkDiagnostics(e: UserError, text: string): void {
  expect(e.diagnostics.length).toBeGreaterThan(0);
  const lineCount = text.split('\n').length;
  for (const d of e.diagnostics) {
    expect(typeof d.message).toBe('string');
    expect(d.message.length).toBeGreaterThan(0);
    if (!d.pos) continue;
    expect(d.pos.file).toBe(FILE);
    expect(d.pos.line).toBeGreaterThanOrEqual(1);
    expect(d.pos.line).toBeLessThanOrEqual(lineCount + 1);
    expect(d.pos.col).toBeGreaterThanOrEqual(1);
  }
  const real = e.diagnostics.filter((d) => !/^\.\.\. and \d+ more/.test(d.message));
  if (!real.some((d) => d.pos)) throw new Error(`no diagnostic has a position: ${e.message}\n--- input ---\n${text.slice(0, 1000)}`);
}

const params = (numRuns: number) => ({ numRuns, seed: Number(process.env.FUZZ_SEED ?? 20070504), endOnFailure: true });

// Text with YAML's syntax characters over-represented, so the parser's corners get visited.
const TOKENS = [
  'cell: ', 'hosts:', 'guests:', 'kerberos:', 'afs:', 'memory: ', 'host: ', '\n', '\n  ', '\n    ', '  ', '- ', ': ', '-',
  '{', '}', '[', ']', ',', ':', '&a ', '*a', '&b ', '*b', '<<: ', '"', "'", '#', ' # c', '|', '>', '|-', '\t', '---\n', '...\n',
  '%YAML 1.2\n', '!!str ', '!!int ', '!tag ', '? ', 'kraken', 'shea', '1024', '0x10', '1e309', '-1', 'null', '~', 'true', 'yes',
  '3.0.2', '00:16:3e:00:00:01', 'file:/x,0x01,w', '\\', '\\u0000', 'é', '中', '😀', '\u200b', '\r\n', '\u2028', '\ufeff',
];
const yamlish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((ts) => ts.join(''));

const seedIndex = fc.nat({ max: SEEDS.length - 1 });

/** Replace the value at a random path of a seed's data with an arbitrary value (wrong types included). */
function atPath(data: unknown, choices: number[], value: unknown): unknown {
  const clone = structuredClone(data) as Record<string, unknown>;
  let node: unknown = clone;
  let parent: Record<string, unknown> | unknown[] | undefined;
  let key: string | number | undefined;
  for (const c of choices) {
    if (node === null || typeof node !== 'object') break;
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    parent = node as Record<string, unknown>;
    key = keys[c % keys.length];
    node = (parent as Record<string | number, unknown>)[key];
  }
  if (parent === undefined || key === undefined) return value;
  (parent as Record<string | number, unknown>)[key] = value;
  return clone;
}

const strangeValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(-1, 0, 1e308, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1, 3.5, '', ' ', '-', 'null', '../../etc/passwd', 'a'.repeat(300)),
);

describe('fuzz: the cell pipeline never crashes and never hangs', () => {
  it('keeps the real cells and a generated one valid (the seeds of every mutation below)', () => {
    for (const t of SEEDS) expect(pipeline(t)).toBe('plan');
  });

  it('every truncation of the real cells', () => {
    let cases = 0;
    for (const t of SEEDS.slice(0, 3)) {
      for (let k = 0; k < t.length; k += 1) {
        pipeline(t.slice(0, k));
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(1000);
  });

  it('random YAML-like text', () => {
    fc.assert(fc.property(yamlish, (t) => void pipeline(t)), params(1500));
  });

  it('random bytes flipped, inserted or deleted in real cells', () => {
    const edit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom('flip', 'insert', 'delete') });
    fc.assert(fc.property(seedIndex, fc.array(edit, { minLength: 1, maxLength: 8 }), (si, edits) => {
      let buf = Buffer.from(SEEDS[si], 'utf8');
      for (const e of edits) {
        const at = e.at % buf.length;
        if (e.kind === 'flip') buf[at] ^= e.byte || 1;
        else if (e.kind === 'insert') buf = Buffer.concat([buf.subarray(0, at), Buffer.from([e.byte]), buf.subarray(at)]);
        else buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1)]);
      }
      const t0 = performance.now();
      let text: string;
      try {
        text = decodeUtf8(buf, FILE);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        checkDiagnostics(e, buf.toString('latin1'));
        return;
      }
      expect(performance.now() - t0).toBeLessThan(CASE_BUDGET_MS);
      pipeline(text, SEED_STATES[si]);
    }), params(1500));
  });

  it('line edits of real cells: duplicated keys, deleted, swapped and re-indented lines', () => {
    const before = outcomes.plan;
    const op = fc.record({ a: fc.nat(), b: fc.nat(), kind: fc.constantFrom('dup', 'del', 'swap', 'indent', 'dedent', 'tab') });
    fc.assert(fc.property(seedIndex, fc.array(op, { minLength: 1, maxLength: 5 }), (si, ops) => {
      const lines = SEEDS[si].split('\n');
      for (const o of ops) {
        const a = o.a % lines.length;
        const b = o.b % lines.length;
        if (o.kind === 'dup') lines.splice(a, 0, lines[a]);
        else if (o.kind === 'del') lines.splice(a, 1);
        else if (o.kind === 'swap') [lines[a], lines[b]] = [lines[b], lines[a]];
        else if (o.kind === 'indent') lines[a] = '  ' + lines[a];
        else if (o.kind === 'dedent') lines[a] = lines[a].replace(/^ {1,2}/, '');
        else lines[a] = lines[a].replace(/^ {2}/, '\t');
        if (lines.length === 0) lines.push('');
      }
      pipeline(lines.join('\n'), SEED_STATES[si]);
    }), params(1500));
    expect(outcomes.plan - before, 'some mutated cells must still reach compat and the planner').toBeGreaterThan(0);
  });

  it('wrong types and odd values at random paths of real cells', () => {
    const before = outcomes.plan;
    fc.assert(fc.property(seedIndex, fc.array(fc.nat(), { maxLength: 6 }), strangeValue, (si, path, value) => {
      pipeline(toYaml(atPath(SEED_DATA[si], path, value)), SEED_STATES[si]);
    }), params(1500));
    expect(outcomes.plan - before, 'some mutated cells must still reach compat and the planner').toBeGreaterThan(0);
  });

  it('unicode and hostile names for guests, hosts, principals, volumes and the cell', () => {
    const name = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a'.repeat(64), 'a/../b', 'x.y', 'Kula', '-x', 'x-'));
    fc.assert(fc.property(seedIndex, name, fc.constantFrom('guest', 'host', 'principal', 'volume', 'cell', 'realm'), (si, n, where) => {
      const d = structuredClone(SEED_DATA[si]) as Record<string, any>;
      const rename = (obj: Record<string, unknown>, from: string) => {
        obj[n] = obj[from];
        if (n !== from) delete obj[from];
      };
      if (where === 'guest') rename(d.guests, Object.keys(d.guests)[0]);
      else if (where === 'host') rename(d.hosts, Object.keys(d.hosts)[0]);
      else if (where === 'principal' && d.kerberos?.principals) d.kerberos.principals[0] = n;
      else if (where === 'volume' && d.afs?.volumes) d.afs.volumes[0].name = n;
      else d[where] = n;
      pipeline(toYaml(d), SEED_STATES[si]);
    }), params(1000));
  });

  it('deep nesting, huge strings and big collections', () => {
    // Built inside the property from (kind, size), so a failure prints two numbers, not megabytes.
    const build: Record<string, (k: number) => string> = {
      flowSeq: (k) => `cell: x\nhosts: ${'['.repeat(k)}${']'.repeat(k)}\n`,
      flowMap: (k) => `cell: x\nhosts: ${'{a: '.repeat(k)}1${'}'.repeat(k)}\n`,
      blockMap: (k) => Array.from({ length: k % 3000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' 1\n',
      blockSeq: (k) => `cell: x\nguests:\n${Array.from({ length: k % 3000 }, (_, i) => `${'  '.repeat(i + 1)}- `).join('\n')}\n`,
      hugeCell: (k) => SMALL.replace('cell: fuzz.test', `cell: ${'a'.repeat(k * 60)}`),
      hugeNumber: (k) => SMALL.replace('memory: 64', `memory: ${'9'.repeat(k * 40)}`),
      hugeUnicode: (k) => SMALL.replace('root: /dev/hda1 ro', `root: "${'é'.repeat(k * 40)}"`),
      // 10,000 entries is the size cellctl is built for; past ~20,000 invalid entries ajv's error collection grows superlinearly.
      manyBadHosts: (k) => `cell: x\nhosts: {${Array.from({ length: k % 10_001 }, (_, i) => `h${i}: 1`).join(', ')}}\nguests: {}\n`,
      manyGuestsNoHost: (k) => `cell: x\nhosts: {}\nguests:\n${Array.from({ length: k % 10_001 }, (_, i) => `  g${i}: {host: nope, os: debian-etch, kernel: x, memory: 1}`).join('\n')}\n`,
    };
    fc.assert(fc.property(fc.constantFrom(...Object.keys(build)), fc.integer({ min: 1, max: 50_000 }), (kind, k) => void pipeline(build[kind](k))), params(60));
  });

  it('anchors, aliases and merge keys, including alias bombs', () => {
    const bomb = (levels: number, width: number) => {
      const lines = ['a0: &a0 [x, x]'];
      for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(', ')}]`);
      return `cell: x\n${lines.join('\n')}\nhosts: *a${levels - 1}\nguests: {}\n`;
    };
    const mapBomb = (levels: number) => {
      const lines = ['b0: &b0 {k: v}'];
      for (let i = 1; i < levels; i++) lines.push(`b${i}: &b${i} {<<: [*b${i - 1}], x${i}: *b${i - 1}, y${i}: *b${i - 1}}`);
      return `cell: x\n${lines.join('\n')}\nhosts: *b${levels - 1}\nguests: {}\n`;
    };
    const cases = fc.oneof(
      fc.tuple(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 2, max: 12 })).map(([l, w]) => bomb(l, w)),
      fc.integer({ min: 2, max: 60 }).map(mapBomb),
      // a self-referencing alias, an alias to a missing anchor, a merge of a scalar
      fc.constantFrom('cell: &c x\nhosts: &h {k: *h}\nguests: {}\n', 'cell: *nope\nhosts: {}\nguests: {}\n', 'cell: x\nhosts: {<<: 5}\nguests: {}\n',
        'cell: x\nhosts:\n  <<: *z\nguests: {}\n', '&a a: *a\n', '? [a, b]\n: c\n', '? *x\n', '*a\n'),
      // a real cell whose guests share a template through a merge key
      fc.nat({ max: 11 }).map((i) => SMALL.replace(/^guests:\n/m, 'guests:\n  tmpl: &t {host: h0, os: debian-etch, kernel: linux-2.6.16.29-xen-3.0.3, memory: 64}\n')
        .replace(`  g${String(i).padStart(2, '0')}:\n`, `  g${String(i).padStart(2, '0')}:\n    <<: *t\n`)),
    );
    fc.assert(fc.property(cases, (t) => void pipeline(t)), params(40));
  });

  it('random structures rendered as YAML', () => {
    const before = outcomes.plan;
    const structure = fc.record({
      cell: fc.oneof(fc.constant('fuzz.test'), fc.jsonValue({ maxDepth: 1 })),
      hosts: fc.oneof(fc.constant(SEED_DATA[3].hosts), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })),
      guests: fc.oneof(fc.constant(SEED_DATA[3].guests), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })),
      kerberos: fc.option(fc.oneof(fc.constant(SEED_DATA[3].kerberos), fc.jsonValue({ maxDepth: 2 }))),
      afs: fc.option(fc.oneof(fc.constant(SEED_DATA[3].afs), fc.jsonValue({ maxDepth: 3 }))),
    }, { requiredKeys: ['cell'] });
    fc.assert(fc.property(structure, (d) => void pipeline(toYaml(d), SEED_STATES[3])), params(1000));
    expect(outcomes.plan - before, 'some mutated cells must still reach compat and the planner').toBeGreaterThan(0);
  });

  it('reports the slowest case it saw', () => {
    // Not a budget check (pipeline() enforces that per case); a record for whoever tunes the parser.
    console.log(`fuzz: ${outcomes.plan} plans, ${outcomes['user-error']} user errors; slowest case ${slowest.ms.toFixed(1)} ms: ${JSON.stringify(slowest.input.slice(0, 80))}`);
    expect(slowest.ms).toBeLessThan(CASE_BUDGET_MS);
  });
});
