// The catalog for people: lists and entries as terminal text, and the same as Markdown for docs/.
import type { Catalog } from '../catalog/types.js';
import { CATALOG_KINDS, KIND_KEYS, KIND_TITLES, catalogEntry, entriesOf, summaryOf, type CatalogDetail, type CatalogKind } from '../ops/catalog.js';
import { table } from './status.js';

export function renderKinds(catalog: Catalog): string[] {
  return [
    ...table([['KIND', 'ENTRIES', 'WHAT', 'CELL FILE KEYS'], ...CATALOG_KINDS.map((k) => [k, entriesOf(catalog, k).size, KIND_TITLES[k], KIND_KEYS[k]])]),
    '',
    'cellctl catalog KIND lists the ids; cellctl catalog KIND ID shows one entry.',
  ];
}

export function renderKind(catalog: Catalog, kind: CatalogKind): string[] {
  return [`${KIND_TITLES[kind]} (${KIND_KEYS[kind]}):`, ...table([...entriesOf(catalog, kind).keys()].map((id) => [id, summaryOf(catalog, kind, id)]))];
}

export function renderEntry(d: CatalogDetail): string[] {
  const width = Math.max(...d.facts.map(([l]) => l.length));
  const lines = [`${d.kind} ${d.id}`, ...d.facts.map(([l, v]) => `  ${`${l}:`.padEnd(width + 1)} ${v}`)];
  for (const l of d.lists) lines.push(`  ${l.title}:`, ...l.items.map((i) => `    ${i}`));
  lines.push(`  source: ${d.source}`);
  return lines;
}

/** docs/catalog.md: every kind, every entry, generated from the data. */
export function catalogMarkdown(catalog: Catalog): string {
  const out = [
    '# Catalog reference',
    '',
    '<!-- Generated from src/catalog/data/*.json by `npm run gen` (src/build/gen-docs.ts); do not edit. -->',
    '',
    'The facts cellctl knows, each with its source. A cell file names entries by id; `cellctl catalog KIND [ID]`',
    'prints the same from the command line. To add an entry, see [adding-to-the-catalog.md](adding-to-the-catalog.md).',
    '',
  ];
  for (const kind of CATALOG_KINDS) {
    out.push(`## ${KIND_TITLES[kind]}`, '', `Used by \`${KIND_KEYS[kind].split(', ').join('`, `')}\`.`, '', '| id | summary |', '| --- | --- |');
    for (const id of entriesOf(catalog, kind).keys()) out.push(`| [\`${id}\`](#${anchor(kind, id)}) | ${cell(summaryOf(catalog, kind, id))} |`);
    out.push('');
    for (const id of entriesOf(catalog, kind).keys()) {
      const d = catalogEntry(catalog, kind, id);
      out.push(`### <a id="${anchor(kind, id)}"></a>${kind} \`${id}\``, '');
      for (const [l, v] of d.facts) out.push(`- **${l}**: ${md(v)}`);
      for (const l of d.lists) out.push(`- **${l.title}**: ${l.items.map((i) => `\`${i}\``).join(', ')}`);
      out.push(`- **source**: ${md(d.source)}`, '');
    }
  }
  return out.join('\n');
}

export function anchor(kind: CatalogKind, id: string): string {
  return `${kind}-${id}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}

const md = (s: string) => s.replace(/([<>*_|])/g, '\\$1');
const cell = (s: string) => md(s).replace(/\n/g, ' ');
