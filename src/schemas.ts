// The project's JSON Schemas through ajv: compiled to standalone code at build time (a cellctl
// process then pays no compile, ~200 ms), compiled on the fly when that code is missing or stale.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { PACKAGE_ROOT } from './paths.js';

export interface SchemaSet {
  file: string; // the schema, under schemas/
  compiled: string; // where the build writes its standalone validators
  /** Exported validator name -> schema reference ('' for the schema's root). */
  validators: Record<string, string>;
}

export const CELL_SCHEMA: SchemaSet = {
  file: join(PACKAGE_ROOT, 'schemas', 'cell.schema.json'),
  compiled: join(PACKAGE_ROOT, 'dist', 'cell-schema-validator.cjs'),
  validators: { cell: '' },
};

export const CATALOG_SCHEMA: SchemaSet = {
  file: join(PACKAGE_ROOT, 'schemas', 'catalog.schema.json'),
  compiled: join(PACKAGE_ROOT, 'dist', 'catalog-schema-validator.cjs'),
  validators: {
    xen: '#/$defs/xenFile', os: '#/$defs/osFile', kernels: '#/$defs/kernelsFile',
    modules: '#/$defs/modulesFile', software: '#/$defs/softwareFile', licences: '#/$defs/licencesFile',
    'stand-ins': '#/$defs/standInsFile',
  },
};

/** Marks the $defs written from the catalog by src/build/schema-catalog.ts. */
export const CATALOG_MARK = 'Generated from the catalog by npm run gen (src/build/schema-catalog.ts); do not edit.';
/** Keywords only editors read (yaml-language-server, VS Code). */
const EDITOR_KEYWORDS = new Set(['markdownDescription', 'markdownEnumDescriptions']);

/**
 * The schema as cellctl validates and types it: without the editors' keywords, and without the
 * catalog enums, so an unknown id is reported once, by the semantic checker (with its position and
 * a suggestion), and the generated types stay `string`.
 */
function forCellctl(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forCellctl);
  if (node === null || typeof node !== 'object') return node;
  const generated = (node as { $comment?: unknown }).$comment === CATALOG_MARK;
  return Object.fromEntries(Object.entries(node)
    .filter(([k]) => !EDITOR_KEYWORDS.has(k) && !(generated && k === 'enum'))
    .map(([k, v]) => [k, forCellctl(v)]));
}

/** The schema file as written (for editors and the generators). */
export function readSchemaFile(set: SchemaSet): Record<string, unknown> {
  return JSON.parse(readFileSync(set.file, 'utf8')) as Record<string, unknown>;
}

export function readSchema(set: SchemaSet): { $id?: string } & Record<string, unknown> {
  return forCellctl(readSchemaFile(set)) as { $id?: string } & Record<string, unknown>;
}

export function newAjv(code?: { source: boolean }) {
  // Loaded here, not at start-up: a process normally uses the precompiled validators.
  // verbose: errors carry the failing data and their schema, which messages quote.
  const { default: Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  return new Ajv2020({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code });
}

/** The schema's validators, keyed as in `set.validators`; the root's key is used when ref is ''. */
export function schemaRefs(set: SchemaSet): Record<string, string> {
  const id = readSchema(set).$id ?? set.file;
  return Object.fromEntries(Object.entries(set.validators).map(([name, ref]) => [name, `${id}${ref}`]));
}

const loaded = new Map<string, Record<string, ValidateFunction>>();

/** Validators of a schema set, from the build's standalone code when it is current. */
export function validators(set: SchemaSet): Record<string, ValidateFunction> {
  let v = loaded.get(set.file);
  if (v) return v;
  if (existsSync(set.compiled) && statSync(set.compiled).mtimeMs >= statSync(set.file).mtimeMs) {
    v = createRequire(import.meta.url)(set.compiled) as Record<string, ValidateFunction>;
  } else {
    const ajv = newAjv();
    ajv.addSchema(readSchema(set), readSchema(set).$id ?? set.file);
    v = Object.fromEntries(Object.entries(schemaRefs(set)).map(([name, ref]) => [name, ajv.getSchema(ref)!]));
  }
  loaded.set(set.file, v);
  return v;
}
