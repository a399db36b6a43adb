// Compat findings for people: "Error: [code] file:line:col: subject: message" and the fix.
import type { Finding } from '../compat/types.js';
import { formatPos } from '../diagnostics.js';

export function renderFinding(f: Finding): string {
  const where = f.pos ? `${formatPos(f.pos)}: ` : '';
  const head = `${f.severity === 'error' ? 'Error' : 'Warning'}: [${f.code}] ${where}${f.subject}: ${f.message}`;
  return f.fix ? `${head}\n    fix: ${f.fix}` : head;
}
