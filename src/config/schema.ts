// schemas/cell.schema.json through ajv, with each error turned into a positioned, worded diagnostic.
import type { ErrorObject } from 'ajv';
import type { Diagnostic } from '../diagnostics.js';
import { CELL_SCHEMA, readSchema, validators } from '../schemas.js';
import type { SourceMap } from './yaml/source.js';
import { hintFor } from './suggest.js';
import type { Path } from './types.js';
import { fmtPath, show, subject, where } from './words.js';

interface Expectation {
  expect: string;
  /** A corrected value to suggest; `valid` tests a candidate against the $def's own pattern. */
  fix?: (v: string, valid: (candidate: string) => boolean) => string | undefined;
  /** What is wrong with a value of the right shape that the pattern still refuses, in the system's words. */
  why?: (v: string) => string | undefined;
}
const lower = (v: string, valid: (c: string) => boolean) => (valid(v.toLowerCase()) ? v.toLowerCase() : undefined);
const upper = (v: string, valid: (c: string) => boolean) => (valid(v.toUpperCase()) ? v.toUpperCase() : undefined);

/** The pattern of a $def of the cell schema, read from the schema (never written twice). */
function defPattern(def: string): RegExp | undefined {
  const defs = readSchema(CELL_SCHEMA).$defs as Record<string, { pattern?: string }> | undefined;
  const p = defs?.[def]?.pattern;
  return p === undefined ? undefined : new RegExp(p);
}

/** What each pattern-checked type of schemas/cell.schema.json ($defs) looks like, in words. */
const EXPECT: Record<string, Expectation> = {
  name: { expect: "a name of lower-case letters, digits and '-' (like a DNS label)", fix: lower },
  cellName: { expect: 'a lower-case DNS-like name such as tproa.net', fix: lower },
  realm: { expect: 'an upper-case realm such as TPROA.NET', fix: upper },
  mac: { expect: 'a MAC address such as 00:16:3e:10:11:c4', why: macWhy },
  ipv4: { expect: 'an IPv4 address such as 10.3.0.11', why: ipv4Why },
  device: { expect: 'a block device such as /dev/wd2d' },
  absPath: { expect: 'an absolute path without spaces' },
  bridge: { expect: "a bridge name such as bridge3 (letters, digits, '.', '_', '-'; at most 15 characters)" },
  cpuFeature: { expect: 'a CPU flag such as pae, vmx or svm' },
  partition: {
    expect: 'an AFS partition, /vicepa to /vicepiu',
    why: (v) => (/^\/vicep[a-z]{2}$/.test(v) ? 'is past /vicepiu: OpenAFS numbers 255 partitions, /vicepa to /vicepiu (VOLMAXPARTS)' : undefined),
    fix: (v, valid) => {
      const m = /^\/?(?:vicep)?([a-z]+)$/.exec(v.toLowerCase());
      return m && valid(`/vicep${m[1]}`) ? `/vicep${m[1]}` : undefined;
    },
  },
  principal: { expect: 'a principal such as kula or kula/admin, without @REALM', fix: (v) => (v.includes('@') ? v.slice(0, v.indexOf('@')) : undefined) },
  volumeName: { expect: "an AFS volume name (letters, digits, '.', '_' and '-')", why: volumeWhy },
};

/** vos create's own refusals (OpenAFS src/volser/vos.c), for names of the right characters. */
function volumeWhy(v: string): string | undefined {
  if (!/^[A-Za-z0-9._-]+$/.test(v)) return undefined;
  if (/^[0-9]+$/.test(v)) return `is refused by vos: "Illegal volume name ${v}, should not be a number"`;
  if (/\.(readonly|backup)$/.test(v)) return `is refused by vos: "Illegal volume name ${v}, should not end in .readonly or .backup"`;
  if (v.startsWith('-')) return "starts with '-': vos would read it as a switch";
  if (/^\.+$/.test(v)) return 'is only dots: as a mount point name it would mean a directory';
  return undefined;
}

function macWhy(v: string): string | undefined {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v)) return undefined;
  if (/^(00:){5}00$/.test(v)) return 'is all zero, not an interface address';
  if (/^(ff:){5}ff$/i.test(v)) return 'is the broadcast address, not an interface address';
  if (parseInt(v.slice(0, 2), 16) & 1) return `is a multicast address (bit 0 of the first octet, ${v.slice(0, 2)}, is set); use an even first octet, e.g. 00:16:3e:...`;
  return undefined;
}

function ipv4Why(v: string): string | undefined {
  const m = /^(\d{1,3})\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.exec(v);
  if (!m || v.split('.').some((o) => Number(o) > 255)) return undefined;
  const first = Number(m[1]);
  if (v === '255.255.255.255') return 'is the broadcast address, not an interface address';
  if (first === 0) return "is in 0.0.0.0/8 ('this network', RFC 1122), not an interface address";
  if (first === 127) return 'is a loopback address (127.0.0.0/8): other guests could not reach it';
  if (first >= 224 && first <= 239) return 'is a multicast address (224.0.0.0/4), not an interface address';
  if (first >= 240) return 'is in the reserved 240.0.0.0/4, not an interface address';
  return undefined;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'empty',
};

/** Names of the things a map's keys are, for "guest name 'X' is not ...". */
const KEY_KINDS: Record<string, string> = {
  hosts: 'host name',
  guests: 'guest name',
  'afs.fileservers': 'fileserver (a guest name)',
  'afs.clients': 'client (a guest name)',
};

