// Dev step (npm run gen:types): TypeScript types of the cell file and of the catalog data,
// generated from their JSON Schemas so the shapes are written once. A test fails when the
// committed files are stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { CATALOG_SCHEMA, CELL_SCHEMA, readSchema, type SchemaSet } from '../schemas.js';

type Node = Record<string, unknown>;

/** Inline every $ref to an untitled $def, so only titled defs become named types. */
function inlineUntitled(node: unknown, defs: Record<string, Node>): unknown {
  if (Array.isArray(node)) return node.map((n) => inlineUntitled(n, defs));
  if (node === null || typeof node !== 'object') return node;
  const n = node as Node;
  const ref = typeof n.$ref === 'string' ? /^#\/\$defs\/(\w+)$/.exec(n.$ref)?.[1] : undefined;
  if (ref && defs[ref] && !defs[ref].title) {
    const { $ref: _drop, ...rest } = n;
    return inlineUntitled({ ...defs[ref], ...rest }, defs);
  }
  return Object.fromEntries(Object.entries(n).map(([k, v]) => [k, k === '$defs' ? v : inlineUntitled(v, defs)]));
}

async function typesOf(set: SchemaSet, rootName: string, named: string[]): Promise<string> {
  const { compile } = await import('json-schema-to-typescript');
  const schema = readSchema(set) as Node;
  const defs = (schema.$defs ?? {}) as Record<string, Node>;
  // The root type takes rootName, not the schema's title.
  const { $id: _id, title: _title, ...withoutId } = schema;
  const root = inlineUntitled(named.length
    ? { ...withoutId, type: 'object', additionalProperties: false, properties: Object.fromEntries(named.map((n) => [n, { $ref: `#/$defs/${n}` }])) }
    : withoutId, defs) as Node;
  root.$defs = Object.fromEntries(Object.entries(defs).map(([k, v]) => [k, inlineUntitled(v, defs)]));
  const banner = `// Generated from ${set.file.slice(PACKAGE_ROOT.length + 1)} by src/build/gen-types.ts (npm run gen:types); do not edit.\n`;
  return compile(root as never, rootName, {
    bannerComment: banner, additionalProperties: false, ignoreMinAndMaxItems: true, unknownAny: true, strictIndexSignatures: false,
    style: { singleQuote: true, printWidth: 120 },
  });
}

export const GENERATED = {
  catalog: { file: join(PACKAGE_ROOT, 'src', 'catalog', 'types.generated.ts'), make: () => typesOf(CATALOG_SCHEMA, 'CatalogDefs', ['XenRelease', 'OsEntry', 'KernelEntry', 'ModuleEntry', 'SoftwareEntry', 'LicenceTable', 'StandIns']) },
  cell: { file: join(PACKAGE_ROOT, 'src', 'config', 'cell-file.generated.ts'), make: () => typesOf(CELL_SCHEMA, 'CellFile', []) },
};

if (process.argv[1]?.endsWith('gen-types.js')) {
  for (const g of Object.values(GENERATED)) writeFileSync(g.file, await g.make());
}
