// Positions by path and conversion to plain data, over the tree from ast.ts.
import type { Diagnostic, SourcePos } from '../../diagnostics.js';
import { type LineIndex, MAX_DEPTH, type YAlias, type YMap, type YNode, type YPair } from './ast.js';
import type { Path } from '../types.js';
import { where } from '../words.js';

/**
 * Alias expansion budget: nodes materialised through aliases and merge keys. A 10,000-guest file
 * that merges a 20-key template into every guest needs 200,000; a "billion laughs" needs billions.
 */
export const MAX_ALIAS_NODES = 1_000_000;

class AliasBomb extends Error {}

export class SourceMap {
  private readonly indexes = new WeakMap<YMap, Map<string, YPair>>();

  constructor(readonly root: YNode | undefined, readonly lines: LineIndex) {}

  /** Position of the value at `path`, or of the nearest ancestor that exists. */
  posOf(path: Path): SourcePos | undefined {
    const r = this.locate(path);
    if (!r) return undefined;
    const { node, pair, found } = r;
    // An empty value ("memory:") has no text of its own; its key is what the user sees.
    if (found && pair && node.k === 'scalar' && node.value === null && node.src === '') return this.lines.pos(pair.key.off);
    return this.lines.pos(node.off);
  }

  /** Position of the key of the last path segment (the item itself in a list), else as posOf. */
  keyPosOf(path: Path): SourcePos | undefined {
    const r = this.locate(path);
    if (!r) return undefined;
    return this.lines.pos(r.found && r.pair ? r.pair.key.off : r.node.off);
  }

  /** Source text of the plain scalar at `path` ("3.0" where the value is the number 3). */
  scalarSource(path: Path): string | undefined {
    const r = this.locate(path);
    return r?.found && r.node.k === 'scalar' ? r.node.src : undefined;
  }

  /** The deepest node along `path`, the pair that led to it, and whether the whole path exists. */
  private locate(path: Path): { node: YNode; pair?: YPair; found: boolean } | undefined {
    if (!this.root) return undefined;
    let node = this.root;
    let pair: YPair | undefined;
    for (const seg of path) {
      const cur = deref(node);
      let next: YNode | undefined;
      let nextPair: YPair | undefined;
      if (cur?.k === 'map') {
        nextPair = this.index(cur).get(String(seg));
        next = nextPair?.value;
      } else if (cur?.k === 'seq') {
        const i = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : -1;
        next = cur.items[i];
      }
      if (!next) return { node, pair, found: false };
      node = next;
      pair = nextPair;
    }
    return { node, pair, found: true };
  }

  /** Key -> pair for a mapping, built once: its own keys first, then those it merges with `<<`. */
  private index(map: YMap, visiting = new Set<YMap>()): Map<string, YPair> {
    let idx = this.indexes.get(map);
    if (idx) return idx;
    // `visiting` breaks merge cycles; its size bounds the recursion (deeper chains are reported by toData).
    if (visiting.size > MAX_DEPTH) return new Map();
    idx = new Map();
    for (const p of map.pairs) {
      const k = keyString(p.key);
      if (k !== undefined && !idx.has(k)) idx.set(k, p);
    }
    visiting.add(map);
    for (const src of mergeSources(map)) {
      if (visiting.has(src)) continue;
      for (const [k, p] of this.index(src, visiting)) if (!idx.has(k)) idx.set(k, p);
    }
    visiting.delete(map);
    this.indexes.set(map, idx);
    return idx;
  }

  /** Plain data for the whole document; duplicate keys, bad keys, alias cycles and bombs go to `diags`. */
  toData(diags: Diagnostic[]): unknown {
    if (!this.root) return undefined;
    const conv = new Converter(this.lines, diags);
    try {
      return conv.node(this.root, 0);
    } catch (e) {
      if (!(e instanceof AliasBomb)) throw e;
      diags.push({
        message: `YAML aliases expand to more than ${MAX_ALIAS_NODES.toLocaleString('en')} nodes (the limit); is this an alias bomb?`,
        pos: this.lines.pos(conv.lastAlias),
        hint: 'write the repeated parts out, or alias smaller nodes',
      });
      return undefined;
    }
  }
}

export function keyString(key: YNode): string | undefined {
  if (key.k !== 'scalar' || key.value === null || typeof key.value === 'object') return undefined;
  return String(key.value);
}

