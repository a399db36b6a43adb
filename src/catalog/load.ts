// Reads the catalog data files once and checks them: every entry sourced, every reference resolvable.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG_DATA_DIR } from '../paths.js';
import {
  BOOT_PLACEHOLDERS,
  type Catalog,
  type ExportType,
  type KernelEntry,
  type LicenceTable,
  type ModuleEntry,
  type OsEntry,
  type Role,
  type SoftwareEntry,
  type XenRelease,
} from './types.js';

const KERNEL_KINDS: readonly OsEntry['kernel_kind'][] = ['linux', 'netbsd', 'solaris', 'freebsd', 'plan9'];
const EXPORT_TYPES: readonly ExportType[] = ['EXPORT_SYMBOL', 'EXPORT_SYMBOL_GPL', 'EXPORT_SYMBOL_NS', 'EXPORT_SYMBOL_GPL_NS'];
const ROLES: readonly Role[] = ['kdc', 'afs-db', 'afs-fs', 'afs-client'];
const PRODUCTS: readonly SoftwareEntry['product'][] = ['heimdal', 'mit-krb5', 'openafs', 'arla'];

/** A broken data file is a bug in cellctl, not user input: say exactly which file and entry. */
export class CatalogError extends Error {
  constructor(file: string, entry: string | undefined, problem: string) {
    super(`catalog ${file}${entry ? ` entry '${entry}'` : ''}: ${problem}`);
    this.name = 'CatalogError';
  }
}

type Raw = Record<string, unknown>;

function readJson(dir: string, file: string): unknown {
  let text: string;
  try {
    text = readFileSync(join(dir, file), 'utf8');
  } catch (e) {
    throw new CatalogError(file, undefined, `cannot read ${join(dir, file)}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CatalogError(file, undefined, `invalid JSON: ${(e as Error).message}`);
  }
}

/** Field checks for one entry, failing with file and entry id. */
class Checker {
  constructor(readonly file: string, readonly id: string | undefined, readonly raw: Raw) {}
  fail(problem: string): never {
    throw new CatalogError(this.file, this.id, problem);
  }
  str(key: string, optional = false): void {
    const v = this.raw[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || v.trim() === '') this.fail(`'${key}' must be a non-empty string`);
  }
  num(key: string, optional = false): void {
    const v = this.raw[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`'${key}' must be a number`);
  }
  strs(key: string, optional = false): void {
    const v = this.raw[key];
    if (v === undefined && optional) return;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.fail(`'${key}' must be a list of strings`);
  }
  oneOf<T extends string>(key: string, allowed: readonly T[]): void {
    if (!allowed.includes(this.raw[key] as T)) this.fail(`'${key}' is '${String(this.raw[key])}', expected one of ${allowed.join(', ')}`);
  }
  allOf<T extends string>(key: string, allowed: readonly T[]): void {
    for (const v of (this.raw[key] as string[] | undefined) ?? []) {
      if (!allowed.includes(v as T)) this.fail(`'${key}' has '${v}', expected one of ${allowed.join(', ')}`);
    }
  }
  refs(key: string, values: readonly string[], known: ReadonlyMap<string, unknown> | ReadonlySet<string>, what: string): void {
    for (const v of values) if (!known.has(v)) this.fail(`'${key}' names unknown ${what} '${v}'`);
  }
}

/** Entries of one array file, each an object with a unique id and a source. */
function entries(dir: string, file: string): [Raw, Checker][] {
  const data = readJson(dir, file);
  if (!Array.isArray(data)) throw new CatalogError(file, undefined, 'expected a JSON array of entries');
  const seen = new Set<string>();
  return data.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CatalogError(file, `#${i}`, 'not an object');
    const r = raw as Raw;
    const c = new Checker(file, typeof r.id === 'string' ? r.id : `#${i}`, r);
    c.str('id');
    c.str('source');
    if (seen.has(r.id as string)) c.fail('duplicate id');
    seen.add(r.id as string);
    return [r, c];
  });
}

