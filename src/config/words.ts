// How messages name places in the cell file: "guest 'shea'", "'vifs[0].mac' of guest 'shea'", "'afs.volumes[1]'".
import type { Path } from './types.js';

const ENTITIES: Record<string, string> = { hosts: 'host', guests: 'guest' };

/** guests.shea.vifs[0].mac */
export function fmtPath(path: Path): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

function entity(path: Path): [string, Path] | undefined {
  const kind = ENTITIES[String(path[0])];
  if (kind === undefined || path.length < 2) return undefined;
  return [`${kind} '${String(path[1])}'`, path.slice(2)];
}

/** The container named in "unknown key 'x' in ...": "guest 'shea'", "vifs[0] of guest 'shea'", "afs". */
export function where(path: Path): string {
  if (path.length === 0) return 'the top level';
  const e = entity(path);
  if (!e) return fmtPath(path);
  return e[1].length === 0 ? e[0] : `${fmtPath(e[1])} of ${e[0]}`;
}

/** The value a message is about: "'memory' of guest 'shea'", "guest 'shea'", "'afs.volumes[0].server'". */
export function subject(path: Path): string {
  const e = entity(path);
  if (!e) return `'${fmtPath(path)}'`;
  return e[1].length === 0 ? e[0] : `'${fmtPath(e[1])}' of ${e[0]}`;
}

/** A value as a message quotes it. */
export function show(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return v.length > 60 ? `'${v.slice(0, 57)}...'` : `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'binary data';
  return 'a mapping';
}
