// Build the test modules under test/modules/<case>/ against the installed kernel headers, at test
// time in a temp dir, and read modpost's verdict from its output. The kernel's build is the oracle.
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LicenceTable } from '../../src/catalog/types.js';

export const MODULES_DIR = fileURLToPath(new URL('.', import.meta.url));

export type BuildEnv = { ok: true; headers: string; common?: string } | { ok: false; reason: string };

function hasTool(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

const usable = (d: string): boolean => ['Module.symvers', '.config', 'Makefile'].every((f) => existsSync(join(d, f)));

/**
 * A Debian-style /usr/src/linux-headers-<ver> with Module.symvers and .config, plus gcc and make.
 * CELLCTL_KERNEL_HEADERS=<dir> picks one explicitly (e.g. a kernel build tree).
 */
export function buildEnv(root = '/usr/src', explicit = process.env.CELLCTL_KERNEL_HEADERS): BuildEnv {
  for (const tool of ['gcc', 'make']) if (!hasTool(tool)) return { ok: false, reason: `no ${tool} on PATH` };
  if (explicit) {
    if (!usable(explicit)) return { ok: false, reason: `CELLCTL_KERNEL_HEADERS=${explicit} lacks Module.symvers, .config or Makefile` };
    return withCommon(explicit);
  }
  const dirs = existsSync(root) ? readdirSync(root).filter((d) => d.startsWith('linux-headers-')) : [];
  const headers = dirs
    .map((d) => join(root, d))
    .filter(usable)
    .sort()
    .reverse()[0];
  if (!headers) return { ok: false, reason: `no ${root}/linux-headers-* with Module.symvers and .config (apt-get install linux-headers-amd64)` };
  return withCommon(headers);
}

function withCommon(headers: string): BuildEnv {
  // Debian splits arch-independent headers into linux-headers-<ver>-common; its Makefile points there.
  const common = readFileSync(join(headers, 'Makefile'), 'utf8').match(/^include\s+(\S+)\/Makefile\s*$/m)?.[1];
  return { ok: true, headers, common: common && existsSync(common) ? common : undefined };
}

export interface Built {
  name: string;
  dir: string;
  exitCode: number;
  output: string; // make's stdout + stderr
  ko?: string;
  o?: string;
  ms: number;
}

function run(dir: string, headers: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('make', ['-C', headers, `M=${dir}`, 'modules'], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Copy each case to a fresh temp dir under `root` and build them, a few at a time (one per CPU). */
export async function buildCases(cases: string[], headers: string, root: string): Promise<Map<string, Built>> {
  const out = new Map<string, Built>();
  const queue = [...cases];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const dir = join(root, name);
      cpSync(join(MODULES_DIR, name), dir, { recursive: true });
      const t0 = performance.now();
      const { code, output } = await run(dir, headers);
      const ko = join(dir, `${name}.ko`);
      const o = join(dir, `${name}.o`);
      out.set(name, {
        name, dir, exitCode: code, output, ms: performance.now() - t0,
        ...(existsSync(ko) ? { ko } : {}), ...(existsSync(o) ? { o } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(cases.length, availableParallelism()) }, worker));
  return out;
}

export interface ModpostVerdict {
  gplOnly: string[]; // ERROR: modpost: GPL-incompatible module X.ko uses GPL-only symbol 'S'
  undefined: string[]; // ERROR: modpost: "S" [path/X.ko] undefined!
  namespaces: string[]; // ERROR: modpost: module X uses symbol S from namespace NS, but does not import it.
  licenceMissing: string[]; // ERROR: modpost: missing MODULE_LICENSE() in path/X.o (module names)
  noSymtab: string[]; // FATAL: modpost: path/X.o has no symtab? (file names)
}

export function parseModpost(output: string): ModpostVerdict {
  const all = (re: RegExp): string[] => [...output.matchAll(re)].map((m) => m[1]).sort();
  return {
    gplOnly: all(/modpost: GPL-incompatible module \S+\.ko uses GPL-only symbol '([^']+)'/g),
    undefined: all(/modpost: "([^"]+)" \[[^\]]+\.ko\] undefined!/g),
    namespaces: all(/modpost: module \S+ uses symbol (\S+) from namespace \S+, but does not import it\./g),
    licenceMissing: all(/modpost: missing MODULE_LICENSE\(\) in \S*?([^/\s]+)\.o\b/g),
    noSymtab: all(/modpost: (\S+) has no symtab\?/g),
  };
}

/**
 * The kernel's own modpost on one object, as kbuild runs it (Makefile.modpost for M= builds:
 * `modpost -m -o OUT -e -i Module.symvers -T -`, the object list on stdin). For objects kbuild would
 * not build itself, such as a stripped one.
 */
export function runModpost(headers: string, object: string, outDir: string): { exitCode: number; output: string } {
  const r = spawnSync(join(headers, 'scripts/mod/modpost'), ['-m', '-o', join(outDir, 'Module.symvers'), '-e', '-i', 'Module.symvers', '-T', '-'], {
    cwd: headers, input: `${object}\n`, encoding: 'utf8',
  });
  return { exitCode: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

/** The kernel's own licence list: license_is_gpl_compatible() in include/linux/license.h. */
export function kernelLicences(env: { headers: string; common?: string }): LicenceTable {
  const file = [env.common, env.headers]
    .filter((d): d is string => d !== undefined)
    .map((d) => join(d, 'include/linux/license.h'))
    .find((f) => existsSync(f));
  if (!file) throw new Error('include/linux/license.h not found in the kernel headers');
  const body = readFileSync(file, 'utf8').match(/license_is_gpl_compatible[\s\S]*?\{([\s\S]*?)\}/)?.[1] ?? '';
  const gpl_compatible = [...body.matchAll(/strcmp\(license,\s*"([^"]*)"\)/g)].map((m) => m[1]);
  if (gpl_compatible.length === 0) throw new Error(`no licences found in ${file}`);
  return { source: file, gpl_compatible };
}
