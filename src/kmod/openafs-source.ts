// The OpenAFS kernel module's source: Debian's openafs-modules-dkms of the installed openafs-client's
// version, unpacked without DKMS, and the build command its dkms.conf gives.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { machine } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export const SOURCE_PACKAGE = 'openafs-modules-dkms';
export const CLIENT_PACKAGE = 'openafs-client';

/** Where a step's output goes: the build log, appended to (O_APPEND, so our own notes interleave safely). */
export type LogPath = string;

/** Run a command with its output appended to the log; a non-zero exit throws naming the command. */
export async function run(cmd: string, args: string[], o: { cwd?: string; env?: Record<string, string>; log: LogPath }): Promise<void> {
  const r = await execa(cmd, args, { cwd: o.cwd, env: o.env, stdin: 'ignore', stdout: { file: o.log, append: true }, stderr: { file: o.log, append: true }, reject: false });
  if (r.exitCode !== 0) {
    const why = r.exitCode === undefined ? (r.signal ? `killed by ${r.signal}` : r.shortMessage) : `exited with code ${r.exitCode}`;
    throw new Error(`${cmd} ${args.map((a) => (/^[\w./=:+-]+$/.test(a) ? a : `'${a}'`)).join(' ')} ${why}`);
  }
}

/** The installed openafs-client's Debian version ("1.8.9-1+deb12u1"); throws if it isn't installed. */
export async function installedOpenafsVersion(): Promise<string> {
  const r = await execa('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}\t${Version}', CLIENT_PACKAGE], { reject: false });
  const [status, version] = r.stdout.split('\t');
  if (r.exitCode !== 0 || !status?.startsWith('ii') || !version) {
    throw new Error(`${CLIENT_PACKAGE} is not installed (dpkg-query: ${(r.stderr || status || 'no status').trim()})`);
  }
  return version;
}

/** Debian version -> upstream: drop the epoch ("1:") and the Debian revision (last "-..."). */
export function upstreamVersion(debian: string): string {
  const noEpoch = debian.replace(/^\d+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  return dash > 0 ? noEpoch.slice(0, dash) : noEpoch;
}

export interface AptSource {
  uri: string;
  file: string;
  size: number;
  sha256: string;
}

/** What apt would download for openafs-modules-dkms=<version>, or undefined when its lists don't have it. */
export async function aptSource(version: string): Promise<AptSource | undefined> {
  const r = await execa('apt-get', ['download', '--print-uris', `${SOURCE_PACKAGE}=${version}`], { reject: false });
  const m = r.stdout.match(/^'([^']+)'\s+(\S+)\s+(\d+)\s+SHA256:([0-9a-f]+)/m);
  if (r.exitCode !== 0 || !m) return undefined;
  return { uri: m[1], file: m[2], size: Number(m[3]), sha256: m[4] };
}

/** apt-get download (apt checks the hash against its signed lists) + dpkg-deb -x; returns usr/src/openafs-<upstream>. */
export async function fetchSource(version: string, work: string, log: LogPath): Promise<string> {
  await run('apt-get', ['download', `${SOURCE_PACKAGE}=${version}`], { cwd: work, log });
  const debs = readdirSync(work).filter((f) => f.startsWith(`${SOURCE_PACKAGE}_`) && f.endsWith('.deb'));
  if (debs.length !== 1) throw new Error(`expected one ${SOURCE_PACKAGE} .deb in ${work}, found ${debs.length}`);
  const root = join(work, 'root');
  await run('dpkg-deb', ['-x', join(work, debs[0]), root], { log });
  const src = join(root, 'usr/src', `openafs-${upstreamVersion(version)}`);
  if (!existsSync(join(src, 'configure'))) {
    const have = existsSync(join(root, 'usr/src')) ? readdirSync(join(root, 'usr/src')).join(', ') : 'no usr/src';
    throw new Error(`${SOURCE_PACKAGE} ${version} has no ${src}/configure (usr/src holds: ${have})`);
  }
  return src;
}

export interface MakeRule {
  line: string; // a shell command run in the source dir
  from: 'dkms.conf' | 'fallback';
  why?: string; // why the fallback was used
  exclusive: string[]; // BUILD_EXCLUSIVE_CONFIG, e.g. ["!CONFIG_PREEMPT_RT"]
}

/** The line measured to work (REAL-VM.md), for a source whose dkms.conf can't be read. x86_64 only. */
export function fallbackMakeLine(headersDir: string): string {
  return (
    './configure --disable-linux-syscall-probing --with-afs-sysname=amd64_linux26 --with-linux-kernel-packaging ' +
    `--with-linux-kernel-headers=${headersDir} && make`
  );
}

/**
 * MAKE[0] from dkms.conf, evaluated the way DKMS does it: the file is a shell fragment sourced with
 * kernelver, kernel_source_dir and arch set (its AFS_SYSNAME is computed from kernelver).
 */
export async function makeRule(src: string, release: string, headersDir: string): Promise<MakeRule> {
  const conf = join(src, 'dkms.conf');
  const fallback = (why: string): MakeRule => ({ line: fallbackMakeLine(headersDir), from: 'fallback', why, exclusive: [] });
  if (!existsSync(conf)) return fallback(`${conf} not found`);
  const script =
    'kernelver=$1 kernel_source_dir=$2 arch=$3 dkms_tree=/var/lib/dkms source_tree=/usr/src; ' +
    '. ./dkms.conf >/dev/null 2>&1 || exit 3; printf "%s\\0%s" "${MAKE[0]-}" "${BUILD_EXCLUSIVE_CONFIG-}"';
  const r = await execa('bash', ['-c', script, 'dkms.conf', release, headersDir, machine()], { cwd: src, reject: false });
  if (r.exitCode !== 0) return fallback(`sourcing ${conf} failed (exit ${r.exitCode})`);
  const [line, exclusive] = r.stdout.split('\0');
  if (!line?.trim()) return fallback(`${conf} sets no MAKE[0]`);
  return { line: line.replace(/\s+/g, ' ').trim(), from: 'dkms.conf', exclusive: (exclusive ?? '').split(/\s+/).filter(Boolean) };
}

/** BUILD_EXCLUSIVE_CONFIG against the headers' .config: what DKMS would refuse to build, or [] if fine/unknown. */
export function exclusiveViolations(exclusive: string[], config: string | undefined): string[] {
  if (exclusive.length === 0 || config === undefined) return [];
  const text = readFileSync(config, 'utf8');
  const on = (opt: string): boolean => new RegExp(`^${opt}=[ym]$`, 'm').test(text);
  return exclusive.filter((e) => /^!?CONFIG_\w+$/.test(e) && (e.startsWith('!') ? on(e.slice(1)) : !on(e)));
}

/** The built module: dkms.conf's MAKE line moves it to the top; a plain make leaves it in MODLOAD-*. */
export function builtModule(src: string): string | undefined {
  const top = join(src, 'openafs.ko');
  if (existsSync(top)) return top;
  const libafs = join(src, 'src/libafs');
  const dirs = existsSync(libafs) ? readdirSync(libafs).filter((d) => d.startsWith('MODLOAD-')) : [];
  return dirs.map((d) => join(libafs, d, 'openafs.ko')).find((p) => existsSync(p));
}
