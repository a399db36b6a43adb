import { test } from 'vitest';
import { parseCell, loadCell } from '../src/spec/load.js';
import { loadCatalog } from '../src/catalog/load.js';
import { UserError } from '../src/diagnostics.js';
test('msgs', () => {
  const c = loadCatalog();
  const cases: Record<string, string> = {
    flow: 'a: ' + '['.repeat(100000) + ']'.repeat(100000),
    flow100: 'a: ' + '['.repeat(100) + ']'.repeat(100),
    seqs: '- '.repeat(20000) + 'x',
    block: Array.from({ length: 3000 }, (_, i) => ' '.repeat(i) + 'k:').join('\n') + ' 1',
    selfalias: 'a: &x [*x]\n',
    unknownalias: 'cell: *nope\n',
    merge: 'x: &t {a: 1}\ny: {<<: *t, b: 2}\n',
    mergebad: 'x: &t [1]\ny: {<<: *t, b: 2}\n',
    complexkey: '? [a, b]\n: 1\ncell: x\n',
    nullkey: ': 1\n',
    scalar: 'hello\n',
    comments: '# nothing\n\n',
    docstart: '---\n',
    proto: 'cell: tproa.net\nhosts: {}\nguests: {}\n__proto__: 1\n',
    many: 'cell: tproa.net\nhosts: {}\nguests:\n' + Array.from({length: 30}, (_, i) => `  g${i}: {host: h, os: netbsd-3.1, kernel: netbsd-3.1-xen3-domu, memory: 1}\n`).join(''),
  };
  for (const [name, text] of Object.entries(cases)) {
    const t0 = performance.now();
    try { parseCell(text, 'x.yaml', c); console.log(name, 'OK'); }
    catch (e) { console.log(`== ${name} ${(performance.now() - t0) | 0}ms\n` + (e instanceof UserError ? e.message : 'RAW ' + (e as Error).stack?.slice(0, 500))); }
  }
  try { loadCell('test/fixtures/bad-latin1.yaml', c) } catch (e) { console.log((e as Error).message) }
});
