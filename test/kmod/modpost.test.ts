// cellctl's module verdicts on real modules, built now against the installed kernel headers,
// must agree with what the kernel's own modpost decided for the same files.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelFromArtifacts, moduleFromKo } from '../../src/kmod/artifacts.js';
import { loadCatalog } from '../../src/catalog/load.js';
import { modinfo, parseElf, undefinedSymbols } from '../../src/kmod/elf.js';
import { deriveVermagic, parseKconfig } from '../../src/kmod/kconfig.js';
import type { KernelEntry, LicenceTable } from '../../src/catalog/types.js';
import { checkModuleFile } from '../../src/kmod/check-file.js';
import { checkModuleLoad } from '../../src/kmod/verdict.js';
import type { Finding } from '../../src/compat/types.js';
import { buildCases, buildEnv, kernelLicences, parseModpost, runModpost, type Built } from '../modules/build.js';

const env = buildEnv();
const CASES = ['nongpl_xen', 'gpl_xen', 'nongpl_printk', 'undefined_import', 'ns_missing', 'ns_imported', 'no_licence'];
const title = env.ok ? `kmod vs modpost (${env.headers})` : `kmod vs modpost — SKIPPED: ${env.reason}`;

/** Symbols (or, for a missing licence, modules) a finding names, in the tools' words. */
function named(findings: Finding[], code: string): string[] {
  const msgs = findings.filter((f) => f.code === code).map((f) => f.message).join('\n');
  const re = code === 'module-namespace-not-imported' ? /uses symbol \(([^)]+)\)/g
    : code === 'module-licence-missing' ? /missing MODULE_LICENSE\(\) in (\S+)\.o/g : /: Unknown symbol ([^\s;]+)/g;
  return [...msgs.matchAll(re)].map((m) => m[1]).sort();
}