function deref(node: YNode): YNode | undefined {
  // Each alias refers to an earlier anchor, so the chain ends; the bound is belt and braces.
  for (let i = 0; i < MAX_DEPTH && node.k === 'alias'; i++) {
    if (!node.target) return undefined;
    node = node.target;
  }
  return node.k === 'alias' ? undefined : node;
}

function mergeSources(map: YMap): YMap[] {
  const out: YMap[] = [];
  for (const m of map.merges ?? []) {
    const d = deref(m);
    if (d?.k === 'map') out.push(d);
    else if (d?.k === 'seq') for (const item of d.items) {
      const di = deref(item);
      if (di?.k === 'map') out.push(di);
    }
  }
  return out;
}

class Converter {
  private expanding = 0; // > 0 while inside an alias: count nodes, report nothing twice
  private aliasNodes = 0;
  private readonly active = new Set<YNode>(); // aliases being expanded, to catch `&a [*a]`
  private readonly path: (string | number)[] = [];
  private tooDeep = false;
  lastAlias = 0;

  constructor(private readonly lines: LineIndex, private readonly diags: Diagnostic[]) {}

  private report(d: Diagnostic): void {
    if (this.expanding === 0) this.diags.push(d);
  }

  node(n: YNode, depth: number): unknown {
    if (this.expanding > 0 && ++this.aliasNodes > MAX_ALIAS_NODES) throw new AliasBomb();
    if (depth > MAX_DEPTH) {
      if (!this.tooDeep) this.diags.push({ message: `the document is nested more than ${MAX_DEPTH} levels deep`, pos: this.lines.pos(n.off) });
      this.tooDeep = true;
      return null;
    }
    switch (n.k) {
      case 'scalar':
        return n.value;
      case 'alias':
        return this.alias(n, n.target, depth);
      case 'seq': {
        const out: unknown[] = [];
        n.items.forEach((item, i) => {
          this.path.push(i);
          out.push(this.node(item, depth + 1));
          this.path.pop();
        });
        return out;
      }
      case 'map':
        return this.map(n, depth);
    }
  }

  private alias(at: YAlias, target: YNode | undefined, depth: number): unknown {
    if (!target) return null; // reported when the tree was built
    this.lastAlias = at.off;
    if (this.active.has(target)) {
      // Only ever found inside an expansion, so not filtered by report(); finish() drops repeats.
      this.diags.push({ message: `alias *${at.name} refers to a node that contains it (a cycle)`, pos: this.lines.pos(at.off) });
      return null;
    }
    this.active.add(target);
    this.expanding++;
    try {
      return this.node(target, depth);
    } finally {
      this.expanding--;
      this.active.delete(target);
    }
  }

  private map(n: YMap, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    for (const p of n.pairs) {
      const k = keyString(p.key);
      if (k === undefined) {
        const what = p.key.k === 'scalar' ? 'an empty key' : 'a key that is not a plain name';
        this.report({ message: `${what} in ${where(this.path)}`, pos: this.lines.pos(p.key.off), hint: 'keys are plain names' });
        continue;
      }
      const first = seen.get(k);
      if (first !== undefined) {
        this.report({
          message: `duplicate key '${k}' in ${where(this.path)}`,
          pos: this.lines.pos(p.key.off),
          hint: `first defined at line ${this.lines.pos(first).line}`,
        });
        continue;
      }
      seen.set(k, p.key.off);
      this.path.push(k);
      set(out, k, this.node(p.value, depth + 1));
      this.path.pop();
    }
    for (const m of n.merges ?? []) this.merge(out, m, depth);
    return out;
  }

  /** `<<: *base` or `<<: [*a, *b]`: copy keys the mapping does not set itself (earlier sources win). */
  private merge(out: Record<string, unknown>, src: YNode, depth: number): void {
    const items = src.k === 'seq' ? src.items : [src];
    for (const item of items) {
      const v = item.k === 'alias' ? this.alias(item, item.target, depth + 1) : this.node(item, depth + 1);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        this.report({ message: `'<<' merges mappings only, got ${Array.isArray(v) ? 'a list' : 'a scalar'}`, pos: this.lines.pos(item.off) });
        continue;
      }
      for (const [k, val] of Object.entries(v)) if (!Object.hasOwn(out, k)) set(out, k, val);
    }
  }
}

/** obj[k] = v, also for k = "__proto__" (a key in user data, not the prototype). */
function set(obj: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
}
