// Finding codes for people: `cellctl explain CODE`, the list, and docs/finding-codes.md.
import type { CodeInfo } from '../compat/codes.js';
import { table } from './status.js';
import { wrapWords } from './wrap.js';

export function renderCodeList(codes: CodeInfo[]): string[] {
  return [...table([['CODE', 'SEVERITY', 'MEANING'], ...codes.map((c) => [c.code, c.severity, c.title])]), '', 'cellctl explain CODE says more about one.'];
}

export function renderCode(c: CodeInfo, width = 80): string[] {
  const para = (label: string, text: string) => [`${label}:`, ...wrapWords(text, width - 2).map((l) => `  ${l}`)];
  return [
    `${c.code} (${c.severity}): ${c.title}`,
    '',
    ...para('What it means', c.explanation),
    '',
    ...para('How to fix it', c.fix),
    ...(c.knownIssue ? ['', `Known issue of: ${c.knownIssue.software.join(', ')}`, ...para('Source', c.knownIssue.source)] : []),
    ...(c.checkModuleOnly ? ['', 'Reported by cellctl check-module (it needs a real .ko and Module.symvers).'] : []),
  ];
}

export function codesMarkdown(codes: CodeInfo[]): string {
  const out = [
    '# Finding codes',
    '',
    '<!-- Generated from the compat rules (src/compat/rules/*.ts) and the catalog\'s known issues by `npm run gen` (src/build/gen-docs.ts); do not edit. -->',
    '',
    'Every finding `validate`, `plan`, `apply`, `smoke` and `check-module` report carries one of these codes:',
    '`Error: [code] file:line:col: subject: message` and a `fix:` line. Errors block apply (unless `--skip-compat`);',
    'warnings do not. `cellctl explain CODE` prints the same text.',
    '',
    '| code | severity | meaning |',
    '| --- | --- | --- |',
    ...codes.map((c) => `| [\`${c.code}\`](#${c.code}) | ${c.severity} | ${c.title} |`),
    '',
  ];
  for (const c of codes) {
    out.push(`## ${c.code}`, '', `**${c.severity}**: ${c.title}.`, '', c.explanation, '', `**Fix:** ${c.fix}`, '');
    if (c.knownIssue) out.push(`Known issue of ${c.knownIssue.software.map((s) => `\`${s}\``).join(', ')} (catalog data). Source: ${c.knownIssue.source}`, '');
    if (c.checkModuleOnly) out.push('Reported by `cellctl check-module` (it needs a real `.ko` and `Module.symvers`).', '');
  }
  return out.join('\n');
}
