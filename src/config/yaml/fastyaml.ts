// A fast parser for the plain YAML that cell files are written in: block mappings and sequences,
// one-line flow collections, plain and simple quoted scalars, comments. The `yaml` package needs
// ~2.5 s for a 10,000-guest file; this needs a few tens of ms. Anything outside the subset
// (anchors, tags, block scalars, multi-line scalars, escapes, tabs, CR, directives, errors...)
// returns undefined and the caller parses with `yaml`, which also produces the error messages.
// test/spec-fastyaml.test.ts checks that both parsers agree on data and positions.
import { MAX_DEPTH, type YMap, type YNode, type YScalar, type YSeq } from './ast.js';

const BAIL = Symbol('bail');
function bail(): never {
  throw BAIL;
}

const SP = 0x20;
const HASH = 0x23;
const DASH = 0x2d;
const COLON = 0x3a;

/** YAML 1.2 core schema resolution of a plain scalar, exactly as the `yaml` package does it. */
export function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  // Most scalars are names: a letter that cannot begin null/true/false/.inf is a string.
  if (c >= 0x61 && c <= 0x7a && c !== 0x6e && c !== 0x74 && c !== 0x66) return s;
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return c === 0x74 || c === 0x54;
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
    return s.slice(-3).toLowerCase() === 'nan' ? NaN : c === DASH ? -Infinity : Infinity;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

// Characters that may not start a plain scalar here (YAML indicators), plus ones we leave to `yaml`.
const NOT_PLAIN_START = new Set('&*!|>%@`?:,[]{}#\'"<'.split('').map((ch) => ch.charCodeAt(0)));
const FLOW_END = new Set(',[]{}'.split('').map((ch) => ch.charCodeAt(0)));
const PLAIN_KEY = /[A-Za-z0-9_/.][A-Za-z0-9_/.+-]*/y;

interface Line {
  start: number; // offset of the first character of the line
  ind: number; // number of leading spaces
  end: number; // offset of the newline (or the end of the text)
}

