// Probe modules and lenient builds: a real .ko with a catalog entry's name, licence and imports,
// built even where modpost would refuse it, so the running kernel is the judge.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { readKo } from '../../src/kmod/artifacts.js';
import { checkModuleFile } from '../../src/kmod/check-file.js';
import { resolveHeaders } from '../../src/kmod/headers.js';
import { lenientSymvers } from '../../src/kmod/lenient-build.js';
import { probeModule, probeSource } from '../../src/kmod/probe.js';
import { buildEnv } from '../modules/build.js';

const env = buildEnv();
const catalog = loadCatalog();
const openafs142 = catalog.modules.get('openafs-1.4.2-linux')!;

describe('probe sources and lenient Module.symvers', () => {
  it('lists every export as a plain EXPORT_SYMBOL without namespace, CRCs and modules kept', () => {
    const text = '0x4b931968\txen_features\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x669aff23\tcrypto_cipher_setkey\tvmlinux\tEXPORT_SYMBOL_GPL\tCRYPTO_INTERNAL\n0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n';
    expect(lenientSymvers(text)).toBe('0x4b931968\txen_features\tvmlinux\tEXPORT_SYMBOL\t\n0x669aff23\tcrypto_cipher_setkey\tvmlinux\tEXPORT_SYMBOL\t\n0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n');
  });

  it('references each import from assembly (no C declaration to clash with the headers) and carries the licence', () => {
    const src = probeSource(openafs142);
    for (const s of openafs142.imports) expect(src).toContain(`\\t.quad ${s}\\n`);
    expect(src).toContain('MODULE_LICENSE("http://www.openafs.org/dl/license10.html");');
    expect(probeSource({ ...openafs142, license: 'say "hi"\\' })).toContain('MODULE_LICENSE("say \\"hi\\"\\\\");');
  });

  it('refuses names no module or symbol could have', () => {
    expect(() => probeSource({ ...openafs142, name: 'open afs' })).toThrow(/cannot be a Linux module name/);
    expect(() => probeSource({ ...openafs142, imports: ['ok', 'no-way', '1x'] })).toThrow(/no-way, 1x cannot be C symbol names/);
  });
});

describe.skipIf(!env.ok)(`probe modules built against the installed headers${env.ok ? '' : ` — SKIPPED: ${env.reason}`}`, () => {
  const headers = env.ok ? resolveHeaders({ headersDir: env.headers }) : undefined!;

  it("builds the seed's openafs 1.4.2 probe though modpost would refuse it, with exactly the catalog's imports", async () => {
    const p = await probeModule(openafs142, headers);
    const ko = readKo(p.ko).module;
    expect(ko).toMatchObject({ name: 'openafs', license: openafs142.license });
    expect(ko.vermagic?.startsWith(`${headers.release} `)).toBe(true);
    // plus what the compiler adds to every module (ftrace and return-thunk calls of init/exit)
    expect(ko.imports.filter((s) => !['__fentry__', '__x86_return_thunk'].includes(s)).sort()).toEqual([...openafs142.imports].sort());
    // check-module judges the probe against the real Module.symvers as the kernel will
    const { findings } = checkModuleFile(p.ko, { symvers: headers.symvers, licences: catalog.licences });
    expect(findings.map((f) => f.code).sort()).toEqual(['module-gpl-only-symbol', 'module-unknown-symbol']);
    expect(findings.find((f) => f.code === 'module-gpl-only-symbol')!.message).toContain('openafs: Unknown symbol xen_features');
    const again = await probeModule(openafs142, headers);
    expect(again).toMatchObject({ ko: p.ko, built: false });
  }, 300_000);

  it('a probe without a licence has none in .modinfo (modpost would refuse to build it at all)', async () => {
    const p = await probeModule({ id: 'no-licence-probe', name: 'no_licence_probe', imports: ['_printk'] }, headers);
    const ko = readKo(p.ko).module;
    expect(ko.license).toBeUndefined();
    expect(readFileSync(p.ko).includes('license=')).toBe(false);
  }, 300_000);
});
