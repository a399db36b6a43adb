// A libvirtd of cellctl's own, for one cell host on this machine: started inside the host's network
// namespace (so the taps it makes for its guests sit next to the host's bridges) and inside a private
// mount namespace where its directories are bind-mounted over libvirt's fixed ones:
//   <dir>/etc -> /etc/libvirt (qemu.conf: the QEMU driver reads only that path)   <dir>/run -> /run/libvirt
//   <dir>/lib -> /var/lib/libvirt   <dir>/log -> /var/log/libvirt   the shared capability cache -> /var/cache/libvirt
// so several run side by side (each QEMU driver locks its own /run/libvirt/qemu) and nothing of the
// system's libvirt configuration is read or written. Its sockets are in <dir> (unix_sock_dir); connect
// with qemu:///system?socket=<dir>/libvirt-sock. No systemd, no virtlogd (stdio_handler = "file").
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from '../../cache.js';

export const MARKER = 'cellctl-libvirtd.json'; // in <dir>: cellctl made this directory and runs the daemon in it
const SOCKET = 'libvirt-sock';
const LONGEST_SOCKET = 'libvirt-admin-sock';
const SUN_PATH_MAX = 107;
const MOUNTS: [string, string][] = [['etc', '/etc/libvirt'], ['run', '/run/libvirt'], ['lib', '/var/lib/libvirt'], ['log', '/var/log/libvirt']];
const CACHE_MOUNT = '/var/cache/libvirt';
const READY_TIMEOUT_MS = 90_000; // the first start on a machine probes QEMU's capabilities (~4-8 s here; more on a busy TCG host)
const STOP_TIMEOUT_MS = 15_000;

// QEMU runs as root (it opens the cell's files wherever the state is); no cgroup placement (no systemd here); its
// stdio goes to a file, not virtlogd; no DAC relabelling (root needs none, and remembering owners
// leaves xattrs on the shared kernel and initramfs files).
const QEMU_CONF = `# written by cellctl (src/drivers/libvirt/libvirtd.ts)
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
`;

export interface LibvirtdSpec {
  dir: string; // the daemon's own directory (its sockets too: keep it short, a socket path holds 107 bytes)
  netns?: string; // run inside this network namespace
  hostUuid: string; // libvirt's host UUID: two daemons must differ, or migration between them is refused as "to the same host"
  capsCache?: string; // QEMU capability cache (default: cellctl's, shared by its daemons; a new one makes a cold start)
}

export interface Libvirtd {
  dir: string;
  socket: string;
  uri: string;
  pid: number;
  netns?: string;
}

export function socketOf(dir: string): string {
  return join(resolve(dir), SOCKET);
}

export function libvirtdUri(socket: string): string {
  return `qemu:///system?socket=${socket}`;
}

