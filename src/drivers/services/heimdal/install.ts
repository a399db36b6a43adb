// Debian's Heimdal 7.8 beside MIT krb5: heimdal-kdc conflicts with krb5-kdc/krb5-admin-server and
// heimdal-clients (kadmin, ktutil) with krb5-user, so both are `apt-get download`ed and unpacked into a
// private prefix in the cache. The shared libraries conflict with nothing: installed ones are used, missing
// ones are unpacked into the prefix too (LD_LIBRARY_PATH), so a machine without them still works.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cacheDir, cacheRoot } from '../../../cache.js';
import { must, run, runSync, which } from './run.js';

/** Unpacked, never installed: each conflicts with an MIT package the project needs. */
export const HEIMDAL_UNPACKED = ['heimdal-kdc', 'heimdal-clients'] as const;

/** Every Heimdal library the two packages need (apt-cache depends, bookworm); none conflicts with MIT. */
export const HEIMDAL_LIBS = [
  'libasn1-8-heimdal', 'libgssapi3-heimdal', 'libhcrypto5-heimdal', 'libhdb9-heimdal', 'libheimbase1-heimdal',
  'libheimntlm0-heimdal', 'libhx509-5-heimdal', 'libkadm5clnt7-heimdal', 'libkadm5srv8-heimdal', 'libkafs0-heimdal',
  'libkdc2-heimdal', 'libkrb5-26-heimdal', 'libotp0-heimdal', 'libroken19-heimdal', 'libsl0-heimdal', 'libwind0-heimdal',
] as const;

export interface HeimdalPrerequisites {
  ok: boolean;
  reason: string;
  /** Debian version all packages must share (the installed libraries', else apt's candidate). */
  version?: string;
  packages: {
    install: string[]; // what CI should apt-get install (all conflict-free)
    download: string[]; // what ensureHeimdal apt-get downloads and unpacks: the two above plus `missing`
    missing: string[]; // libraries not installed now: unpacked into the prefix (LD_LIBRARY_PATH) instead
  };
  commands: { install: string; download: string };
  /** The unpacked prefix when it is already in the cache. */
  cached?: string;
}

export interface HeimdalInstall {
  prefix: string;
  packageVersion: string;
  /** What the binaries print: `kdc --version` -> "Heimdal 7.8.0". */
  version: string;
  bin: {
    kdc: string; kadmind: string; kpasswdd: string; kstash: string; hprop: string; hpropd: string;
    iprop_log: string; ipropd_master: string; ipropd_slave: string;
    kadmin: string; ktutil: string; kinit: string; kgetcred: string; kdestroy: string; heimtools: string;
  };
  /** For every Heimdal command: LD_LIBRARY_PATH when libraries were unpacked, else empty. */
  env: Record<string, string>;
  bundled: string[];
  /** True when this call downloaded and unpacked, false when the cache had it. */
  fresh: boolean;
}

function installedVersions(pkgs: readonly string[]): Map<string, string> {
  const r = runSync('dpkg-query', ['-W', '-f', '${Package} ${db:Status-Abbrev} ${Version}\n', ...pkgs]);
  const m = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [name, status, version] = line.trim().split(/\s+/);
    if (name && status === 'ii' && version) m.set(name.replace(/:.*$/, ''), version);
  }
  return m;
}

function candidateVersion(pkg: string): string | undefined {
  const m = /Candidate:\s*(\S+)/.exec(runSync('apt-cache', ['policy', pkg]).stdout);
  return m && m[1] !== '(none)' ? m[1] : undefined;
}

/** Where the prefix for version lives: one per set of unpacked libraries, so installing or removing them later is safe. */
function prefixDir(version: string, libs: string[]): string {
  const name = libs.length ? `root-libs-${createHash('sha256').update(libs.join(' ')).digest('hex').slice(0, 8)}` : 'root';
  return join(cacheRoot(), 'heimdal', version, name);
}

/** What is there and what is missing. askApt=false skips the (slow, ~1 s) check that apt can serve the downloads. */
export function heimdalPrerequisites(o: { askApt?: boolean } = {}): HeimdalPrerequisites {
  const install = [...HEIMDAL_LIBS];
  const download = [...HEIMDAL_UNPACKED];
  const commands = {
    install: `apt-get install -y --no-install-recommends ${install.join(' ')}`,
    download: `apt-get download ${download.join(' ')}`,
  };
  const base = { packages: { install, download, missing: [] as string[] }, commands };
  const tools = ['apt-get', 'apt-cache', 'dpkg-deb', 'dpkg-query', 'ldd'].filter((t) => !which(t));
  if (tools.length) return { ok: false, reason: `not a Debian system with apt: ${tools.join(', ')} missing`, ...base };
  const have = installedVersions(HEIMDAL_LIBS);
  // One source package builds them all: an installed one (openafs-client pulls libkrb5-26-heimdal) fixes the version.
  const version = have.get('libkdc2-heimdal') ?? [...have.values()][0] ?? candidateVersion('heimdal-kdc');
  if (!version) return { ok: false, reason: 'apt knows no heimdal-kdc (run apt-get update)', ...base };
  const missing = HEIMDAL_LIBS.filter((p) => have.get(p) !== version);
  const dl = [...HEIMDAL_UNPACKED, ...missing];
  const out = { version, packages: { install, download: dl, missing }, commands: { ...commands, download: `apt-get download ${dl.map((p) => `${p}=${version}`).join(' ')}` } };
  const cached = prefixDir(version, missing);
  if (existsSync(join(cached, '.cellctl-heimdal.json'))) return { ok: true, reason: `unpacked in ${cached}`, cached, ...out };
  const shown = o.askApt === false ? '' : runSync('apt-cache', ['show', ...dl.map((p) => `${p}=${version}`)]).stdout;
  const known = new Set([...shown.matchAll(/^Package: (\S+)/gm)].map((m) => m[1]));
  const unknown = o.askApt === false ? [] : dl.filter((p) => !known.has(p));
  if (unknown.length) return { ok: false, reason: `apt has no ${unknown.join(', ')} at ${version} (run apt-get update)`, ...out };
  const how = missing.length ? `; libraries not installed, unpacked too: ${missing.join(' ')}` : '';
  return { ok: true, reason: `will download and unpack ${HEIMDAL_UNPACKED.join(', ')} ${version}${how}`, ...out };
}

