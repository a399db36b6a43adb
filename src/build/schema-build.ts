// Build step: compile the project's JSON Schemas to standalone validation code (see schemas.ts).
import { writeFileSync } from 'node:fs';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { CATALOG_SCHEMA, CELL_SCHEMA, newAjv, readSchema, schemaRefs, type SchemaSet } from '../schemas.js';

function build(set: SchemaSet): void {
  const ajv = newAjv({ source: true });
  const schema = readSchema(set);
  ajv.addSchema(schema, schema.$id ?? set.file);
  writeFileSync(set.compiled, standaloneCode.default(ajv, schemaRefs(set)));
}

build(CELL_SCHEMA);
build(CATALOG_SCHEMA);
