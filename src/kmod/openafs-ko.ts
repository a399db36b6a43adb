// openafs.ko for an installed kernel: built once from Debian's openafs-modules-dkms (same version as the
// installed openafs-client), stripped, checked with our own module checker, and cached per
// (openafs version, kernel release) until the headers' Module.symvers changes.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../cache.js';
import { readKo } from './artifacts.js';
import { loadCatalog } from '../catalog/load.js';
import { checkModuleFile } from './check-file.js';
import type { Finding } from '../compat/types.js';
import { resolveHeaders, type KernelHeaders } from './headers.js';
import { acquireLock } from './lock.js';
import { builtModule, exclusiveViolations, fetchSource, installedOpenafsVersion, makeRule, run, SOURCE_PACKAGE } from './openafs-source.js';

export { openafsKoPrerequisites, type Prerequisites } from './prereq.js';

const META_FORMAT = 1;
export const OPENAFS_LICENSE = 'http://www.openafs.org/dl/license10.html';

export interface OpenafsKoOptions {
  kernelRelease?: string; // default: the headers' release (newest installed)
  headersDir?: string; // default: /lib/modules/<rel>/build or /usr/src/linux-headers-<rel>
  log?: (line: string) => void;
  build?: boolean; // false: a missing or stale cache entry throws instead of building
  lockTimeoutMs?: number; // how long to wait for another process building the same entry
}

export interface OpenafsKo {
  ko: string; // <cache>/openafs-ko/<version>/<release>/openafs.ko
  version: string; // Debian version of openafs-client / openafs-modules-dkms
  kernelRelease: string;
  built: boolean; // false: taken from the cache
  seconds: number; // this call's wall time
  vermagic: string;
  buildSeconds: number; // what the cached build took
  headersDir: string;
  meta: string; // path of meta.json
}

export interface OpenafsKoMeta {
  format: number;
  source: { package: string; version: string; makeLine: string; makeLineFrom: 'dkms.conf' | 'fallback'; fallbackWhy?: string };
  kernelRelease: string;
  headersDir: string;
  symversSha256: string;
  buildSeconds: number;
  stepSeconds: Record<string, number>;
  jobs: number;
  koSha256: string;
  koBytes: number;
  unstrippedBytes: number;
  vermagic: string;
  license: string;
  imports: number;
  check: { errors: number; warnings: number; findings: Finding[] };
  builtAt: string;
}

/** A failed step: names it, says where the full log is, and ends with the log's last lines. */
export class OpenafsKoError extends Error {
  constructor(readonly step: string, detail: string, readonly logPath?: string) {
    super(`openafs.ko: step '${step}' failed: ${detail}${logPath ? `\nbuild log: ${logPath}\n${logTail(logPath)}` : ''}`);
    this.name = 'OpenafsKoError';
  }
}

function logTail(path: string, lines = 20): string {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return '(build log unreadable)';
  }
  const all = text.split('\n').filter((l) => l.trim() !== '');
  return `--- last ${Math.min(lines, all.length)} lines of the build log ---\n${all.slice(-lines).join('\n')}`;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

interface Want {
  version: string;
  headers: KernelHeaders;
  symversSha256: string;
}

/** Is the entry in `dir` what we would build now? Every way it can be wrong is a miss, with the reason. */
export function validateEntry(dir: string, want: Want): { ok: true; meta: OpenafsKoMeta } | { ok: false; reason: string } {
  const metaPath = join(dir, 'meta.json');
  const ko = join(dir, 'openafs.ko');
  if (!existsSync(metaPath)) return { ok: false, reason: `no ${metaPath}` };
  let meta: OpenafsKoMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as OpenafsKoMeta;
  } catch (e) {
    return { ok: false, reason: `${metaPath} unreadable: ${(e as Error).message}` };
  }
  if (meta?.format !== META_FORMAT) return { ok: false, reason: `${metaPath} has format ${String(meta?.format)}, want ${META_FORMAT}` };
  if (meta.source?.version !== want.version) return { ok: false, reason: `entry is for openafs ${meta.source?.version}, want ${want.version}` };
  if (meta.kernelRelease !== want.headers.release) return { ok: false, reason: `entry is for kernel ${meta.kernelRelease}, want ${want.headers.release}` };
  if (meta.symversSha256 !== want.symversSha256) {
    return { ok: false, reason: `built against Module.symvers sha256 ${meta.symversSha256}, ${want.headers.symvers} is now ${want.symversSha256}` };
  }
  if (!existsSync(ko)) return { ok: false, reason: `meta.json present but no ${ko}` };
  const koSha = sha256File(ko);
  if (koSha !== meta.koSha256) return { ok: false, reason: `${ko} has sha256 ${koSha}, meta.json says ${meta.koSha256} (corrupt or replaced)` };
  return { ok: true, meta };
}

