// A small YAML tree with source offsets, built either by the fast parser or from the `yaml` package's
// Document. Everything after parsing (positions, conversion to data) works on this one shape.
import { createRequire } from 'node:module';
import type { Document, Node as YamlNode } from 'yaml';

// `yaml` parses only what the fast parser hands over (anchors, block scalars, errors...): load it then.
type Yaml = typeof import('yaml');
let yamlLib: Yaml | undefined;
const yaml = (): Yaml => (yamlLib ??= createRequire(import.meta.url)('yaml') as Yaml);
import type { Diagnostic, SourcePos } from '../../diagnostics.js';
import { tooDeepAt } from './depth.js';

export interface YScalar {
  k: 'scalar';
  off: number; // offset of the first character (the quote for quoted scalars)
  value: unknown; // resolved by the YAML 1.2 core schema
  src?: string; // source text of a plain scalar, so "3.0" can be read as written
}
export interface YPair {
  key: YNode;
  value: YNode;
}
export interface YMap {
  k: 'map';
  off: number;
  pairs: YPair[];
  merges?: YNode[]; // sources of `<<` merge keys, in order (explicit keys win)
}
export interface YSeq {
  k: 'seq';
  off: number;
  items: YNode[];
}
export interface YAlias {
  k: 'alias';
  off: number;
  name: string;
  target?: YNode; // undefined when the anchor does not exist (reported while building)
}
export type YNode = YScalar | YMap | YSeq | YAlias;

/** Far deeper than any cell file needs (guests.x.vifs[0].mac is 5); keeps every walk off the stack limit. */
export const MAX_DEPTH = 100;

/** Line starts of a text, for offset -> line/col by binary search. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(readonly file: string, text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  pos(offset: number): SourcePos {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: offset - s[lo] + 1 };
  }
}

const empty = (off: number): YScalar => ({ k: 'scalar', off, value: null });

/**
 * Convert a parsed `yaml` Document (without errors) to the tree above: aliases resolved to the
 * latest preceding anchor, `<<` merge keys split out. Problems are appended to `diags`.
 */
export function fromYamlDocument(doc: Document.Parsed, lines: LineIndex, diags: Diagnostic[]): YNode {
  const { isAlias, isMap, isPair, isScalar, isSeq } = yaml();
  const anchors = new Map<string, YNode>();
  let tooDeep = false;
  const conv = (n: unknown, depth: number, fallbackOff: number): YNode => {
    if (n === null || n === undefined) return empty(fallbackOff);
    const node = n as YamlNode;
    const off = node.range?.[0] ?? fallbackOff;
    if (depth > MAX_DEPTH) {
      if (!tooDeep) diags.push({ message: `the document is nested more than ${MAX_DEPTH} levels deep`, pos: lines.pos(off) });
      tooDeep = true;
      return empty(off);
    }
    let out: YNode;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) {
        diags.push({ message: `alias *${node.source} refers to no anchor defined before it`, pos: lines.pos(off), hint: anchors.size ? `anchors so far: ${[...anchors.keys()].map((a) => '&' + a).join(', ')}` : 'define it first with &' + node.source });
      }
      return { k: 'alias', off, name: node.source, target };
    } else if (isScalar(node)) {
      out = { k: 'scalar', off, value: node.value };
      if (node.type === 'PLAIN' && typeof node.source === 'string') out.src = node.source;
    } else if (isMap(node)) {
      out = { k: 'map', off, pairs: [] };
    } else if (isSeq(node)) {
      out = { k: 'seq', off, items: [] };
    } else {
      return empty(off);
    }
    // The anchor is in scope for the node's own children, so `&a [*a]` is caught later as a cycle.
    if (node.anchor) anchors.set(node.anchor, out);
    if (out.k === 'map' && isMap(node)) {
      for (const p of node.items) {
        if (!isPair(p)) continue;
        const keyNode = p.key as YamlNode | null;
        const keyOff = keyNode?.range?.[0] ?? off;
        const valueOff = (p.value as YamlNode | null)?.range?.[0] ?? keyOff;
        if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.value === '<<') {
          (out.merges ??= []).push(conv(p.value, depth + 1, valueOff));
          continue;
        }
        out.pairs.push({ key: conv(keyNode, depth + 1, keyOff), value: conv(p.value, depth + 1, valueOff) });
      }
    } else if (out.k === 'seq' && isSeq(node)) {
      for (const item of node.items) out.items.push(conv(item, depth + 1, off));
    }
    return out;
  };
  return conv(doc.contents, 0, 0);
}

/** Parse with the `yaml` package; on syntax errors, diagnostics and undefined. */
export function parseWithYaml(text: string, lines: LineIndex, diags: Diagnostic[]): YNode | undefined {
  const deep = tooDeepAt(text, MAX_DEPTH);
  if (deep >= 0) {
    diags.push({ message: `the document is nested more than ${MAX_DEPTH} levels deep`, pos: lines.pos(deep) });
    return undefined;
  }
  // uniqueKeys is checked while converting instead: yaml's check is quadratic in a mapping's size.
  const doc = yaml().parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length === 0) return fromYamlDocument(doc, lines, diags);
  let exhausted = false;
  for (const e of doc.errors) {
    const pos = lines.pos(e.pos[0]);
    if (e.code === 'RESOURCE_EXHAUSTION') {
      // yaml reports its stack overflow once per level it unwinds through; once is enough.
      if (!exhausted) diags.push({ message: 'the document is nested too deeply to parse', pos });
      exhausted = true;
    } else if (e.code === 'MULTIPLE_DOCS') diags.push({ message: 'a second YAML document starts here; a cell file holds one', pos, hint: "remove the '---' line" });
    else diags.push({ message: `invalid YAML: ${e.message}`, pos });
  }
  return undefined;
}