describe.skipIf(!env.ok)(title, () => {
  const headers = env.ok ? env.headers : '';
  const symvers = join(headers, 'Module.symvers');
  const config = join(headers, '.config');
  let built: Map<string, Built>;
  let licences: LicenceTable;
  const b = (name: string): Built => built.get(name)!;

  const root = mkdtempSync(join(tmpdir(), 'cellctl-kmod-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    if (!env.ok) return;
    licences = kernelLicences(env);
    const t0 = performance.now();
    built = await buildCases(CASES, headers, root);
    const each = [...built.values()].map((x) => `${x.name} ${Math.round(x.ms)}ms`).join(', ');
    console.log(`built ${built.size} modules in ${Math.round(performance.now() - t0)}ms (${each})`);
  }, 900_000); // six kbuild runs: ~30 s on a quiet machine, minutes when the cores are shared

  it('modpost did what each case is there to show (else the oracle proves nothing)', () => {
    const v = (n: string) => parseModpost(b(n).output);
    expect(v('nongpl_xen').gplOnly).toEqual(['xen_features']);
    expect(b('nongpl_xen').ko).toBeUndefined();
    expect(b('nongpl_xen').o).toBeDefined();
    expect(b('gpl_xen').exitCode).toBe(0);
    expect(b('nongpl_printk').exitCode).toBe(0);
    expect(v('undefined_import').undefined).toEqual(['cellctl_no_such_export']);
    expect(v('ns_missing').namespaces).toEqual(['crypto_cipher_setkey']);
    expect(b('ns_imported').exitCode).toBe(0);
    expect(v('no_licence').licenceMissing).toEqual(['no_licence']);
    expect(b('no_licence').ko).toBeUndefined();
  });

  for (const name of CASES) {
    it(`${name}: cellctl's verdict on its .ko (the .o where modpost refused) agrees with modpost`, () => {
      const x = b(name);
      const artifact = x.ko ?? x.o;
      expect(artifact, x.output).toBeDefined();
      const { module, findings } = checkModuleFile(artifact!, { symvers, config, licences });
      const modpost = parseModpost(x.output);
      expect(named(findings, 'module-gpl-only-symbol')).toEqual(modpost.gplOnly);
      expect(named(findings, 'module-unknown-symbol')).toEqual(modpost.undefined);
      expect(named(findings, 'module-namespace-not-imported')).toEqual(modpost.namespaces);
      expect(named(findings, 'module-licence-missing')).toEqual(modpost.licenceMissing);
      const errors = findings.filter((f) => f.severity === 'error');
      expect(errors.length === 0, JSON.stringify(findings, null, 1)).toBe(x.exitCode === 0);
      expect(module.name).toBe(name);
    });
  }

  it("the catalog's licence table (what `cellctl check-module` uses) is the kernel's own list", () => {
    expect([...loadCatalog().licences.gpl_compatible].sort()).toEqual([...licences.gpl_compatible].sort());
  });

  it('words findings like the kernel log and names the licence', () => {
    const { findings } = checkModuleFile(b('nongpl_xen').o!, { symvers, config, licences });
    expect(findings).toHaveLength(1);
    expect(findings[0].message).toContain('nongpl_xen: Unknown symbol xen_features');
    expect(findings[0].message).toContain("'http://www.openafs.org/dl/license10.html'");
    const undef = checkModuleFile(b('undefined_import').o!, { symvers, licences }).findings;
    expect(undef.map((f) => f.code)).toEqual(['module-unknown-symbol']);
    expect(undef[0].message).toMatch(/^undefined_import: Unknown symbol cellctl_no_such_export/);
  });

  it('the weak import nothing exports is accepted, as modpost accepted it', () => {
    const m = moduleFromKo(b('nongpl_printk').ko!);
    expect(m.imports).toContain('cellctl_weak_missing');
    expect(checkModuleFile(b('nongpl_printk').ko!, { symvers, config, licences }).findings).toEqual([]);
  });

  it('reads the same undefined symbols and .modinfo as binutils (readelf)', () => {
    for (const file of [b('gpl_xen').o!, b('gpl_xen').ko!, b('nongpl_xen').o!]) {
      const r = spawnSync('readelf', ['-sW', file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`readelf failed: ${r.stderr}`);
      const want = r.stdout.split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((c) => c[6] === 'UND' && (c[4] === 'GLOBAL' || c[4] === 'WEAK') && c[7])
        .map((c) => c[7]).sort();
      const elf = parseElf(readFileSync(file));
      expect(undefinedSymbols(elf).map((s) => s.name).sort()).toEqual(want);
      expect(want.length).toBeGreaterThan(2);
    }
    const ko = moduleFromKo(b('gpl_xen').ko!);
    expect(ko).toMatchObject({ name: 'gpl_xen', license: 'GPL', kernel_kind: 'linux' });
    expect(ko.imports.sort()).toEqual(['__fentry__', '__x86_return_thunk', '_printk', 'xen_features']);
    const o = moduleFromKo(b('nongpl_xen').o!);
    expect(o).toMatchObject({ name: 'nongpl_xen', license: 'http://www.openafs.org/dl/license10.html' });
    expect(o.vermagic).toBeUndefined(); // modpost adds vermagic in .mod.c; a bare .o has none
  });

  it('derives from .config exactly the vermagic the headers compile into a module', () => {
    const compiled = modinfo(parseElf(readFileSync(b('gpl_xen').ko!))).find(([k]) => k === 'vermagic')?.[1];
    expect(compiled).toMatch(/^\S+ /);
    const kernel = kernelFromArtifacts({ symvers, config });
    expect(kernel.vermagic).toBe(compiled);
    expect(kernel.release).toBe(compiled!.split(' ')[0]);
    expect(kernel.options).toEqual(expect.arrayContaining(['SMP', 'MODULES', 'DEBUG_KERNEL']));
    expect(deriveVermagic(parseKconfig(readFileSync(config, 'utf8')), { release: kernel.release })).toBe(compiled);
    // Every module built here, checked with the .config: vermagic and CRCs match, nothing to report.
    for (const name of ['gpl_xen', 'ns_imported']) {
      expect(checkModuleFile(b(name).ko!, { symvers, config, licences }).findings).toEqual([]);
    }
  });

  it("vermagic as the loader's same_magic(): the release is ignored when the module has __versions, compared when not", () => {
    const src = b('gpl_xen').ko!;
    const vm = moduleFromKo(src).vermagic!;
    const release = vm.split(' ')[0];
    const other = release.replace(/\d(?=\D*$)/, (d) => String((Number(d) + 1) % 10)); // same length: .modinfo stays intact
    const patch = (from: string, to: string, name: string): string => {
      const data = readFileSync(src);
      const at = data.indexOf(from);
      expect(at).toBeGreaterThan(0);
      data.write(to, at, 'latin1');
      const file = join(b('gpl_xen').dir, name);
      writeFileSync(file, data);
      return file;
    };
    // Another release, same CRCs: the 6.1 loader loads it (its CRCs are what it checks).
    const otherRelease = patch(`vermagic=${release}`, `vermagic=${other}`, 'other-release.ko');
    expect(moduleFromKo(otherRelease).modversions).toBe(true);
    expect(checkModuleFile(otherRelease, { symvers, config, licences }).findings).toEqual([]);
    // The same without __versions: the release is compared, and the forced load (module_layout) is said too.
    const bare = join(b('gpl_xen').dir, 'other-release-noversions.ko');
    // Renamed, not removed (symbols refer to it): the loader looks for the section by name.
    const r = spawnSync('objcopy', ['--rename-section', '__versions=__versionX', otherRelease, bare], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { findings } = checkModuleFile(bare, { symvers, config, licences });
    expect(findings.map((f) => f.code)).toEqual(['module-vermagic-mismatch', 'module-modversions-missing']);
    expect(findings[0].message).toContain(`version magic '${vm.replace(release, other)}' should be '${vm}'`);
    expect(findings[1]).toMatchObject({ severity: 'warning', message: 'gpl_xen: module_layout: kernel tainted.' }); // Debian sets CONFIG_MODULE_FORCE_LOAD
    // Past the release the magic must match even with __versions (here: mod_unload -> mod_unloaX).
    const otherFlags = patch('mod_unload', 'mod_unloaX', 'other-flags.ko');
    expect(checkModuleFile(otherFlags, { symvers, config, licences }).findings.map((f) => f.code)).toEqual(['module-vermagic-mismatch']);
    // Without a .config there is no kernel vermagic to compare: no verdict rather than a guess.
    expect(checkModuleFile(otherFlags, { symvers, licences }).findings).toEqual([]);
  });

  it('a stripped object: modpost stops ("has no symtab?") and so does check-module, instead of passing it with no imports', () => {
    // nongpl_xen.o imports the GPL-only xen_features; stripped, nothing shows it any more.
    const dir = join(root, 'stripped');
    mkdirSync(dir, { recursive: true });
    const stripped = join(dir, 'nongpl_xen.o');
    const r = spawnSync('objcopy', ['--strip-all', b('nongpl_xen').o!, stripped], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const modpost = runModpost(headers, stripped, dir);
    expect(modpost.exitCode).not.toBe(0);
    expect(parseModpost(modpost.output).noSymtab).toEqual([stripped]);
    const { findings } = checkModuleFile(stripped, { symvers, config, licences });
    expect(findings.map((f) => [f.code, f.severity])).toEqual([['module-no-symbols', 'error']]);
    expect(findings[0].message).toContain(`modpost: ${stripped} has no symtab?`);
    // The same object unstripped, through the same direct modpost run: the GPL-only import it hid.
    const whole = join(dir, 'whole', 'nongpl_xen.o');
    mkdirSync(join(dir, 'whole'));
    copyFileSync(b('nongpl_xen').o!, whole);
    copyFileSync(join(b('nongpl_xen').dir, 'nongpl_xen.mod'), join(dir, 'whole', 'nongpl_xen.mod'));
    expect(parseModpost(runModpost(headers, whole, join(dir, 'whole')).output).gplOnly).toEqual(['xen_features']);
  });

  it('reports a vermagic mismatch against a catalog kernel (2.6.16-xen)', () => {
    const mod = moduleFromKo(b('gpl_xen').ko!);
    const xen: KernelEntry = {
      id: 'linux-2.6.16-xen', source: 'test', kernel_kind: 'linux', release: '2.6.16-xen', xen: '3.0.2', os: [],
      image: 'vmlinuz-2.6.16-xen', options: [], vermagic: '2.6.16-xen SMP mod_unload 686 ', boot: [],
      exports: Object.fromEntries(mod.imports.map((s) => [s, 'EXPORT_SYMBOL' as const])),
    };
    const findings = checkModuleLoad(mod, xen, licences, 'guest.shea');
    expect(findings.map((f) => f.code)).toEqual(['module-vermagic-mismatch']);
  });

  it('reports a symbol CRC the kernel disagrees about (CONFIG_MODVERSIONS)', () => {
    const copy = join(b('nongpl_printk').dir, 'Module.symvers.other');
    const text = readFileSync(symvers, 'utf8').replace(/^0x[0-9a-f]{8}(\t_printk\t)/m, '0xdeadbeef$1');
    writeFileSync(copy, text);
    const { findings } = checkModuleFile(b('nongpl_printk').ko!, { symvers: copy, licences });
    expect(findings.map((f) => f.code)).toEqual(['module-symbol-version-mismatch']);
    expect(findings[0].message).toBe('nongpl_printk: disagrees about version of symbol _printk');
    copyFileSync(symvers, copy);
    expect(checkModuleFile(b('nongpl_printk').ko!, { symvers: copy, licences }).findings).toEqual([]);
  });
});