function result(dir: string, meta: OpenafsKoMeta, built: boolean, t0: number): OpenafsKo {
  return {
    ko: join(dir, 'openafs.ko'),
    version: meta.source.version,
    kernelRelease: meta.kernelRelease,
    built,
    seconds: (performance.now() - t0) / 1000,
    vermagic: meta.vermagic,
    buildSeconds: meta.buildSeconds,
    headersDir: meta.headersDir,
    meta: join(dir, 'meta.json'),
  };
}

/** The cached openafs.ko for the installed openafs-client and kernel headers, building it on a miss. */
export async function ensureOpenafsKo(opts: OpenafsKoOptions = {}): Promise<OpenafsKo> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  let headers: KernelHeaders;
  let version: string;
  try {
    headers = resolveHeaders(opts);
  } catch (e) {
    throw new OpenafsKoError('headers', (e as Error).message);
  }
  try {
    version = await installedOpenafsVersion();
  } catch (e) {
    throw new OpenafsKoError('version', (e as Error).message);
  }
  const want: Want = { version, headers, symversSha256: sha256File(headers.symvers) };
  const dir = cacheDir('openafs-ko', version, headers.release);
  let v = validateEntry(dir, want);
  if (v.ok) return result(dir, v.meta, false, t0);
  if (opts.build === false) throw new OpenafsKoError('cache', `no usable entry in ${dir} and building is off: ${v.reason}`);

  let lock: Awaited<ReturnType<typeof acquireLock>>;
  try {
    lock = await acquireLock(join(dir, '.lock'), {
      timeoutMs: opts.lockTimeoutMs,
      onWait: (h) => log(`openafs.ko: waiting for ${h ? `pid ${h.pid} (since ${h.since})` : 'another process'} building ${dir}`),
    });
  } catch (e) {
    throw new OpenafsKoError('lock', (e as Error).message);
  }
  try {
    v = validateEntry(dir, want); // the process we waited for may have built it
    if (v.ok) return result(dir, v.meta, false, t0);
    log(`openafs.ko: cache miss (${v.reason}); building openafs ${version} for ${headers.release}`);
    const meta = await build(dir, want, log);
    return result(dir, meta, true, t0);
  } finally {
    lock.release();
  }
}

