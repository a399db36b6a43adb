// What `npm run gen` writes from one source — the catalog ids in the cell schema, docs/, the man
// page, the README's command help — is committed up to date: edit the source, run npm run gen.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../../src/build/gen-docs.js';
import { GENERATED_DEFS } from '../../src/build/schema-catalog.js';
import { CATALOG_MARK, CELL_SCHEMA, readSchema, readSchemaFile } from '../../src/schemas.js';
import { ROOT } from '../paths.js';

describe('generated files', () => {
  for (const g of generatedFiles()) {
    it(`${g.file.slice(ROOT.length + 1)} is up to date`, () => {
      expect(readFileSync(g.file, 'utf8') === g.make(), `stale: run npm run gen (${g.file})`).toBe(true);
    });
  }
});

describe('the cell schema', () => {
  const file = readSchemaFile(CELL_SCHEMA) as { $id: string; $defs: Record<string, Record<string, unknown>> };

  it('has an $id, hand-written parts, and catalog ids only in the generated $defs', () => {
    expect(file.$id).toMatch(/^https:\/\//);
    const generated = Object.entries(file.$defs).filter(([, d]) => d.$comment === CATALOG_MARK).map(([k]) => k);
    expect(generated.sort()).toEqual(Object.keys(GENERATED_DEFS).sort());
    expect(file.$defs.guestOsId.enum).toContain('netbsd-3.1');
    expect(file.$defs.kdcSoftware.enum).toEqual(['heimdal-0.72', 'mit-krb5-1.4.4', 'heimdal-7.8', 'mit-krb5-1.20']);
    expect(file.$defs.kernelId.examples).toContain('netbsd-3.1-xen3-domu-nodiag');
    expect(file.$defs.xenId.markdownDescription).toContain('`3.0.2`');
  });

  it('as cellctl reads it: no catalog enums (the semantic checker names unknown ids) and no editor keywords', () => {
    const text = JSON.stringify(readSchema(CELL_SCHEMA));
    expect(text).not.toContain('markdownDescription');
    expect(text).not.toContain('"heimdal-0.72"');
    expect(text).toContain('"enum":["pv","hvm"]'); // hand-written enums stay
  });

  it('every cell file points the YAML language server at it', () => {
    const cells = readdirSync(join(ROOT, 'cells')).filter((f) => f.endsWith('.yaml'));
    expect(cells.length).toBeGreaterThanOrEqual(5);
    for (const cell of cells) {
      expect(readFileSync(join(ROOT, 'cells', cell), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/cell.schema.json');
    }
  });
});