const BIN = {
  kdc: 'usr/lib/heimdal-servers/kdc', kadmind: 'usr/lib/heimdal-servers/kadmind', kpasswdd: 'usr/lib/heimdal-servers/kpasswdd',
  kstash: 'usr/sbin/kstash', hprop: 'usr/sbin/hprop', hpropd: 'usr/sbin/hpropd', iprop_log: 'usr/sbin/iprop-log',
  ipropd_master: 'usr/sbin/ipropd-master', ipropd_slave: 'usr/sbin/ipropd-slave',
  kadmin: 'usr/bin/kadmin.heimdal', ktutil: 'usr/bin/ktutil.heimdal', kinit: 'usr/bin/kinit.heimdal',
  kgetcred: 'usr/bin/kgetcred', kdestroy: 'usr/bin/kdestroy.heimdal', heimtools: 'usr/bin/heimtools',
} as const;

interface Meta { packageVersion: string; bundled: string[]; libDir?: string }

function envOf(prefix: string, meta: Meta): Record<string, string> {
  return meta.libDir ? { LD_LIBRARY_PATH: join(prefix, meta.libDir) } : {};
}

async function inspect(prefix: string, meta: Meta, fresh: boolean): Promise<HeimdalInstall> {
  const bin = Object.fromEntries(Object.entries(BIN).map(([k, p]) => [k, join(prefix, p)])) as HeimdalInstall['bin'];
  const env = envOf(prefix, meta);
  const r = await run(bin.kdc, ['--version'], { env });
  const m = /\((Heimdal [^)]+)\)/.exec(`${r.stdout}\n${r.stderr}`);
  if (!m) throw new Error(`${bin.kdc} --version printed no Heimdal version (exit ${r.code}): ${r.stderr.slice(0, 300)}`);
  return { prefix, packageVersion: meta.packageVersion, version: m[1]!, bin, env, bundled: meta.bundled, fresh };
}

/** Libraries the dynamic loader cannot find for our binaries (with the prefix's env). */
async function unresolved(prefix: string, env: Record<string, string>): Promise<string[]> {
  const r = await run('ldd', Object.values(BIN).map((p) => join(prefix, p)), { env });
  return [...new Set([...r.stdout.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!))];
}

/**
 * Downloads and unpacks Heimdal once per Debian version (and set of unpacked libraries) under cacheDir('heimdal', version).
 * Concurrency safe across processes: each builds in its own temp dir and renames it into place; a loser of
 * the race drops its copy and uses the winner's.
 */
export async function ensureHeimdal(): Promise<HeimdalInstall> {
  const pre = heimdalPrerequisites({ askApt: false }); // apt-get download says it if apt cannot serve them
  if (!pre.ok || !pre.version) throw new Error(`Heimdal unavailable: ${pre.reason}`);
  const version = pre.version;
  const final = prefixDir(version, pre.packages.missing);
  const metaFile = (root: string) => join(root, '.cellctl-heimdal.json');
  const load = (root: string) => JSON.parse(readFileSync(metaFile(root), 'utf8')) as Meta;
  if (existsSync(metaFile(final))) return inspect(final, load(final), false);

  const tmp = mkdtempSync(join(cacheDir('heimdal', version), '.tmp-'));
  try {
    const debs = join(tmp, 'debs');
    const root = join(tmp, 'root');
    mkdirSync(debs);
    const bundled = pre.packages.missing;
    // Root's download into a root-owned dir: no _apt sandbox (it could not write there).
    await must('apt-get', ['-q', '-o', 'APT::Sandbox::User=root', 'download', ...[...HEIMDAL_UNPACKED, ...bundled].map((p) => `${p}=${version}`)], { cwd: debs, timeoutMs: 300_000 });
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) await must('dpkg-deb', ['-x', join(debs, deb), root]);
    const libDir = bundled.length ? readdirSync(join(root, 'usr/lib')).find((d) => d.endsWith('-linux-gnu')) : undefined;
    const meta: Meta = { packageVersion: version, bundled, ...(libDir ? { libDir: join('usr/lib', libDir) } : {}) };
    const notFound = await unresolved(root, envOf(root, meta));
    if (notFound.length) throw new Error(`unpacked Heimdal ${version} cannot load ${notFound.join(', ')} (install its dependencies: ${pre.commands.install})`);
    writeFileSync(metaFile(root), JSON.stringify(meta));
    let won = true;
    try {
      renameSync(root, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      won = false; // another process finished first: use its copy
    }
    return await inspect(final, load(final), won);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
