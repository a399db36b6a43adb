// Where the package lives, whether running compiled (dist/src/...) or from source (vitest).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cellctl: package.json not found above ' + from);
    dir = up;
  }
  return dir;
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const CATALOG_DATA_DIR = join(PACKAGE_ROOT, 'src', 'catalog', 'data');
export const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');
