// cellctl catalog and cellctl explain: what the catalog knows and what each finding code means,
// every code documented once, beside its rule or in the catalog.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { findingCodes, RULE_CODES } from '../../src/compat/codes.js';
import { CLI, ROOT } from '../paths.js';

async function cellctl(args: string[]) {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, env: { CI: 'true' } });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

/** Every finding code a source file can emit: `code: 'x'` and `code = 'x'` literals under src/. */
function emittedCodes(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        // The rules' own documentation (CODES) names codes too; only what is reported counts.
        const text = readFileSync(p, 'utf8').replace(/export const CODES[\s\S]*?\n\];\n/, '');
        for (const m of text.matchAll(/\bcode(?::| =) '([a-z0-9-]+)'/g)) out.add(m[1]);
      }
    }
  };
  walk(join(ROOT, 'src'));
  return out;
}

describe('finding codes', () => {
  const catalog = loadCatalog();
  const documented = findingCodes(catalog);

  it('every code the rules, the module verdict and check-module report is documented, and nothing else', () => {
    const emitted = emittedCodes();
    expect(emitted.size).toBeGreaterThanOrEqual(19);
    expect([...emitted].sort()).toEqual(RULE_CODES.map((c) => c.code).sort());
  });

  it("the catalog's known issues are documented from the catalog, with their source", () => {
    const arla = documented.find((c) => c.code === 'arla-panic-reports')!;
    expect(arla.knownIssue?.software).toEqual(['arla-0.43']);
    expect(arla.knownIssue?.source).toContain('Seed Example 1');
    expect(new Set(documented.map((c) => c.code)).size).toBe(documented.length);
  });

  it('explain CODE says what it means and how to fix it; a typo gets a suggestion', async () => {
    const r = await cellctl(['explain', 'module-gpl-only-symbol']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^module-gpl-only-symbol \(error\): a non-GPL module imports symbols the kernel exports GPL-only/);
    expect(r.out).toContain('What it means:');
    expect(r.out).toContain('force_evtchn_callback');
    expect(r.out).toContain('How to fix it:');
    expect((await cellctl(['explain', '[arla-panic-reports]'])).out).toContain('Known issue of: arla-0.43');
    const typo = await cellctl(['explain', 'module-gpl-only-symbols']);
    expect(typo.code).toBe(1);
    expect(typo.err).toBe("Error: unknown finding code 'module-gpl-only-symbols' (did you mean module-gpl-only-symbol?)");
    const all = await cellctl(['explain', '--json']);
    expect(JSON.parse(all.out).map((c: { code: string }) => c.code)).toEqual(documented.map((c) => c.code));
  });
});

describe('cellctl catalog', () => {
  it('counts the kinds, lists a kind, shows an entry with what runs on what', async () => {
    const kinds = await cellctl(['catalog']);
    expect(kinds.out).toMatch(/kernels\s+13\s+Guest kernels/);
    const kernels = await cellctl(['catalog', 'kernel']); // singular works
    expect(kernels.out).toMatch(/linux-2\.6\.16-xen-3\.0\.2\s+linux 2\.6\.16-xen for Xen 3\.0\.2, debian-etch/);
    const k = await cellctl(['catalog', 'kernels', 'linux-2.6.16-xen-3.0.2']);
    expect(k.out).toContain('force_evtchn_callback EXPORT_SYMBOL_GPL');
    expect(k.out).toMatch(/catalog modules it refuses:\n\s+openafs-1\.4\.2-linux: module-gpl-only-symbol/);
    expect(k.out).toMatch(/source: Seed Example 2/);
    const m = await cellctl(['catalog', 'modules', 'openafs-1.4.2-linux']);
    expect(m.out).toMatch(/loads into:\n\s+linux-2\.6\.16\.29-xen-3\.0\.3/);
    expect(m.out).toContain('not GPL-compatible');
    expect(m.out).toMatch(/client module of:\n\s+openafs-1\.4\.2/);
    const sw = await cellctl(['catalog', 'software', 'arla-0.43', '--json']);
    expect(JSON.parse(sw.out)).toMatchObject({ kind: 'software', id: 'arla-0.43', entry: { roles: ['afs-client'] } });
  });

  it('suggests the nearest kind and id', async () => {
    const kind = await cellctl(['catalog', 'kernals']);
    expect(kind.err).toBe("Error: unknown catalog kind 'kernals' (did you mean kernels?)");
    const id = await cellctl(['catalog', 'os', 'netbsd-3.2']);
    expect(id.code).toBe(1);
    expect(id.err).toMatch(/no operating system 'netbsd-3\.2' in the catalog \(did you mean netbsd-3\.1\?\)/);
  });
});
