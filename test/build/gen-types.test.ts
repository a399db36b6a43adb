// The generated types match their schemas: edit a schema, run `npm run gen:types`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED } from '../../src/build/gen-types.js';

describe('types generated from the JSON Schemas', () => {
  for (const [name, g] of Object.entries(GENERATED)) {
    it(`${name}: ${g.file.split('/src/')[1]} is up to date`, async () => {
      expect(readFileSync(g.file, 'utf8'), 'stale: run npm run gen:types').toBe(await g.make());
    });
  }
});