class FastParser {
  private readonly lines: Line[] = [];
  private li = 0;
  constructor(private readonly t: string) {
    let start = 0;
    let first = true;
    while (start <= t.length) {
      let end = t.indexOf('\n', start);
      if (end < 0) end = t.length;
      let i = start;
      while (i < end && t.charCodeAt(i) === SP) i++;
      if (i < end && t.charCodeAt(i) !== HASH) {
        const head = t.slice(start, start + 3);
        if (head === '---' && first && /^---[ ]*(#.*)?$/.test(t.slice(start, end))) {
          // a single leading document-start marker is harmless
        } else {
          if (head === '---' || head === '...' || t.charCodeAt(start) === 0x25) bail();
          this.lines.push({ start, ind: i - start, end });
        }
        first = false;
      }
      start = end + 1;
    }
  }

  parse(): YNode {
    if (this.lines.length === 0) bail();
    const node = this.block(this.lines[0].ind, 0);
    if (this.li !== this.lines.length) bail();
    return node;
  }

  private isSeqItem(l: Line, ind: number): boolean {
    const p = l.start + ind;
    if (this.t.charCodeAt(p) !== DASH) return false;
    const n = this.t.charCodeAt(p + 1);
    return p + 1 === l.end || n === SP;
  }

  private block(ind: number, depth: number): YNode {
    if (depth > MAX_DEPTH) bail();
    const l = this.lines[this.li];
    return this.isSeqItem(l, ind) ? this.seq(ind, depth) : this.map(ind, l.start + ind, depth);
  }

  private seq(ind: number, depth: number): YSeq {
    const first = this.lines[this.li];
    const out: YSeq = { k: 'seq', off: first.start + ind, items: [] };
    while (this.li < this.lines.length) {
      const l = this.lines[this.li];
      if (l.ind !== ind || !this.isSeqItem(l, ind)) break;
      out.items.push(this.value(l.start + ind + 1, l, ind, depth + 1, false));
    }
    return out;
  }

  /** A block mapping whose first key starts at `off` (possibly mid-line, after "- "). */
  private map(ind: number, off: number, depth: number): YMap {
    const out: YMap = { k: 'map', off, pairs: [] };
    for (;;) {
      const l = this.lines[this.li];
      const [key, after] = this.key(off, l.end);
      out.pairs.push({ key, value: this.value(after, l, ind, depth + 1, true) });
      if (this.li >= this.lines.length) break;
      const next = this.lines[this.li];
      if (next.ind < ind) break;
      if (next.ind > ind || this.isSeqItem(next, ind)) bail();
      off = next.start + ind;
    }
    return out;
  }

  /** A key and the offset just after its ':' (which must be followed by a space or the line end). */
  private key(off: number, end: number): [YScalar, number] {
    const t = this.t;
    const c = t.charCodeAt(off);
    let key: YScalar;
    let p: number;
    if (c === 0x22 || c === 0x27) {
      [key, p] = this.quoted(off, end);
    } else {
      PLAIN_KEY.lastIndex = off;
      if (!PLAIN_KEY.test(t)) bail();
      p = PLAIN_KEY.lastIndex;
      const src = t.slice(off, p);
      key = { k: 'scalar', off, value: resolvePlain(src), src };
    }
    if (t.charCodeAt(p) !== COLON) bail();
    p++;
    if (p !== end && t.charCodeAt(p) !== SP) bail();
    return [key, p];
  }

  /**
   * The value after "key:" or "-" at `off` on line `l`, whose parent is indented `ind`. Consumes
   * the line and any nested lines. `inMap`: a sequence may follow at the parent's own indent.
   */
  private value(off: number, l: Line, ind: number, depth: number, inMap: boolean): YNode {
    if (depth > MAX_DEPTH) bail();
    const t = this.t;
    let p = off;
    while (p < l.end && t.charCodeAt(p) === SP) p++;
    if (p === l.end || t.charCodeAt(p) === HASH) {
      this.li++;
      const next = this.lines[this.li];
      if (next && next.ind > ind) return this.block(next.ind, depth);
      if (next && inMap && next.ind === ind && this.isSeqItem(next, ind)) return this.seq(ind, depth);
      return { k: 'scalar', off: p, value: null, src: '' };
    }
    const c = t.charCodeAt(p);
    let node: YNode;
    let q: number;
    if (c === 0x5b || c === 0x7b) {
      [node, q] = this.flow(p, l.end, depth);
    } else if (c === 0x22 || c === 0x27) {
      [node, q] = this.quoted(p, l.end);
    } else {
      if (NOT_PLAIN_START.has(c) || (c === DASH && (p + 1 === l.end || t.charCodeAt(p + 1) === SP))) bail();
      // Search this line only: an unbounded indexOf scans to the next comment, quadratic in comment-free files.
      let e = p;
      while (e < l.end && !(t.charCodeAt(e) === SP && t.charCodeAt(e + 1) === HASH)) e++;
      while (e > p && t.charCodeAt(e - 1) === SP) e--;
      const src = t.slice(p, e);
      const colon = src.indexOf(': ');
      if (colon >= 0 || src.charCodeAt(src.length - 1) === COLON) {
        if (inMap) bail(); // "a: b: c"
        // "- key: value": a mapping that starts inside the sequence item
        return this.map(p - l.start, p, depth);
      }
      node = { k: 'scalar', off: p, value: resolvePlain(src), src };
      q = e;
    }
    while (q < l.end && t.charCodeAt(q) === SP) q++;
    if (q !== l.end && !(t.charCodeAt(q) === HASH && t.charCodeAt(q - 1) === SP)) bail();
    this.li++;
    const next = this.lines[this.li];
    if (next && next.ind > ind) bail(); // a continuation line: multi-line scalars go to `yaml`
    return node;
  }

  /** A quoted scalar closed on its line, without escapes. Returns it and the offset after it. */
  private quoted(off: number, end: number): [YScalar, number] {
    const t = this.t;
    const q = t[off];
    let p = off + 1;
    let value = '';
    for (;;) {
      const close = t.indexOf(q, p);
      if (close < 0 || close >= end) bail();
      const chunk = t.slice(p, close);
      if (q === '"' && chunk.includes('\\')) bail();
      value += chunk;
      if (q === "'" && t[close + 1] === "'") {
        value += "'";
        p = close + 2;
        continue;
      }
      return [{ k: 'scalar', off, value }, close + 1];
    }
  }

  /** A flow collection that closes on its line. */
  private flow(off: number, end: number, depth: number): [YNode, number] {
    if (depth > MAX_DEPTH) bail();
    const t = this.t;
    const isSeq = t.charCodeAt(off) === 0x5b;
    const close = isSeq ? 0x5d : 0x7d;
    const out: YNode = isSeq ? { k: 'seq', off, items: [] } : { k: 'map', off, pairs: [] };
    let p = off + 1;
    const skip = () => {
      while (p < end && t.charCodeAt(p) === SP) p++;
    };
    for (;;) {
      skip();
      if (t.charCodeAt(p) === close) return [out, p + 1];
      if (out.k === 'seq') {
        const [item, q] = this.flowNode(p, end, depth + 1);
        out.items.push(item);
        p = q;
      } else {
        const [key, q] = this.flowNode(p, end, depth + 1);
        if (key.k !== 'scalar' || t.charCodeAt(q) !== COLON || t.charCodeAt(q + 1) !== SP) bail();
        p = q + 1;
        skip();
        const c = t.charCodeAt(p);
        if (c === 0x2c || c === close) bail(); // an empty value
        const [value, r] = this.flowNode(p, end, depth + 1);
        out.pairs.push({ key, value });
        p = r;
      }
      skip();
      const c = t.charCodeAt(p);
      if (c === 0x2c) p++;
      else if (c !== close) bail();
    }
  }

  private flowNode(off: number, end: number, depth: number): [YNode, number] {
    const t = this.t;
    const c = t.charCodeAt(off);
    if (off >= end) bail();
    if (c === 0x5b || c === 0x7b) return this.flow(off, end, depth);
    if (c === 0x22 || c === 0x27) return this.quoted(off, end);
    const n = t.charCodeAt(off + 1);
    // "-" starts a plain scalar only before a character that could continue one ("-1", not "- " or "-]").
    if (NOT_PLAIN_START.has(c) || (c === DASH && (off + 1 >= end || n === SP || FLOW_END.has(n)))) bail();
    let p = off;
    while (p < end) {
      const ch = t.charCodeAt(p);
      if (FLOW_END.has(ch)) break;
      if (ch === SP && t.charCodeAt(p + 1) === HASH) break;
      if (ch === COLON) {
        const n = t.charCodeAt(p + 1);
        if (p + 1 >= end || n === SP || FLOW_END.has(n)) break;
      }
      p++;
    }
    let e = p;
    while (e > off && t.charCodeAt(e - 1) === SP) e--;
    const src = t.slice(off, e);
    return [{ k: 'scalar', off, value: resolvePlain(src), src }, e];
  }
}

/** The document's tree, or undefined if the text is outside the subset this parser handles. */
export function parseFast(text: string): YNode | undefined {
  if (/[\r\t]/.test(text)) return undefined;
  try {
    return new FastParser(text).parse();
  } catch (e) {
    if (e === BAIL) return undefined;
    throw e;
  }
}
