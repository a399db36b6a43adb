// Cell file -> CellSpec: read, decode, parse with positions, schema, semantic checks, defaults.
// Every problem with the input is a UserError carrying all diagnostics found, never a raw exception.
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Catalog } from '../catalog/types.js';
import { UserError, type Diagnostic, type SourcePos } from '../diagnostics.js';
import { LineIndex, parseWithYaml } from './yaml/ast.js';
import { buildSpec, normaliseVersions } from './build.js';
import { parseFast } from './yaml/fastyaml.js';
import { schemaDiagnostics } from './schema.js';
import { SemanticChecker, isObj } from './semantic.js';
import { SourceMap } from './yaml/source.js';
import type { CellSpec } from './types.js';

/** Larger than any real cell (10,000 guests is ~3 MiB); refused before reading. */
export const MAX_CELL_BYTES = 32 * 1024 * 1024;
/** Diagnostics shown at most; the rest are counted. */
export const MAX_DIAGNOSTICS = 20;

const KEYS_HINT = 'a cell file is a mapping with cell:, hosts: and guests: (and optionally realm:, kerberos:, afs:)';

/** Sorted by position, duplicates dropped, capped with a count of the rest. */
export function finish(diags: Diagnostic[]): UserError {
  const seen = new Set<string>();
  const unique = diags.filter((d) => {
    const key = `${d.pos?.line ?? 0}:${d.pos?.col ?? 0}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  unique.sort((a, b) => (a.pos?.line ?? 0) - (b.pos?.line ?? 0) || (a.pos?.col ?? 0) - (b.pos?.col ?? 0));
  const shown = unique.slice(0, MAX_DIAGNOSTICS);
  if (unique.length > shown.length) shown.push({ message: `... and ${unique.length - shown.length} more problems` });
  return new UserError(shown);
}

const fail = (message: string, pos?: SourcePos, hint?: string): never => {
  throw new UserError([{ message, pos, hint }]);
};

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Read and parse a cell file. */
export function loadCell(file: string, catalog: Catalog): CellSpec {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(`cell file ${file} does not exist`, undefined, `looked for ${resolve(file)}`);
    return fail(`cannot read cell file ${file}: ${code ?? (e as Error).message}`);
  }
  if (st.isDirectory()) {
    let yamls: string[] = [];
    try {
      yamls = readdirSync(file).filter((f) => /\.ya?ml$/.test(f)).sort();
    } catch {
      // unreadable directory: no hint
    }
    fail(`${file} is a directory, not a cell file`, undefined, yamls.length ? `cell files in it: ${yamls.slice(0, 8).join(', ')}` : undefined);
  }
  if (!st.isFile()) fail(`${file} is not a regular file`);
  if (st.size > MAX_CELL_BYTES) {
    fail(`cell file ${file} is ${mib(st.size)}; the limit is ${mib(MAX_CELL_BYTES)}`, undefined, 'is this really a cell file?');
  }
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    return fail(`cannot read cell file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseCell(decodeUtf8(buf, file), file, catalog);
}

/** Strict UTF-8 decoding; the error names the line and column of the first bad byte. */
export function decodeUtf8(buf: Uint8Array, file: string): string {
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
    fail('the cell file is UTF-16 text; cell files are UTF-8', { file, line: 1, col: 1 }, 'save it as UTF-8');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    // The longest prefix that decodes (as a stream, so a cut multi-byte character is fine) ends at the bad byte.
    let lo = 0;
    let hi = buf.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, mid), { stream: true });
        lo = mid;
      } catch {
        hi = mid - 1;
      }
    }
    // Bytes [0, lo) decode; the culprit is byte lo, or the unfinished character it interrupts.
    let bad = lo;
    for (let back = 1; back <= 3 && lo - back >= 0; back++) {
      const b = buf[lo - back];
      if (b >= 0xc0) bad = lo - back;
      if (b < 0x80 || b >= 0xc0) break;
    }
    const before = new TextDecoder('utf-8').decode(buf.subarray(0, bad));
    const pos = new LineIndex(file, before).pos(before.length);
    const byte = buf[Math.min(bad, buf.length - 1)];
    return fail(`the cell file is not UTF-8 text: invalid byte 0x${byte.toString(16).padStart(2, '0')}`, pos, 'save it as UTF-8 (is it a binary file?)');
  }
}

/** Parse cell file text; `file` names it in positions, and relative paths in it are taken from its directory. */
export function parseCell(text: string, file: string, catalog: Catalog): CellSpec {
  if (text.length > MAX_CELL_BYTES) fail(`cell file ${file} is over ${mib(MAX_CELL_BYTES)}, the limit`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte order mark
  const lines = new LineIndex(file, text);
  // YAML forbids these; they mean the file is not text (yaml would read them as part of a string).
  const ctl = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.exec(text);
  if (ctl) {
    const code = ctl[0].charCodeAt(0).toString(16).padStart(2, '0');
    fail(`the cell file contains binary data (control character 0x${code})`, lines.pos(ctl.index), 'a cell file is UTF-8 YAML text');
  }
  const diags: Diagnostic[] = [];
  const root = parseFast(text) ?? parseWithYaml(text, lines, diags);
  if (!root) throw finish(diags);
  const top = { file, line: 1, col: 1 };
  if (root.k === 'scalar' && root.value === null) fail('the cell file is empty', top, KEYS_HINT);
  if (root.k !== 'map' && root.k !== 'alias') {
    const got = root.k === 'seq' ? 'a list' : `a single value`;
    fail(`the top level of a cell file must be a mapping of keys, got ${got}`, lines.pos(root.off), KEYS_HINT);
  }
  const src = new SourceMap(root, lines);
  const data = src.toData(diags);
  if (!isObj(data)) throw finish(diags.length ? diags : [{ message: 'the top level of a cell file must be a mapping of keys', pos: top, hint: KEYS_HINT }]);
  normaliseVersions(data, src);
  const abs = resolve(file);
  // concat, not push(...): a broken 10,000-guest file can have more problems than a call has arguments.
  const all = diags.concat(schemaDiagnostics(data, src), new SemanticChecker(data, src, catalog, dirname(abs)).run());
  if (all.length > 0) throw finish(all);
  return buildSpec(data, src, catalog, abs, dirname(abs));
}