/** Build, check and publish; called holding the entry's lock. Leaves either a full entry or none. */
async function build(dir: string, want: Want, log: (line: string) => void): Promise<OpenafsKoMeta> {
  const { version, headers } = want;
  const metaPath = join(dir, 'meta.json');
  const koPath = join(dir, 'openafs.ko');
  // Stale: remove meta first, so no reader pairs it with a new .ko. Leftover temp files are a dead builder's.
  for (const f of [metaPath, koPath, ...readdirSync(dir).filter((f) => f.endsWith('.tmp')).map((f) => join(dir, f))]) rmSync(f, { force: true });
  const logPath = join(dir, 'build.log');
  writeFileSync(logPath, '');
  const note = (text: string): void => appendFileSync(logPath, text);
  const work = mkdtempSync(join(tmpdir(), 'cellctl-openafs-ko-'));
  const tmpKo = join(dir, `.openafs.ko.${process.pid}.tmp`);
  const tmpMeta = join(dir, `.meta.json.${process.pid}.tmp`);
  const stepSeconds: Record<string, number> = {};
  const t0 = performance.now();
  const step = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const s0 = performance.now();
    note(`\n=== cellctl: step ${name} (${new Date().toISOString()}) ===\n`);
    log(`openafs.ko: ${name}`);
    try {
      return await f();
    } catch (e) {
      if (e instanceof OpenafsKoError) throw e;
      note(`=== cellctl: step ${name} failed: ${(e as Error).message}\n`);
      throw new OpenafsKoError(name, (e as Error).message, logPath);
    } finally {
      stepSeconds[name] = Math.round((performance.now() - s0) / 100) / 10;
    }
  };
  try {
    const src = await step('download+unpack', () => fetchSource(version, work, logPath));
    const rule = await step('dkms.conf', async () => {
      const r = await makeRule(src, headers.release, headers.dir);
      const bad = exclusiveViolations(r.exclusive, headers.config);
      if (bad.length) throw new Error(`dkms.conf BUILD_EXCLUSIVE_CONFIG="${r.exclusive.join(' ')}" excludes these headers (${bad.join(', ')})`);
      note(`MAKE line from ${r.from}${r.why ? ` (${r.why})` : ''}: ${r.line}\n`);
      log(`openafs.ko: MAKE line from ${r.from}${r.why ? ` (${r.why})` : ''}`);
      return r;
    });
    const jobs = availableParallelism();
    // DKMS only adds -j when MAKE starts with "make"; this one is "(./configure ... && make ...)", so say it via MAKEFLAGS.
    await step('build', () => run('bash', ['-c', rule.line], { cwd: src, env: { MAKEFLAGS: `-j${jobs}` }, log: logPath }));
    const unstripped = await step('strip', async () => {
      const built = builtModule(src);
      if (!built) throw new Error(`the MAKE line succeeded but left no openafs.ko in ${src} or src/libafs/MODLOAD-*`);
      await run('strip', ['--strip-debug', '-o', tmpKo, built], { log: logPath });
      return statSync(built).size;
    });
    const checked = await step('check', () => {
      const ko = readKo(tmpKo).module;
      if (!ko.vermagic?.startsWith(`${headers.release} `)) throw new Error(`vermagic '${ko.vermagic ?? '(none)'}' is not for ${headers.release}`);
      if (ko.license !== OPENAFS_LICENSE) throw new Error(`.modinfo license '${ko.license ?? '(none)'}', expected '${OPENAFS_LICENSE}'`);
      const { findings } = checkModuleFile(tmpKo, { symvers: headers.symvers, config: headers.config, licences: loadCatalog().licences });
      const errors = findings.filter((f) => f.severity === 'error');
      note(`check-module: ${ko.imports.length} imports, ${errors.length} errors, ${findings.length - errors.length} warnings\n`);
      for (const f of findings) note(`  ${f.severity} ${f.code}: ${f.message}\n`);
      if (errors.length) throw new Error(`check-module: ${errors.map((f) => `${f.code}: ${f.message}`).join('; ')}`);
      return { ko, findings, errors: errors.length };
    });
    const meta: OpenafsKoMeta = {
      format: META_FORMAT,
      source: { package: SOURCE_PACKAGE, version, makeLine: rule.line, makeLineFrom: rule.from, ...(rule.why ? { fallbackWhy: rule.why } : {}) },
      kernelRelease: headers.release,
      headersDir: headers.dir,
      symversSha256: want.symversSha256,
      buildSeconds: Math.round((performance.now() - t0) / 100) / 10,
      stepSeconds,
      jobs,
      koSha256: sha256File(tmpKo),
      koBytes: statSync(tmpKo).size,
      unstrippedBytes: unstripped,
      vermagic: checked.ko.vermagic ?? '',
      license: checked.ko.license ?? '',
      imports: checked.ko.imports.length,
      check: { errors: checked.errors, warnings: checked.findings.length - checked.errors, findings: checked.findings },
      builtAt: new Date().toISOString(),
    };
    await step('publish', () => {
      writeFileSync(tmpMeta, JSON.stringify(meta, null, 2) + '\n');
      renameSync(tmpKo, koPath); // .ko first: meta.json's arrival is what makes the entry valid
      renameSync(tmpMeta, metaPath);
    });
    note(`=== cellctl: built in ${meta.buildSeconds} s: ${koPath} (${meta.koBytes} bytes, ${unstripped} before strip)\n`);
    log(`openafs.ko: built in ${meta.buildSeconds} s -> ${koPath}`);
    return meta;
  } catch (e) {
    for (const f of [tmpKo, tmpMeta, koPath, metaPath]) {
      try {
        unlinkSync(f);
      } catch {
        /* not there */
      }
    }
    throw e;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
