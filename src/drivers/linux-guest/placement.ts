// The service layer's placement in a guest that runs a real Linux kernel behind an agent (qemu,
// libvirt, xen): everything goes through the guest's agent. Debian's fixed paths are the guest's
// own; the KDC keeps its files in /var/lib/krb5kdc, the realm's krb5.conf is /etc/krb5.conf. How a
// /vicepX disk reaches the guest is the driver's (QMP hot-plug, xl block-attach).
import type { Masker } from '../../render/mask.js';
import type { Placement, RunResult, Services } from '../services/placement.js';
import { Mutex, shq } from '../services/util.js';
import { AgentError, AgentTimeoutError, type GuestAgent } from '../vm/agent.js';
import { GUEST_BUSYBOX } from '../vm/guest-agent.js';
import type { GuestBase, GuestPlaces, GuestWorld } from './places.js';

// The placement's own small scripts run in the agent's busybox sh, whose applets (base64, mkdir, kill...)
// need no exec from the guest's root: under TCG each exec costs tens of milliseconds, more on a busy host.

// Files as records on stdin ("MODE BASE64-PATH BASE64-DATA" per line): several files, one request,
// and no secret on a command line.
const WRITE_FILES = `set -e
umask 077
while read -r mode path data; do
  p=$(printf %s "$path" | base64 -d)
  mkdir -p "\${p%/*}"
  printf %s "$data" | base64 -d >"$p.cellctl-tmp"
  chmod "$mode" "$p.cellctl-tmp"
  mv -f "$p.cellctl-tmp" "$p"
done`;

const ALIVE = 'read -r l <"/proc/$1/stat" || exit 1; case "${l##*) }" in Z*) exit 1 ;; esac';

// TERM (the process group of a spawn()ed daemon: it is a session leader), a short grace, then KILL.
const STOP = `g=$1; [ "$2" = tree ] && g=-$1
kill -TERM -- "$g" 2>/dev/null
i=0; while [ -e "/proc/$1" ] && [ $i -lt 10 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL -- "$g" 2>/dev/null; true`;

/** How the driver makes a /vicepX visible in a guest (a disk attached and mounted), and tells whether it is. */
export interface PartitionPlug {
  expose(path: string): Promise<void>;
  exposed(path: string): Promise<boolean>;
}

/** A guest placed through its agent (`agent()`: the guest's, opened on first use). */
export function agentPlacement(o: { guest: string; kind: Placement['kind']; ip: string | undefined; agent: () => Promise<GuestAgent>; masker: Masker; partitions: PartitionPlug }): Placement {
  const { guest, masker } = o;
  const run = async (cmd: string, args: string[], ro: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> => {
    const timeoutMs = ro.timeoutMs ?? 30_000;
    try {
      const r = await (await o.agent()).exec(cmd, args, { input: ro.input, env: ro.env, timeoutMs });
      const [stdout, stderr] = [masker.mask(r.stdout.replace(/\n$/, '')), masker.mask(r.stderr.replace(/\n$/, ''))];
      return { code: r.code, stdout, stderr, out: [stdout, stderr].filter(Boolean).join('\n') };
    } catch (e) {
      if (!(e instanceof AgentTimeoutError)) throw masker.error(e);
      return { code: 124, stdout: '', stderr: '', out: `(timed out after ${timeoutMs} ms)` };
    }
  };
  const sh = async (script: string, args: string[], what: string, input?: string) => {
    const r = await run(GUEST_BUSYBOX, ['sh', '-c', script, 'sh', ...args], { input });
    if (r.code !== 0) throw new Error(`${guest}: ${what} failed (exit ${r.code}): ${r.out.trim()}`);
  };
  return {
    guest,
    kind: o.kind,
    ip() {
      if (!o.ip) throw new Error(`guest ${guest} has no vif with an ip, so no address to serve on`);
      return o.ip;
    },
    paths: { kdc: '/var/lib/krb5kdc', krb5Conf: '/etc/krb5.conf', keytab: '/var/lib/krb5kdc/afs-service.keytab', tmp: '/tmp' },
    daemonEnv: {},
    run,
    spawn: async (cmd, args, so) => (await o.agent()).spawn(cmd, args, { logFile: so.log, env: so.env }),
    async alive(pid) {
      return (await run(GUEST_BUSYBOX, ['sh', '-c', ALIVE, 'sh', String(pid)])).code === 0;
    },
    async stop(pid, what) {
      await run(GUEST_BUSYBOX, ['sh', '-c', STOP, 'sh', String(pid), what]);
    },
    async readFile(path) {
      try {
        return await (await o.agent()).readFile(path);
      } catch (e) {
        if (e instanceof AgentError && /No such file or directory/.test(e.message)) return undefined;
        throw masker.error(e);
      }
    },
    async writeFiles(files) {
      if (!files.length) return;
      const b64 = (d: string | Uint8Array) => Buffer.from(d).toString('base64');
      const lines = files.map((f) => `${(f.mode ?? 0o644).toString(8)} ${b64(f.path)} ${b64(f.data)}\n`).join('');
      await sh(WRITE_FILES, [], `writing ${files.map((f) => f.path).join(', ')}`, lines);
    },
    async mkdir(paths, mode) {
      const chmod = mode === undefined ? '' : ` && chmod ${mode.toString(8)} "$@"`;
      await sh(`mkdir -p "$@"${chmod}`, paths, `mkdir ${paths.join(' ')}`);
    },
    async remove(path) {
      await sh(`rm -rf ${shq(path)}`, [], `rm -rf ${path}`);
    },
    exposePartition: (path) => o.partitions.expose(path),
    partitionExposed: (path) => o.partitions.exposed(path),
  };
}

/** The service layer over a driver's guests: `placeOf` gives the placement of a running guest, undefined otherwise. */
export function agentServices<W extends GuestWorld<GuestBase>>(P: GuestPlaces<W>, placeOf: (name: string) => Placement | undefined, masker: Masker, log: (line: string) => void): Services {
  const krbLock = new Mutex();
  const running = (name: string) => (P.w.guests[name]?.state === 'running' ? placeOf(name) : undefined);
  return {
    cell: P.cell,
    realm: P.realm,
    get reg() {
      return P.w.services;
    },
    save: () => P.save(),
    log,
    masker,
    krbLock,
    place(name) {
      const p = running(name);
      if (!p) throw new Error(`guest ${name} is not running (create guest.${name} first)`);
      return p;
    },
    has: (name) => running(name) !== undefined,
    addressOf: (name) => P.addressOf(name),
    guests: () => Object.keys(P.w.guests).map((name) => ({ name, ip: P.addressOf(name) ?? '' })),
  };
}
