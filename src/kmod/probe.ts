// A probe module: a real .ko with a catalog module's name, MODULE_LICENSE string and imports and
// nothing else, so a running kernel can judge a module whose real build does not exist here
// ("openafs: Unknown symbol xen_features (err -2)" from the kernel itself). The imports are
// referenced from assembly, so no C declaration has to match the kernel's own. Cached by content.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../cache.js';
import type { ModuleEntry } from '../catalog/types.js';
import type { KernelHeaders } from './headers.js';
import { buildLenient } from './lenient-build.js';
import { acquireLock } from './lock.js';

const FORMAT = 'cellctl-probe-1';
// modpost refuses a module without MODULE_LICENSE outright (6.1: an error even with
// KBUILD_MODPOST_WARN), so a licence-less probe is built with this one, then its .modinfo key is
// renamed in place (same length): the kernel then finds no licence, as it would in such a module.
const NO_LICENSE = 'cellctl-no-license';
const NO_LICENSE_FROM = `license=${NO_LICENSE}\0`;
const NO_LICENSE_TO = 'cellctl_probe='.padEnd(NO_LICENSE_FROM.length - 1, '_') + '\0';
const SYMBOL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME = /^[A-Za-z0-9_]{1,55}$/; // MODULE_NAME_LEN is 56 with the NUL

function cString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}""`)}"`;
}

/** The probe's C source; throws on a name or symbol no module could have. */
export function probeSource(m: Pick<ModuleEntry, 'id' | 'name' | 'license' | 'imports'>): string {
  if (!NAME.test(m.name)) throw new Error(`module ${m.id}: '${m.name}' cannot be a Linux module name`);
  const bad = m.imports.filter((s) => !SYMBOL.test(s));
  if (bad.length) throw new Error(`module ${m.id}: ${bad.join(', ')} cannot be C symbol names`);
  const refs = m.imports.map((s) => `\t"\\t.quad ${s}\\n"`).join('\n');
  return [
    `// cellctl probe of catalog module ${m.id}: its licence and imports, nothing else (generated).`,
    '#include <linux/module.h>',
    '',
    'asm(".pushsection .rodata.cellctl_probe, \\"a\\"\\n"',
    '\t"\\t.balign 8\\n"',
    ...(refs ? [refs] : []),
    '\t"\\t.popsection\\n");',
    '',
    `static int __init cellctl_probe_init(void) { return 0; }`,
    `static void __exit cellctl_probe_exit(void) { }`,
    'module_init(cellctl_probe_init);',
    'module_exit(cellctl_probe_exit);',
    `MODULE_LICENSE(${cString(m.license ?? NO_LICENSE)});`,
    `MODULE_DESCRIPTION(${cString(`cellctl probe: licence and imports of ${m.id}`)});`,
    '',
  ].join('\n');
}

/** Renames the placeholder licence's .modinfo key (the only place those bytes occur). */
function dropLicense(ko: string): void {
  const b = readFileSync(ko);
  const at = b.indexOf(NO_LICENSE_FROM, 0, 'latin1');
  if (at < 0 || b.indexOf(NO_LICENSE_FROM, at + 1, 'latin1') >= 0) throw new Error(`${ko}: placeholder licence not found exactly once`);
  b.write(NO_LICENSE_TO, at, 'latin1');
  writeFileSync(ko, b);
}

export interface Probe {
  ko: string;
  name: string;
  built: boolean; // false: from the cache
  buildOutput: string; // make's output when built (modpost's warnings: undefined symbols)
}

/** The probe .ko of `m` for these headers, built on a cache miss. */
export async function probeModule(m: Pick<ModuleEntry, 'id' | 'name' | 'license' | 'imports'>, headers: KernelHeaders): Promise<Probe> {
  const source = probeSource(m);
  const key = createHash('sha256').update(FORMAT).update(source).update(headers.release).update(readFileSync(headers.symvers)).digest('hex').slice(0, 16);
  const dir = cacheDir('probe-ko', headers.release, key);
  const ko = join(dir, `${m.name}.ko`);
  if (existsSync(ko)) return { ko, name: m.name, built: false, buildOutput: '' };
  const lock = await acquireLock(join(dir, '.lock'), { timeoutMs: 10 * 60_000 });
  const work = mkdtempSync(join(tmpdir(), 'cellctl-probe-'));
  try {
    if (existsSync(ko)) return { ko, name: m.name, built: false, buildOutput: '' };
    writeFileSync(join(work, 'Kbuild'), `obj-m := ${m.name}.o\n`);
    writeFileSync(join(work, `${m.name}.c`), source);
    const b = await buildLenient(work, m.name, headers);
    if (!b.ko) throw new Error(`probe of ${m.id}: build failed (exit ${b.exitCode}):\n${b.output.trim().split('\n').slice(-15).join('\n')}`);
    copyFileSync(join(work, `${m.name}.c`), join(dir, `${m.name}.c`));
    copyFileSync(b.ko, `${ko}.tmp`);
    if (m.license === undefined) dropLicense(`${ko}.tmp`);
    renameSync(`${ko}.tmp`, ko);
    return { ko, name: m.name, built: true, buildOutput: b.output };
  } finally {
    lock.release();
    rmSync(work, { recursive: true, force: true });
  }
}
