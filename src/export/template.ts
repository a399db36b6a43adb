// Loads templates/ once and renders them with Mustache, escaping for the target format
// (never Mustache's default HTML escaping, which would turn '/' into '&#x2F;').
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Mustache from 'mustache';
import { TEMPLATES_DIR } from '../paths.js';

const cache = new Map<string, string>();

function template(file: string): string {
  let t = cache.get(file);
  if (t === undefined) {
    t = readFileSync(join(TEMPLATES_DIR, file), 'utf8');
    cache.set(file, t);
  }
  return t;
}

export function renderTemplate(file: string, view: object, escapeValue: (value: unknown) => string): string {
  return Mustache.render(template(file), view, {}, { escape: escapeValue });
}

/**
 * Escape a value for a quoted string in an xl/xm config ('...' or "..."): xl's parser and
 * Python (xm) both take backslash escapes. Newlines are refused: no disk, path or name
 * has a reason to contain one, and xm would read it as the end of the statement.
 */
export function xlEscape(value: unknown): string {
  const s = String(value);
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new Error(`value ${JSON.stringify(s)} contains a control character an xl config cannot carry`);
  return s.replace(/[\\'"]/g, (c) => '\\' + c);
}
