// Build step: compile schemas/cell.schema.json to standalone validation code once, so a cellctl
// process does not pay ajv's compile (~200 ms) at every start. schema.ts falls back to compiling.
import { writeFileSync } from 'node:fs';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { newAjv, PRECOMPILED_VALIDATOR, readSchema } from './schema.js';

const ajv = newAjv({ source: true });
writeFileSync(PRECOMPILED_VALIDATOR, standaloneCode.default(ajv, ajv.compile(readSchema())));
