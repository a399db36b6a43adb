// Module.symvers, as written by the kernel's modpost: one export per line, tab-separated.
//   <= 5.3:    crc  symbol  module  export-type
//   5.4 - 5.8: crc  symbol  namespace  module  export-type
//   >= 5.9:    crc  symbol  module  export-type  namespace      (namespace may be empty)
// The export type is the column that starts with "EXPORT_", which tells the layouts apart.
import type { ExportType } from '../catalog/types.js';

export interface SymversEntry {
  symbol: string;
  crc: number;
  module: string; // "vmlinux" or the exporting module's path, e.g. "drivers/xen/xen-evtchn"
  type: ExportType;
  namespace?: string;
}

export class SymversError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'SymversError';
  }
}

// How modpost treats each written type: only *_GPL (not GPL_FUTURE) is GPL-only.
const TYPES: Record<string, 'EXPORT_SYMBOL' | 'EXPORT_SYMBOL_GPL'> = {
  EXPORT_SYMBOL: 'EXPORT_SYMBOL',
  EXPORT_SYMBOL_GPL: 'EXPORT_SYMBOL_GPL',
  EXPORT_SYMBOL_NS: 'EXPORT_SYMBOL',
  EXPORT_SYMBOL_NS_GPL: 'EXPORT_SYMBOL_GPL',
  EXPORT_SYMBOL_GPL_NS: 'EXPORT_SYMBOL_GPL',
  EXPORT_SYMBOL_GPL_FUTURE: 'EXPORT_SYMBOL',
  EXPORT_UNUSED_SYMBOL: 'EXPORT_SYMBOL',
  EXPORT_UNUSED_SYMBOL_GPL: 'EXPORT_SYMBOL_GPL',
};

function exportType(base: 'EXPORT_SYMBOL' | 'EXPORT_SYMBOL_GPL', namespace: string | undefined): ExportType {
  if (!namespace) return base;
  return base === 'EXPORT_SYMBOL' ? 'EXPORT_SYMBOL_NS' : 'EXPORT_SYMBOL_GPL_NS';
}

/** Parse Module.symvers text. Throws SymversError (with a 1-based line) on a line modpost would also reject. */
export function parseSymvers(text: string): Map<string, SymversEntry> {
  const out = new Map<string, SymversEntry>();
  const n = text.length;
  let lineNo = 0;
  // indexOf over the whole text with plain locals, no per-line split/array/regex: the CLI parses
  // ~25k lines on every run.
  for (let start = 0; start < n; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    lineNo++;
    const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const from = start;
    start = end + 1;
    if (stop === from) continue;
    // t1..t4: positions of the first four tabs (or stop when absent).
    const next = (at: number): number => {
      const tab = at > stop ? -1 : text.indexOf('\t', at);
      return tab < 0 || tab > stop ? stop : tab;
    };
    const t1 = next(from);
    const t2 = next(t1 + 1);
    const t3 = next(t2 + 1);
    const t4 = next(t3 + 1);
    const cols = t1 === stop ? 1 : t2 === stop ? 2 : t3 === stop ? 3 : t4 === stop ? 4 : 5;
    if (cols < 4) {
      throw new SymversError(`expected at least 4 tab-separated columns (crc, symbol, module, export type), got ${cols}`, lineNo);
    }
    let module: string;
    let typeText: string;
    let namespace: string | undefined;
    if (text.startsWith('EXPORT_', t3 + 1)) {
      module = text.slice(t2 + 1, t3);
      typeText = text.slice(t3 + 1, t4);
      if (t4 + 1 < stop) namespace = text.slice(t4 + 1, next(t4 + 1));
    } else if (cols === 5 && text.startsWith('EXPORT_', t4 + 1)) {
      if (t3 > t2 + 1) namespace = text.slice(t2 + 1, t3);
      module = text.slice(t3 + 1, t4);
      typeText = text.slice(t4 + 1, next(t4 + 1));
    } else {
      throw new SymversError(`no export type column (EXPORT_SYMBOL...) in '${text.slice(from, stop)}'`, lineNo);
    }
    const base = TYPES[typeText];
    if (!base) throw new SymversError(`unknown export type '${typeText}'`, lineNo);
    const crcText = text.slice(from, t1);
    const crc = crcText.length <= 10 && crcText.startsWith('0x') ? Number(crcText) : NaN;
    if (Number.isNaN(crc)) throw new SymversError(`bad crc '${crcText}'`, lineNo);
    if (t2 === t1 + 1) throw new SymversError('empty symbol name', lineNo);
    const symbol = text.slice(t1 + 1, t2);
    out.set(symbol, { symbol, crc, module, type: exportType(base, namespace), namespace });
  }
  return out;
}

/** The KernelEntry.exports view of a parsed Module.symvers (a null-prototype object: symbol names are data). */
export function exportsOf(entries: Map<string, SymversEntry>): Record<string, ExportType> {
  const exports: Record<string, ExportType> = Object.create(null);
  for (const [sym, e] of entries) exports[sym] = e.type;
  return exports;
}
