// Dev step (npm run gen): everything written from one source, so it cannot drift — the catalog ids
// in schemas/cell.schema.json, docs/ (cell file, finding codes, catalog, the man page) and the
// README's help section. A test fails when a committed file differs from what this makes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCatalog } from '../catalog/load.js';
import { COMMAND_SPECS } from '../cli/spec.js';
import { commandHelp, globalHelp } from '../cli/help.js';
import { manPage } from '../cli/manpage.js';
import { findingCodes } from '../compat/codes.js';
import { PACKAGE_ROOT } from '../paths.js';
import { catalogMarkdown } from '../render/catalog.js';
import { codesMarkdown } from '../render/codes.js';
import { CELL_SCHEMA, readSchemaFile } from '../schemas.js';
import { VERSION } from '../version.js';
import { cellReference } from './cell-reference.js';
import { formatJson, withCatalog } from './schema-catalog.js';

type Json = Parameters<typeof formatJson>[0];

const at = (...p: string[]) => join(PACKAGE_ROOT, ...p);
const EXAMPLES = [
  { file: 'cells/tproa.yaml', what: "the seed's cell" },
  { file: 'cells/tproa-full.yaml', what: 'groups, ACLs, quotas, mount points, replicas, a backup volume, a keytab and a second realm' },
];
export const README_BEGIN = '<!-- BEGIN generated help: npm run gen -->';
export const README_END = '<!-- END generated help -->';

/** The README's help section: `cellctl --help`, then each command's. */
function readmeHelp(readme: string): string {
  const start = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`README.md: no ${README_BEGIN} ... ${README_END} block`);
  const block = (cmd: string, text: string) => ['```console', `$ npx ${cmd}`, text, '```', ''];
  const body = [
    README_BEGIN, '',
    ...block('cellctl --help', globalHelp()),
    ...COMMAND_SPECS.filter((c) => c.name !== 'help').flatMap((c) => [`#### ${c.name}`, '', ...block(`cellctl ${c.name} --help`, commandHelp(c))]),
  ].join('\n');
  return readme.slice(0, start) + body + readme.slice(end);
}

/** Every generated file: its path and its content as it should be. In order: the schema first, the rest read it. */
export function generatedFiles(): { file: string; make: () => string }[] {
  const catalog = readCatalog();
  const schemaText = () => formatJson(withCatalog(readSchemaFile(CELL_SCHEMA) as Record<string, Json>, catalog)) + '\n';
  return [
    { file: CELL_SCHEMA.file, make: schemaText },
    { file: at('docs', 'cell-file.md'), make: () => cellReference(JSON.parse(schemaText()), EXAMPLES.map((e) => ({ ...e, text: readFileSync(at(e.file), 'utf8') }))) },
    { file: at('docs', 'finding-codes.md'), make: () => codesMarkdown(findingCodes(catalog)) },
    { file: at('docs', 'catalog.md'), make: () => catalogMarkdown(catalog) },
    { file: at('docs', 'cellctl.1'), make: () => manPage(VERSION) },
    { file: at('README.md'), make: () => readmeHelp(readFileSync(at('README.md'), 'utf8')) },
  ];
}

if (process.argv[1]?.endsWith('gen-docs.js')) {
  for (const g of generatedFiles()) writeFileSync(g.file, g.make());
}
