// cellctl's module verdict (check-module) against the real kernel's: the modules under test/modules
// and two licence-less probes, built leniently (so modpost refuses none of them) and insmod'ed in
// one real guest of the headers' kernel. Whether it loads, and which symbols the kernel names, must agree.
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/load.js';
import type { Finding } from '../../../src/compat/types.js';
import { insmod, type InsmodResult } from '../../../src/drivers/qemu/modules.js';
import { prepareBootFiles } from '../../../src/drivers/vm/boot-files.js';
import { startGuest, stopGuest, waitReady, type Guest } from '../../../src/drivers/vm/qemu.js';
import { checkModuleFile } from '../../../src/kmod/check-file.js';
import { resolveHeaders, type KernelHeaders } from '../../../src/kmod/headers.js';
import { buildLenient } from '../../../src/kmod/lenient-build.js';
import { probeModule } from '../../../src/kmod/probe.js';
import { buildEnv, MODULES_DIR } from '../../modules/build.js';
import { cleanUp, qemuEnv, tempDir, title } from './env.js';

const CASES = ['gpl_xen', 'nongpl_xen', 'nongpl_printk', 'undefined_import', 'ns_missing', 'ns_imported'];
// modpost refuses a module without MODULE_LICENSE outright: these two are probes (src/kmod/probe.ts)
const NO_LICENCE = [
  { id: 'no_licence_gpl_only', name: 'no_licence_gpl_only', imports: ['ktime_get'] }, // EXPORT_SYMBOL_GPL
  { id: 'no_licence_plain', name: 'no_licence_plain', imports: ['_printk'] },
];

const build = buildEnv();
const vm = await qemuEnv();
const env = !vm.ok ? vm : build.ok ? vm : { ...vm, ok: false, reason: build.reason };

/** Symbols the findings name, in the kernel's words. */
function named(findings: Finding[]): string[] {
  const msgs = findings.map((f) => f.message).join('\n');
  return [...new Set([...msgs.matchAll(/: Unknown symbol ([^\s;]+)/g), ...msgs.matchAll(/uses symbol \(([^)]+)\)/g)].map((m) => m[1]!))].sort();
}

/** Symbols the kernel refused, from its log: "X: Unknown symbol S (err -2)". */
function refusedByKernel(r: InsmodResult): string[] {
  return [...new Set(r.kernelLog.flatMap((l) => [...l.matchAll(/: Unknown symbol (\S+) \(err -?\d+\)/g)].map((m) => m[1]!)))].sort();
}

describe.skipIf(!env.ok)(title('module verdicts: check-module against the real kernel in a QEMU guest', env), () => {
  let work: string;
  let headers: KernelHeaders;
  let guest: Guest;
  const kos = new Map<string, string>();
  const results = new Map<string, InsmodResult>();
  const licences = loadCatalog().licences;

  beforeAll(async () => {
    work = tempDir('verdicts');
    headers = resolveHeaders(build.ok ? { headersDir: build.headers } : {});
    const boot = await prepareBootFiles();
    expect(boot.kernel.release).toBe(headers.release); // the guest runs the kernel the headers are for
    guest = await startGuest({ name: 'verdicts', dir: join(work, 'guest'), kernel: boot.kernel.boot, initrd: boot.initramfs.path, memoryMiB: 128 });
    // all cases in one kbuild run (one make start-up instead of six)
    const dir = join(work, 'cases');
    mkdirSync(dir);
    for (const c of CASES) cpSync(join(MODULES_DIR, c, `${c}.c`), join(dir, `${c}.c`));
    writeFileSync(join(dir, 'Kbuild'), `obj-m := ${CASES.map((c) => `${c}.o`).join(' ')}\n`);
    const builds = buildLenient(dir, CASES[0]!, headers).then((b) => {
      for (const c of CASES) {
        if (!existsSync(join(dir, `${c}.ko`))) throw new Error(`${c}: lenient build failed:\n${b.output}`);
        kos.set(c, join(dir, `${c}.ko`));
      }
    });
    const probes = Promise.all(NO_LICENCE.map(async (m) => kos.set(m.name, (await probeModule(m, headers)).ko)));
    await Promise.all([builds, probes, waitReady(guest, 180_000)]);
    for (const name of [...CASES, ...NO_LICENCE.map((m) => m.name)]) results.set(name, await insmod(guest.agent, kos.get(name)!, `verdict test ${name}`));
  }, 600_000);

  afterAll(async () => {
    if (guest) await stopGuest(guest).catch(() => undefined);
    await cleanUp(work, work);
  }, 60_000);

  it('the kernel did what each case is there to show (else the comparison proves nothing)', () => {
    const loaded = [...results].filter(([, r]) => r.loaded).map(([n]) => n).sort();
    expect(loaded).toEqual(['gpl_xen', 'no_licence_plain', 'nongpl_printk', 'ns_imported']);
    expect(refusedByKernel(results.get('nongpl_xen')!)).toEqual(['xen_features']);
    expect(refusedByKernel(results.get('undefined_import')!)).toEqual(['cellctl_no_such_export']);
    expect(refusedByKernel(results.get('no_licence_gpl_only')!)).toEqual(['ktime_get']);
    expect(results.get('ns_missing')!.kernelLog.join('\n')).toContain('ns_missing: module uses symbol (crypto_cipher_setkey) from namespace CRYPTO_INTERNAL, but does not import it.');
  });

  for (const name of [...CASES, ...NO_LICENCE.map((m) => m.name)]) {
    it(`${name}: check-module's verdict is the kernel's`, () => {
      const r = results.get(name)!;
      const { findings } = checkModuleFile(kos.get(name)!, { symvers: headers.symvers, config: headers.config, licences });
      // modpost's refusal of a missing licence is not the loader's: it loads such a module as 'unspecified' (tainted).
      const errors = findings.filter((f) => f.severity === 'error' && f.code !== 'module-licence-missing');
      const log = r.kernelLog.join('\n');
      expect(errors.length === 0, `check-module: ${JSON.stringify(errors)}\nkernel: ${log}\ninsmod: ${r.insmod}`).toBe(r.loaded);
      expect(named(errors), log).toEqual(refusedByKernel(r));
      for (const f of errors.filter((e) => e.code === 'module-namespace-not-imported')) expect(log).toContain(f.message);
    });
  }
});