/** A UUID libvirt accepts as host_uuid, the same for the same key. */
export function hostUuidFor(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Was this directory made by cellctl for a libvirtd? */
export function isOurs(dir: string): boolean {
  return existsSync(join(dir, MARKER));
}

function markerOf(dir: string): { made?: string } {
  try {
    return JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as { made?: string };
  } catch {
    return {};
  }
}

function readPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'libvirtd.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The daemon's pid if it runs (and is still the libvirtd of this directory: pids get reused). */
export function libvirtdPid(dir: string): number | undefined {
  const pid = readPid(dir);
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(join(resolve(dir), 'libvirtd.conf')) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await execa(cmd, args, { reject: false, all: true, env: { LC_ALL: 'C' } });
  return { code: r.exitCode ?? -1, out: String(r.all ?? '').trim() };
}

/**
 * The QEMU driver resolves its compiled-in user and group (libvirt-qemu) before it reads qemu.conf,
 * so they must exist even though QEMU runs as root: made as libvirt-daemon-system's postinst makes them.
 */
export async function ensureQemuUser(): Promise<void> {
  const has = async (db: string, key: string) => (await run('getent', [db, key])).code === 0;
  const must = async (args: string[]) => {
    const r = await run(args[0]!, args.slice(1));
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.out}`);
  };
  if (!(await has('group', 'kvm'))) await must(['addgroup', '--quiet', '--system', 'kvm']);
  if (!(await has('passwd', 'libvirt-qemu'))) {
    const uid = (await has('passwd', '64055')) ? [] : ['--uid', '64055'];
    await must(['adduser', '--quiet', '--system', '--ingroup', 'kvm', '--disabled-login', '--disabled-password', '--home', '/var/lib/libvirt', '--no-create-home', '--gecos', 'Libvirt Qemu', ...uid, 'libvirt-qemu']);
  }
  if (!(await has('group', 'libvirt-qemu'))) {
    const gid = (await has('group', '64055')) ? [] : ['--gid', '64055'];
    await must(['addgroup', '--quiet', '--system', ...gid, 'libvirt-qemu']);
    await must(['adduser', '--quiet', 'libvirt-qemu', 'libvirt-qemu']);
  }
}

const PATH_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const which = (cmd: string) => PATH_DIRS.some((d) => existsSync(join(d, cmd)));

/** Can cellctl run a libvirtd here? Root, libvirtd with its QEMU driver, virsh, QEMU, iproute2, unshare. */
export function libvirtdPrerequisites(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'a local libvirtd needs Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'a local libvirtd needs root (network and mount namespaces)' };
  const missing: string[] = [];
  for (const [cmd, pkg] of [['libvirtd', 'libvirt-daemon'], ['virsh', 'libvirt-clients'], ['qemu-system-x86_64', 'qemu-system-x86'], ['ip', 'iproute2'], ['unshare', 'util-linux'], ['adduser', 'adduser']]) {
    if (!which(cmd!)) missing.push(`${cmd} (${pkg})`);
  }
  const drivers = ['/usr/lib/x86_64-linux-gnu/libvirt/connection-driver', '/usr/lib64/libvirt/connection-driver', '/usr/lib/libvirt/connection-driver'];
  if (!drivers.some((d) => existsSync(join(d, 'libvirt_driver_qemu.so')))) missing.push("libvirt's QEMU driver (libvirt-daemon-driver-qemu)");
  if (missing.length) {
    return { ok: false, reason: `missing ${missing.join(', ')}: apt-get install -y --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86` };
  }
  return { ok: true };
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Starts the daemon (or finds it running) and returns once it answers a QEMU connection; readyMs
 * is what that took (the first start on a machine includes libvirt's QEMU capability probe).
 */
export async function startLibvirtd(spec: LibvirtdSpec, o: { timeoutMs?: number } = {}): Promise<{ daemon: Libvirtd; readyMs: number; reused: boolean }> {
  const dir = resolve(spec.dir);
  if (join(dir, LONGEST_SOCKET).length > SUN_PATH_MAX) {
    throw new Error(`libvirtd directory ${dir} is too long for its sockets (${join(dir, LONGEST_SOCKET).length} > ${SUN_PATH_MAX} bytes): choose a shorter one`);
  }
  if (existsSync(dir) && readdirSync(dir).length > 0 && !isOurs(dir)) throw new Error(`${dir} exists and was not made by cellctl (no ${MARKER}): not starting a libvirtd there`);
  const socket = socketOf(dir);
  const daemon = (pid: number): Libvirtd => ({ dir, socket, uri: libvirtdUri(socket), pid, ...(spec.netns ? { netns: spec.netns } : {}) });
  const t0 = Date.now();
  const running = libvirtdPid(dir);
  if (running) return { daemon: daemon(running), readyMs: await waitAnswers(dir, socket, o.timeoutMs), reused: true };

  await ensureQemuUser();
  // the first directory made here (dir or an ancestor): removed again with the daemon's directory
  const made = mkdirSync(dir, { recursive: true, mode: 0o700 }) ?? markerOf(dir).made ?? dir;
  writeFileSync(join(dir, MARKER), JSON.stringify({ netns: spec.netns ?? null, hostUuid: spec.hostUuid, made }) + '\n');
  for (const [sub] of MOUNTS) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'etc', 'qemu.conf'), QEMU_CONF);
  writeFileSync(join(dir, 'libvirtd.conf'), [
    '# written by cellctl (src/drivers/libvirt/libvirtd.ts)',
    `unix_sock_dir = "${dir}"`,
    'unix_sock_rw_perms = "0700"',
    'unix_sock_ro_perms = "0700"',
    `host_uuid = "${spec.hostUuid}"`,
    `log_outputs = "3:file:${join(dir, 'log', 'libvirtd.log')}"`,
    '',
  ].join('\n'));
  // mount points on the real root: libvirt's own standard directories (as its packages make them)
  for (const [, target] of MOUNTS) mkdirSync(target, { recursive: true });
  mkdirSync(CACHE_MOUNT, { recursive: true });
  for (const f of ['libvirtd.pid', SOCKET, 'libvirt-sock-ro', LONGEST_SOCKET]) rmSync(join(dir, f), { force: true }); // a killed daemon's

  const caps = spec.capsCache ?? cacheDir('libvirt');
  mkdirSync(caps, { recursive: true });
  const binds = [...MOUNTS.map(([sub, target]) => [join(dir, sub), target]), [caps, CACHE_MOUNT]];
  const script = ['set -e', ...binds.map(([from, to]) => `mount --bind '${from}' '${to}'`), `exec libvirtd -d --pid-file '${join(dir, 'libvirtd.pid')}' --config '${join(dir, 'libvirtd.conf')}'`].join('\n');
  if (binds.flat().some((p) => p.includes("'"))) throw new Error(`libvirtd directory ${dir}: a path with a quote in it`);
  const inNs = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script];
  const argv = spec.netns ? ['ip', 'netns', 'exec', spec.netns, ...inNs] : inNs;
  // CELLCTL_LIBVIRTD marks the daemon, so a cleanup finds it by its environment even without its pidfile
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, all: true, stdin: 'ignore', env: { LC_ALL: 'C', CELLCTL_LIBVIRTD: dir }, timeout: 60_000 });
  if (r.exitCode !== 0) {
    throw new Error(`libvirtd in ${spec.netns ?? 'the root namespace'} did not start (exit ${r.exitCode}): ${String(r.all).trim() || tail(join(dir, 'log', 'libvirtd.log'), 5)}`);
  }
  const waited = await waitAnswers(dir, socket, o.timeoutMs);
  const pid = libvirtdPid(dir);
  if (!pid) throw new Error(`libvirtd in ${dir} answered but its pidfile names no running libvirtd`);
  return { daemon: daemon(pid), readyMs: Math.max(waited, Date.now() - t0), reused: false };
}

/** Polls until the QEMU driver answers on the socket; fails early with the daemon's log when it died. */
async function waitAnswers(dir: string, socket: string, timeoutMs = READY_TIMEOUT_MS): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (existsSync(socket)) {
      const v = await run('virsh', ['-c', libvirtdUri(socket), 'version']);
      if (v.code === 0 && /Running hypervisor: QEMU/.test(v.out)) return Date.now() - t0;
    }
    if (Date.now() - t0 > 1_000 && !libvirtdPid(dir)) {
      throw new Error(`libvirtd in ${dir} exited; its log ends:\n${tail(join(dir, 'log', 'libvirtd.log'), 8)}`);
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`libvirtd in ${dir} did not answer within ${timeoutMs / 1000} s; its log ends:\n${tail(join(dir, 'log', 'libvirtd.log'), 8)}`);
    await sleep(100);
  }
}

/**
 * Stops the daemon (SIGTERM, then SIGKILL) and, with remove, deletes its directory. Domains it
 * runs keep running (libvirt's own behaviour): destroy them first, or end them with the namespace.
 */
export async function stopLibvirtd(dir: string, o: { remove?: boolean } = {}): Promise<'stopped' | 'killed' | 'not-running'> {
  let how: 'stopped' | 'killed' | 'not-running' = 'not-running';
  const pid = libvirtdPid(dir);
  if (pid) {
    how = 'stopped';
    for (const [sig, ms] of [['SIGTERM', STOP_TIMEOUT_MS], ['SIGKILL', 5_000]] as const) {
      try {
        process.kill(pid, sig);
      } catch {
        break; // gone meanwhile
      }
      const t0 = Date.now();
      while (libvirtdPid(dir) && Date.now() - t0 < ms) await sleep(50);
      if (!libvirtdPid(dir)) break;
      how = 'killed';
    }
    if (libvirtdPid(dir)) throw new Error(`libvirtd pid ${pid} (${dir}) survived SIGKILL`);
  }
  if (o.remove && isOurs(dir)) {
    const made = resolve(markerOf(dir).made ?? dir);
    rmSync(dir, { recursive: true, force: true });
    // and the ancestors made with it, while empty
    for (let d = dirname(resolve(dir)); made !== resolve(dir) && d.startsWith(made) && d.length >= made.length; d = dirname(d)) {
      if (!existsSync(d) || readdirSync(d).length > 0) break;
      rmdirSync(d);
    }
  }
  return how;
}

/** A libvirtd started by cellctl carries CELLCTL_LIBVIRTD=<its directory> in its environment. */
export function daemonDirOfPid(pid: number): string | undefined {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('CELLCTL_LIBVIRTD='));
    return env?.slice('CELLCTL_LIBVIRTD='.length);
  } catch {
    return undefined;
  }
}
