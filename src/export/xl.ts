// xl/xm domain config for one guest, from its plan attrs; and a reader for such configs
// (used to compare ours with the seed's, and to read configs people already have).
import type { GuestAttrs } from '../plan/resources.js';
import { renderTemplate, xlEscape } from './template.js';

// xm/xl defaults: maxmem = memory, one vcpu. Only differences are written, like the seed.
const DEFAULT_VCPUS = 1;

/** Mark the last item so the template can put commas between items. */
function withLast<T extends object>(items: T[]): (T & { last: boolean })[] {
  return items.map((it, i) => ({ ...it, last: i === items.length - 1 }));
}

/**
 * The xl config for guest `name`. Disks are the raw specs exactly as the cell file wrote them
 * (xm syntax, which xl still reads). A pv guest boots its kernel_image with root=; an hvm
 * guest gets builder = "hvm" and boots from its disks (no kernel, no root line).
 */
export function renderXl(name: string, g: GuestAttrs): string {
  const pv = g.type === 'pv';
  const view = {
    name,
    host: g.host,
    hvm: !pv,
    kernel: pv ? g.kernel_image : null,
    memory: g.memory,
    maxmem: g.maxmem !== g.memory ? g.maxmem : null,
    vcpus: g.vcpus !== DEFAULT_VCPUS ? g.vcpus : null,
    hasVifs: g.vifs.length > 0,
    // The seed writes 'mac=..., bridge=...'; the guest's IP is configured inside the guest.
    vifs: withLast(g.vifs.map((v) => ({ spec: `mac=${v.mac}, bridge=${v.bridge}` }))),
    hasDisks: g.disks.length > 0,
    disks: withLast(g.disks.map((d) => ({ raw: d.raw }))),
    root: pv && g.root ? g.root : null,
  };
  return renderTemplate('xl.cfg.mustache', view, xlEscape);
}

export type XlValue = string | number | XlValue[];

/**
 * Parse an xm/xl config (`key = value` statements; strings, numbers, [lists]) into key -> value.
 * Line breaks are allowed anywhere between tokens, because configs copied out of slides and
 * mail (like the seed's) are wrapped at odd places.
 */
export function parseXlConfig(text: string): Record<string, XlValue> {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const expect = (kind: Token['kind'], what: string): Token => {
    const t = tokens[i++];
    if (!t || t.kind !== kind) throw new Error(`xl config: expected ${what}, found ${t ? JSON.stringify(t.text) : 'end of input'}`);
    return t;
  };
  const value = (): XlValue => {
    const t = tokens[i++];
    if (!t) throw new Error('xl config: expected a value, found end of input');
    if (t.kind === 'string') return t.value as string;
    if (t.kind === 'number') return t.value as number;
    if (t.kind === 'punct' && t.text === '[') {
      const list: XlValue[] = [];
      while (peek() && !(peek().kind === 'punct' && peek().text === ']')) {
        list.push(value());
        if (peek()?.kind === 'punct' && peek().text === ',') i++;
      }
      expect('punct', "']'");
      return list;
    }
    throw new Error(`xl config: unexpected ${JSON.stringify(t.text)}`);
  };
  const out: Record<string, XlValue> = {};
  while (i < tokens.length) {
    const key = expect('ident', 'a setting name').text;
    const eq = expect('punct', "'='");
    if (eq.text !== '=') throw new Error(`xl config: expected '=' after ${key}`);
    out[key] = value();
    if (peek()?.kind === 'punct' && peek().text === ';') i++;
  }
  return out;
}

interface Token {
  kind: 'ident' | 'string' | 'number' | 'punct';
  text: string;
  value?: string | number;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (c === '"' || c === "'") {
      let s = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === '\\' && j + 1 < text.length) s += ESCAPES[text[++j]] ?? '\\' + text[j];
        else s += text[j];
      }
      if (j >= text.length) throw new Error(`xl config: unterminated string starting ${JSON.stringify(text.slice(i, i + 20))}`);
      out.push({ kind: 'string', text: text.slice(i, j + 1), value: s });
      i = j + 1;
      continue;
    }
    const num = /^(0x[0-9a-fA-F]+|[0-9]+)/.exec(text.slice(i));
    if (num) { out.push({ kind: 'number', text: num[1], value: Number(num[1]) }); i += num[1].length; continue; }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (id) { out.push({ kind: 'ident', text: id[0] }); i += id[0].length; continue; }
    if ('=[],;'.includes(c)) { out.push({ kind: 'punct', text: c }); i++; continue; }
    throw new Error(`xl config: unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}
