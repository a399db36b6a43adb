// Out-of-tree modules built so that the running kernel, not modpost, decides whether they load.
// modpost refuses a non-GPL module that imports a GPL-only export even with KBUILD_MODPOST_WARN=1,
// and a module using a namespaced export it does not import; so the build runs against a private
// copy of the headers' build tree whose Module.symvers lists every export as a plain EXPORT_SYMBOL
// with no namespace. The CRCs are unchanged, so the .ko carries the right symbol versions and the
// loader makes its own licence, namespace and unknown-symbol decisions.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from '../cache.js';
import type { KernelHeaders } from './headers.js';

const FORMAT = 'cellctl-lenient-kbuild-1';

/** Module.symvers with every export plain and un-namespaced; CRC, symbol and module columns kept. */
export function lenientSymvers(text: string): string {
  return text.split('\n').map((line) => {
    const f = line.split('\t');
    if (f.length < 4) return line;
    f[3] = 'EXPORT_SYMBOL';
    if (f.length > 4) f[4] = '';
    return f.join('\t');
  }).join('\n');
}

function sha(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The private build tree for these headers (made once, shared by every build). */
export function lenientKbuild(headers: KernelHeaders): string {
  const symvers = readFileSync(headers.symvers);
  const dir = cacheDir('kbuild-lenient', headers.release, sha(Buffer.concat([Buffer.from(FORMAT), Buffer.from(realpathSync(headers.dir)), symvers])));
  const done = join(dir, '.complete');
  if (existsSync(done)) return dir;
  const tmp = (name: string) => join(dir, `.${name}.${process.pid}.tmp`);
  for (const entry of readdirSync(headers.dir)) {
    if (entry === 'Module.symvers') continue;
    // absolute targets: Debian's scripts -> ../../lib/linux-kbuild-6.1/scripts is relative
    const t = tmp(entry);
    rmSync(t, { force: true });
    symlinkSync(realpathSync(join(headers.dir, entry)), t);
    renameSync(t, join(dir, entry));
  }
  writeFileSync(tmp('Module.symvers'), lenientSymvers(symvers.toString('utf8')));
  renameSync(tmp('Module.symvers'), join(dir, 'Module.symvers'));
  writeFileSync(done, `${headers.dir}\n`);
  return dir;
}

export interface LenientBuild {
  ko?: string; // absent when even the lenient build failed (a compile error)
  output: string; // make's stdout + stderr (modpost's warnings are here)
  exitCode: number;
}

/** Builds the module in srcDir (a Kbuild with obj-m := <name>.o) in place. */
export async function buildLenient(srcDir: string, name: string, headers: KernelHeaders): Promise<LenientBuild> {
  const kbuild = lenientKbuild(headers);
  const r = await execa('make', ['-C', kbuild, `M=${srcDir}`, 'KBUILD_MODPOST_WARN=1', 'modules'], { reject: false, all: true, timeout: 300_000 });
  const ko = join(srcDir, `${name}.ko`);
  return { exitCode: r.exitCode ?? 1, output: String(r.all ?? ''), ...(r.exitCode === 0 && existsSync(ko) ? { ko } : {}) };
}
