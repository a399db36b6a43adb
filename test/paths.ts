// Where tests find the project's files, whatever folder a test lives in.
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const CELLS = join(ROOT, 'cells');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
/** The compiled CLI (`npm test` builds first). */
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
