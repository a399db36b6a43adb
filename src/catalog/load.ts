// Reads the catalog data files once and checks them: their shape against schemas/catalog.schema.json
// (ajv), then what a schema cannot say: unique ids, references between files, boot placeholders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { CATALOG_DATA_DIR } from '../paths.js';
import { CATALOG_SCHEMA, validators } from '../schemas.js';
import { BOOT_PLACEHOLDERS, type Catalog, type KernelEntry, type LicenceTable, type ModuleEntry, type OsEntry, type SoftwareEntry, type StandIns, type XenRelease } from './types.js';

/** A broken data file is a bug in cellctl, not user input: say exactly which file and entry. */
export class CatalogError extends Error {
  constructor(file: string, entry: string | undefined, problem: string) {
    super(`catalog ${file}${entry ? ` entry '${entry}'` : ''}: ${problem}`);
    this.name = 'CatalogError';
  }
}

type FileName = 'xen' | 'os' | 'kernels' | 'modules' | 'software' | 'licences' | 'stand-ins';

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

/** The first schema error, named by the entry it is in (its id, else its index) and the field. */
function schemaError(file: string, data: unknown, e: ErrorObject): CatalogError {
  const segs = e.instancePath.split('/').slice(1);
  const inEntry = Array.isArray(data) && segs.length > 0;
  const entry = inEntry ? (data[Number(segs[0])] as { id?: unknown } | undefined) : undefined;
  const name = inEntry ? (typeof entry?.id === 'string' ? entry.id : `#${segs[0]}`) : undefined;
  const path = (inEntry ? segs.slice(1) : segs).reduce((p, s) => (/^\d+$/.test(s) ? `${p}[${s}]` : p ? `${p}.${s}` : s), '');
  const p = e.params as Record<string, unknown>;
  const field = (k: string) => `'${path ? `${path}.` : ''}${k}'`;
  let problem: string;
  if (e.keyword === 'required') problem = `${field(String(p.missingProperty))} is missing`;
  else if (e.keyword === 'additionalProperties') problem = `${field(String(p.additionalProperty))} is not a known field`;
  else if (e.keyword === 'enum') problem = `'${path}' is ${JSON.stringify(e.data)}, expected one of ${(p.allowedValues as unknown[]).join(', ')}`;
  else problem = `${path ? `'${path}' ` : ''}${e.message ?? 'is invalid'}`;
  return new CatalogError(file, name, problem);
}

function read<T>(dir: string, name: FileName): T {
  const file = `${name}.json`;
  const data = readJson(dir, file);
  const validate = validators(CATALOG_SCHEMA)[name];
  if (!validate(data)) throw schemaError(file, data, validate.errors![0]);
  return data as T;
}

/** Entries by id; a repeated id is an error. */
function byId<T extends { id: string }>(file: string, list: T[]): Map<string, T> {
  const out = new Map<string, T>();
  for (const e of list) {
    if (out.has(e.id)) throw new CatalogError(file, e.id, 'duplicate id');
    out.set(e.id, e);
  }
  return out;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

function refs(file: string, id: string, key: string, values: readonly string[], known: { has(v: string): boolean }, what: string): void {
  for (const v of values) if (!known.has(v)) throw new CatalogError(file, id, `'${key}' names unknown ${what} '${v}'`);
}

/** Reads and validates the catalog in `dir`, uncached (tests point it at broken copies). */
export function readCatalog(dir: string = CATALOG_DATA_DIR): Catalog {
  const xen = byId('xen.json', read<XenRelease[]>(dir, 'xen'));
  const os = byId('os.json', read<OsEntry[]>(dir, 'os'));
  const kernels = byId('kernels.json', read<KernelEntry[]>(dir, 'kernels'));
  const modules = byId('modules.json', read<ModuleEntry[]>(dir, 'modules'));
  const software = byId('software.json', read<SoftwareEntry[]>(dir, 'software'));
  const licences = read<LicenceTable>(dir, 'licences');
  const standIns = read<StandIns>(dir, 'stand-ins');

  const families = new Set([...os.values()].map((o) => o.family));
  for (const x of xen.values()) {
    refs('xen.json', x.id, 'dom0_os', x.dom0_os, families, 'OS family');
    refs('xen.json', x.id, 'domu_os', x.domu_os, families, 'OS family');
  }
  // An OS that some Xen release runs as dom0 needs a dom0 memory default.
  const dom0Families = new Set([...xen.values()].flatMap((x) => x.dom0_os));
  for (const o of os.values()) {
    if (dom0Families.has(o.family) && o.default_dom0_memory === undefined) {
      throw new CatalogError('os.json', o.id, `family '${o.family}' runs dom0 but has no 'default_dom0_memory'`);
    }
  }
  for (const k of kernels.values()) {
    refs('kernels.json', k.id, 'xen', [k.xen], xen, 'Xen release');
    refs('kernels.json', k.id, 'os', k.os, os, 'OS');
    for (const o of k.os) {
      const kind = os.get(o)!.kernel_kind;
      if (kind !== k.kernel_kind) throw new CatalogError('kernels.json', k.id, `OS '${o}' is a ${kind} system but the kernel is ${k.kernel_kind}`);
    }
    for (const line of k.boot) {
      for (const m of line.matchAll(PLACEHOLDER)) {
        if (!(BOOT_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
          throw new CatalogError('kernels.json', k.id, `boot line '${line}' uses unknown placeholder {${m[1]}}; allowed: ${BOOT_PLACEHOLDERS.join(' ')}`);
        }
      }
    }
  }
  for (const o of os.values()) {
    if (![...kernels.values()].some((k) => k.os.includes(o.id))) throw new CatalogError('os.json', o.id, 'no kernel in kernels.json is meant for this OS');
  }
  for (const sw of software.values()) {
    const cm = sw.client_modules ?? {};
    for (const [kind, id] of Object.entries(cm)) {
      refs('software.json', sw.id, `client_modules.${kind}`, [id], modules, 'module');
      if (modules.get(id)!.kernel_kind !== kind) throw new CatalogError('software.json', sw.id, `client_modules.${kind} is '${id}', a ${modules.get(id)!.kernel_kind} module`);
    }
    if (Object.keys(cm).length > 0 && !sw.roles.includes('afs-client')) throw new CatalogError('software.json', sw.id, `has client_modules but no 'afs-client' role`);
    if (sw.kdc_enctypes && !sw.roles.includes('kdc')) throw new CatalogError('software.json', sw.id, `has kdc_enctypes but no 'kdc' role`);
    if (sw.service_key && !sw.roles.includes('afs-db')) throw new CatalogError('software.json', sw.id, `has service_key but no 'afs-db' role`);
    if (sw.stand_in) {
      const real = software.get(sw.stand_in.id);
      if (!real) throw new CatalogError('software.json', sw.id, `'stand_in.id' names unknown software '${sw.stand_in.id}'`);
      if (!real.runs_here) throw new CatalogError('software.json', sw.id, `its stand-in '${real.id}' has no 'runs_here': a stand-in is what this machine runs`);
      const missing = sw.roles.filter((r) => !real.roles.includes(r));
      if (missing.length) throw new CatalogError('software.json', sw.id, `its stand-in '${real.id}' does not serve ${missing.join(', ')}`);
    }
  }
  return { xen, os, kernels, modules, software, licences, standIns };
}

let cached: Catalog | undefined;

/** The catalog shipped with cellctl, read and validated on first use. */
export function loadCatalog(): Catalog {
  cached ??= readCatalog(CATALOG_DATA_DIR);
  return cached;
}
