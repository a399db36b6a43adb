// The fast parser must agree with the `yaml` package wherever it accepts a document: same data,
// same positions. It may decline anything (the loader then uses `yaml`), but never diverge.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { LineIndex, parseWithYaml, type YNode } from '../../src/config/yaml/ast.js';
import { parseFast, resolvePlain } from '../../src/config/yaml/fastyaml.js';
import { SourceMap } from '../../src/config/yaml/source.js';
import type { Diagnostic } from '../../src/diagnostics.js';
import { generateCell } from '../../bench/gen.js';

type Seg = string | number;

/** Every path in the data, for comparing positions. */
function paths(v: unknown, prefix: Seg[] = [], out: Seg[][] = []): Seg[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function view(root: YNode, text: string) {
  const src = new SourceMap(root, new LineIndex('t.yaml', text));
  const diags: Diagnostic[] = [];
  const data = src.toData(diags);
  const pos = paths(data).map((p) => [p.join('/'), src.posOf(p), src.keyPosOf(p)]);
  return { data, pos, diags };
}

/** Asserts agreement; returns whether the fast parser took the document. */
function agree(text: string): boolean {
  const fast = parseFast(text);
  if (fast === undefined) return false;
  const diags: Diagnostic[] = [];
  const slow = parseWithYaml(text, new LineIndex('t.yaml', text), diags);
  expect(diags, `yaml rejects what the fast parser accepted:\n${text}`).toEqual([]);
  expect(view(fast, text), text).toEqual(view(slow!, text));
  return true;
}

const SCALARS = [
  'x', 'service-m1', '', '~', 'null', 'Null', 'true', 'False', 'TRUE', 'yes', '0x1F', '0o17', '017', '1e3', '.5', '3.0',
  '3.0.2', '-1', '+2', '.inf', '-.Inf', '.nan', 'a b', 'a:b', 'a #b', 'x#y', '"q"', '"a: b"', "'s'", "'it''s'", '-x',
  '00:16:3e:10:11:c4', 'file:/x/wd0.img,0x01,w', '/dev/hda1 ro', '[x', 'a,b', '{', 'a: b', 'k:', '- z', '"\\t"', '&a x',
  '*a', '!t x', '|', '>', '%x', '@x', '`x', '?x', ':x', '"un', "'un", '#c', 'x # c', 'a]', 'é', 'x  ', '<<',
];
const KEYS = ['a', 'b', 'memory', '1', 'true', 'null', '/vicepa', 'k.x', 'a-b', '"q k"', "'s k'", '<<', 'a b', '-a', '.5', ''];

const scalar = fc.constantFrom(...SCALARS);
const key = fc.constantFrom(...KEYS);
const flow: fc.Arbitrary<string> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('seq'), tie('map')),
  seq: fc.tuple(fc.array(tie('node'), { maxLength: 3 }), fc.boolean()).map(([xs, trail]) => `[${xs.join(', ')}${trail && xs.length ? ',' : ''}]`),
  map: fc.array(fc.tuple(key, tie('node')), { maxLength: 3 }).map((ps) => `{${ps.map(([k, v]) => ` ${k}: ${v}`).join(',')} }`),
})).node as fc.Arbitrary<string>;

/** Block YAML with random indentation, comments and blank lines. */
const block: fc.Arbitrary<string> = fc.letrec((tie) => {
  const inner = fc.oneof(scalar, flow, tie('node') as fc.Arbitrary<string>);
  return {
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('map'), tie('seq')),
    map: fc.array(fc.tuple(key, inner, fc.integer({ min: 0, max: 3 }), fc.boolean()), { minLength: 1, maxLength: 4 })
      .map((ps) => ps.map(([k, v, ind, c]) => (v.includes('\n') ? `${k}:${c ? ' # c' : ''}\n${indent(v, ind)}` : `${k}: ${v}${c ? ' # c' : ''}`)).join('\n')),
    seq: fc.array(fc.tuple(inner, fc.boolean()), { minLength: 1, maxLength: 4 })
      .map((xs) => xs.map(([v, nl]) => (v.includes('\n') ? (nl ? `-\n${indent(v, 2)}` : `- ${indent(v, 2).slice(2)}`) : `- ${v}`)).join('\n')),
  };
}).node as fc.Arbitrary<string>;

function indent(text: string, n: number): string {
  return text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}

describe('fast YAML parser', () => {
  test('takes the example cells and agrees with yaml', () => {
    for (const f of ['tproa', 'awesmoe', 'awesmoe-fixed']) {
      expect(agree(readFileSync(`cells/${f}.yaml`, 'utf8'))).toBe(true);
    }
  });

  test('takes a generated 1,000-guest cell and agrees with yaml', () => {
    expect(agree(generateCell(1000))).toBe(true);
  });

  test('declines what it does not handle', () => {
    for (const t of ['a: &x 1\nb: *x\n', 'a: |\n  text\n', 'a: "x\\ty"\n', 'a:\tb\n', 'a: b\r\n', 'a: [1,\n  2]\n', 'a: b\n---\nc: d\n', '%YAML 1.2\n---\na: 1\n', 'a: b\n  c\n', '', '# only\n']) {
      expect(parseFast(t), JSON.stringify(t)).toBeUndefined();
    }
  });

  test('resolves plain scalars like the YAML 1.2 core schema', () => {
    expect(['~', 'true', 'False', '0x1F', '0o17', '017', '1e3', '.5', '3.0', '-.inf', '3.0.2', 'yes'].map(resolvePlain))
      .toEqual([null, true, false, 31, 15, 17, 1000, 0.5, 3, -Infinity, '3.0.2', 'yes']);
  });

  test('agrees with yaml on random documents', () => {
    let taken = 0;
    const doc = fc.tuple(block, fc.constantFrom('', '---\n', '--- # c\n', '# c\n\n')).map(([t, head]) => head + t + '\n');
    fc.assert(fc.property(doc, (t) => { if (agree(t)) taken++; }), { numRuns: 2000 });
    expect(taken).toBeGreaterThan(200); // the generator must exercise the fast path, not only its refusals
  });

  test('agrees with yaml on random documents with a character inserted or deleted', () => {
    const edits = fc.tuple(block, fc.nat(), fc.constantFrom(' ', ':', '-', '#', '"', "'", '[', ']', '{', '}', ',', '\n', 'x', '', '?', '&', '!', '|', '.', '0'));
    fc.assert(fc.property(edits, ([t, at, ch]) => {
      const i = at % (t.length + 1);
      agree(ch === '' ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + ch + t.slice(i));
    }), { numRuns: 3000 });
  });
});