function toMap<T extends { id: string }>(list: T[]): Map<string, T> {
  return new Map(list.map((e) => [e.id, e]));
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Reads and validates the catalog in `dir`, uncached (tests point it at broken copies). */
export function readCatalog(dir: string = CATALOG_DATA_DIR): Catalog {
  const xen = toMap(
    entries(dir, 'xen.json').map(([r, c]) => {
      c.num('major');
      c.str('released', true);
      c.strs('dom0_os');
      c.strs('domu_os');
      if (typeof r.hvm !== 'boolean') c.fail(`'hvm' must be true or false`);
      return r as unknown as XenRelease;
    }),
  );

  const os = toMap(
    entries(dir, 'os.json').map(([r, c]) => {
      c.str('name');
      c.str('family');
      c.oneOf('kernel_kind', KERNEL_KINDS);
      c.num('default_dom0_memory', true);
      return r as unknown as OsEntry;
    }),
  );
  const families = new Set([...os.values()].map((o) => o.family));
  for (const x of xen.values()) {
    const c = new Checker('xen.json', x.id, x as unknown as Raw);
    c.refs('dom0_os', x.dom0_os, families, 'OS family');
    c.refs('domu_os', x.domu_os, families, 'OS family');
  }
  // An OS that some Xen release runs as dom0 needs a dom0 memory default.
  const dom0Families = new Set([...xen.values()].flatMap((x) => x.dom0_os));
  for (const o of os.values()) {
    if (dom0Families.has(o.family) && o.default_dom0_memory === undefined) {
      new Checker('os.json', o.id, o as unknown as Raw).fail(`family '${o.family}' runs dom0 but has no 'default_dom0_memory'`);
    }
  }

  const kernels = toMap(
    entries(dir, 'kernels.json').map(([r, c]) => {
      c.oneOf('kernel_kind', KERNEL_KINDS);
      for (const k of ['release', 'xen', 'image']) c.str(k);
      c.str('ident', true);
      c.str('vermagic', true);
      c.strs('os');
      c.strs('options');
      c.strs('boot');
      c.num('boot_mhz_decimals', true);
      c.refs('xen', [r.xen as string], xen, 'Xen release');
      c.refs('os', r.os as string[], os, 'OS');
      if ((r.os as string[]).length === 0) c.fail(`'os' is empty`);
      for (const o of r.os as string[]) {
        if (os.get(o)!.kernel_kind !== r.kernel_kind) c.fail(`OS '${o}' is a ${os.get(o)!.kernel_kind} system but the kernel is ${String(r.kernel_kind)}`);
      }
      const exports = r.exports;
      if (typeof exports !== 'object' || exports === null || Array.isArray(exports)) c.fail(`'exports' must be an object`);
      for (const [sym, t] of Object.entries(exports as Raw)) {
        if (!EXPORT_TYPES.includes(t as ExportType)) c.fail(`export '${sym}' has type '${String(t)}', expected one of ${EXPORT_TYPES.join(', ')}`);
      }
      for (const line of r.boot as string[]) {
        for (const m of line.matchAll(PLACEHOLDER)) {
          if (!(BOOT_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
            c.fail(`boot line '${line}' uses unknown placeholder {${m[1]}}; allowed: ${BOOT_PLACEHOLDERS.join(' ')}`);
          }
        }
      }
      const bm = r.boot_memory;
      if (bm !== undefined) {
        if (typeof bm !== 'object' || bm === null) c.fail(`'boot_memory' must be an object`);
        for (const [k, v] of Object.entries(bm as Raw)) {
          if (!['total_delta', 'avail_delta', 'lowmem_delta'].includes(k) || typeof v !== 'number') c.fail(`'boot_memory.${k}' is not a known numeric field`);
        }
      }
      return r as unknown as KernelEntry;
    }),
  );
  for (const o of os.values()) {
    if (![...kernels.values()].some((k) => k.os.includes(o.id))) new Checker('os.json', o.id, o as unknown as Raw).fail('no kernel in kernels.json is meant for this OS');
  }

  const modules = toMap(
    entries(dir, 'modules.json').map(([r, c]) => {
      c.str('name');
      c.oneOf('kernel_kind', KERNEL_KINDS);
      c.str('license', true);
      c.str('vermagic', true);
      c.strs('imports');
      c.strs('options_absent', true);
      c.strs('options_present', true);
      return r as unknown as ModuleEntry;
    }),
  );

  const software = toMap(
    entries(dir, 'software.json').map(([r, c]) => {
      c.oneOf('product', PRODUCTS);
      c.str('version');
      c.str('debian_stand_in', true);
      c.strs('roles');
      c.allOf('roles', ROLES);
      c.strs('runs_on');
      c.allOf('runs_on', KERNEL_KINDS);
      const cm = (r.client_modules ?? {}) as Raw;
      for (const [kind, id] of Object.entries(cm)) {
        c.refs(`client_modules.${kind}`, [id as string], modules, 'module');
        if (modules.get(id as string)!.kernel_kind !== kind) c.fail(`client_modules.${kind} is '${String(id)}', a ${modules.get(id as string)!.kernel_kind} module`);
      }
      if (Object.keys(cm).length > 0 && !(r.roles as string[]).includes('afs-client')) c.fail(`has client_modules but no 'afs-client' role`);
      const issues = r.known_issues ?? [];
      if (!Array.isArray(issues)) c.fail(`'known_issues' must be a list`);
      for (const [i, issue] of (issues as Raw[]).entries()) {
        const ic = new Checker('software.json', `${String(r.id)}.known_issues[${i}]`, issue);
        for (const k of ['code', 'message', 'source']) ic.str(k);
        ic.str('fix', true);
        ic.oneOf('severity', ['error', 'warning']);
        ic.oneOf('when', ['xen-domu', 'always']);
      }
      return r as unknown as SoftwareEntry;
    }),
  );

  const lraw = readJson(dir, 'licences.json');
  if (typeof lraw !== 'object' || lraw === null || Array.isArray(lraw)) throw new CatalogError('licences.json', undefined, 'expected an object');
  const lc = new Checker('licences.json', undefined, lraw as Raw);
  lc.str('source');
  lc.strs('gpl_compatible');
  const licences = lraw as LicenceTable;

  return { xen, os, kernels, modules, software, licences };
}

let cached: Catalog | undefined;

/** The catalog shipped with cellctl, read and validated on first use. */
export function loadCatalog(): Catalog {
  cached ??= readCatalog(CATALOG_DATA_DIR);
  return cached;
}