/** Instance pointer -> path, with list indices as numbers (decided by the data, not the text). */
function toPath(pointer: string, data: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  if (pointer === '') return path;
  let cur = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      path.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      path.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return path;
}

function typeWords(t: string | string[]): string {
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => TYPE_WORDS[x] ?? x).join(' or ');
}

function firstSentence(s: unknown): string | undefined {
  if (typeof s !== 'string') return undefined;
  const end = /(?<!\be\.g|\bi\.e)\.\s/.exec(s)?.index;
  return end === undefined ? s.replace(/\.$/, '') : s.slice(0, end);
}

function propDescription(schema: unknown, key: string): string | undefined {
  const props = (schema as { properties?: Record<string, { description?: string }> } | undefined)?.properties;
  return firstSentence(props?.[key]?.description);
}

function describe(e: ErrorObject, data: unknown, src: SourceMap): Diagnostic {
  const path = toPath(e.instancePath, data);
  const p = e.params as Record<string, unknown>;
  const parent = e.parentSchema as Record<string, unknown> | undefined;
  const at = (q: Path = path) => src.posOf(q);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((parent?.properties as object | undefined) ?? {});
      return { message: `unknown key '${key}' in ${where(path)}`, pos: src.keyPosOf([...path, key]), hint: hintFor(key, allowed) };
    }
    case 'required': {
      const key = String(p.missingProperty);
      const desc = propDescription(parent, key);
      return {
        message: `missing required key '${key}' in ${where(path)}`,
        pos: path.length ? src.keyPosOf(path) : at(),
        hint: desc ? `${key}: ${desc}` : undefined,
      };
    }
    case 'type': {
      const expected = typeWords(p.type as string | string[]);
      let hint: string | undefined;
      if (expected.includes('a string') && (typeof e.data === 'number' || typeof e.data === 'boolean')) hint = `quote it: "${String(e.data)}"`;
      else if (expected === 'a list' && typeof e.data === 'string') hint = `write a list: [${e.data}]`;
      else if (e.data === null) hint = 'the value is empty';
      return { message: `${subject(path)} must be ${expected}, got ${show(e.data)}`, pos: at(), hint };
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      return {
        message: `${subject(path)} must be one of ${allowed.join(', ')}, got ${show(e.data)}`,
        pos: at(),
        hint: typeof e.data === 'string' ? hintFor(e.data, allowed) : undefined,
      };
    }
    case 'pattern': {
      const def = /\$defs\/(\w+)\/pattern$/.exec(e.schemaPath)?.[1];
      const ex = def ? EXPECT[def] : undefined;
      const expect = ex?.expect ?? firstSentence(parent?.description) ?? `a string matching ${String(p.pattern)}`;
      const isKey = e.propertyName !== undefined;
      const value = isKey ? String(e.propertyName) : String(e.data);
      const re = def ? defPattern(def) : undefined;
      const fixed = ex?.fix?.(value, (c) => re?.test(c) ?? false);
      const hint = fixed !== undefined && fixed !== value ? `did you mean ${fixed}?` : undefined;
      const problem = ex?.why?.(value) ?? `is not ${expect}`;
      if (isKey) {
        const kind = KEY_KINDS[fmtPath(path)] ?? `key in ${where(path)}`;
        return { message: `${kind} '${value}' ${problem}`, pos: src.keyPosOf([...path, value]), hint };
      }
      return { message: `${subject(path)} ${show(value)} ${problem}`, pos: at(), hint };
    }
    case 'uniqueItems': {
      const [i, j] = [Number(p.i), Number(p.j)].sort((a, b) => a - b);
      const list = e.data as unknown[];
      return { message: `${subject(path)} lists ${show(list[j])} twice`, pos: at([...path, j]), hint: `it is also item ${i + 1}; remove one` };
    }
    case 'minItems':
      return {
        message: `${subject(path)} must list at least ${String(p.limit)} ${p.limit === 1 ? 'entry' : 'entries'}`,
        pos: at(),
        hint: firstSentence(parent?.description),
      };
    case 'maxItems':
      return {
        message: `${subject(path)} lists ${(e.data as unknown[]).length} entries; the limit is ${String(p.limit)}`,
        pos: at(),
        hint: firstSentence(parent?.$comment),
      };
    case 'maxProperties':
      return {
        message: `${subject(path)} has ${Object.keys(e.data as object).length} entries; the limit is ${String(p.limit)}`,
        pos: at(),
        hint: firstSentence(parent?.$comment),
      };
    case 'minimum':
    case 'maximum': {
      // The number as written: YAML reads 9007199254740993 as ...992, and 1e300 as 1e+300.
      const written = src.scalarSource(path) ?? show(e.data);
      return { message: `${subject(path)} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p.limit)}, got ${written}`, pos: at() };
    }
    case 'minLength':
      return { message: `${subject(path)} must not be empty`, pos: at() };
    case 'maxLength':
      return {
        message: `${subject(path)} ${show(e.data)} is longer than ${String(p.limit)} characters`,
        pos: at(),
        hint: firstSentence(parent?.$comment),
      };
    default:
      return { message: `${subject(path)} ${e.message ?? 'is invalid'}`, pos: at() };
  }
}

/** Schema violations of the cell data, positioned in the source. */
export function schemaDiagnostics(data: unknown, src: SourceMap): Diagnostic[] {
  const validate = validators(CELL_SCHEMA).cell;
  if (validate(data)) return [];
  // A bad property name also yields a generic 'propertyNames' error; the inner one says more.
  return (validate.errors ?? []).filter((e) => e.keyword !== 'propertyNames').map((e) => describe(e, data, src));
}
