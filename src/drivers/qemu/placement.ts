// The qemu placement of the service layer: a guest is a real VM and everything goes through its
// agent. Debian's fixed paths are the guest's own (its overlay root over the host's, read-only);
// the KDC keeps its files in /var/lib/krb5kdc, the realm's krb5.conf is /etc/krb5.conf. A /vicepX
// the fileserver needs is a disk hot-plugged and mounted (partitions.ts).
import type { Masker } from '../../render/mask.js';
import type { Placement, RunResult, Services } from '../services/placement.js';
import { Mutex, shq } from '../services/util.js';
import { AgentError, AgentTimeoutError, type GuestAgent } from '../vm/agent.js';
import { GUEST_BUSYBOX } from '../vm/guest-agent.js';
import { createPartition, mountedAt, type PlugTarget } from './partitions.js';
import type { Places } from './world.js';
import { names } from '../../plan/addrs.js';

// The placement's own small scripts run in the agent's busybox sh, whose applets (base64, mkdir, kill...)
// need no exec from the 9p root: under TCG each exec costs tens of milliseconds, more on a busy host.

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

export function qemuPlacement(P: Places, guest: string, t: PlugTarget, masker: Masker): Placement {
  const a: GuestAgent = t.agent;
  const rec = P.guest(guest);
  const run = async (cmd: string, args: string[], o: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> => {
    const timeoutMs = o.timeoutMs ?? 30_000;
    try {
      const r = await a.exec(cmd, args, { input: o.input, env: o.env, timeoutMs });
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
    kind: 'qemu',
    ip() {
      const ip = rec.ips.find((x): x is string => !!x);
      if (!ip) throw new Error(`guest ${guest} has no vif with an ip, so no address to serve on`);
      return ip;
    },
    paths: { kdc: '/var/lib/krb5kdc', krb5Conf: '/etc/krb5.conf', keytab: '/var/lib/krb5kdc/afs-service.keytab', tmp: '/tmp' },
    daemonEnv: {},
    run,
    spawn: (cmd, args, o) => a.spawn(cmd, args, { logFile: o.log, env: o.env }),
    async alive(pid) {
      return (await run(GUEST_BUSYBOX, ['sh', '-c', ALIVE, 'sh', String(pid)])).code === 0;
    },
    async stop(pid, what) {
      await run(GUEST_BUSYBOX, ['sh', '-c', STOP, 'sh', String(pid), what]);
    },
    async readFile(path) {
      try {
        return await a.readFile(path);
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
    async exposePartition(path) {
      await createPartition(P, t, names.partition(guest, path), { guest, path });
    },
    async partitionExposed(path) {
      return (await mountedAt(a, path)) !== undefined;
    },
  };
}

/** The service layer over the qemu driver's world: a placement per running guest. */
/** The service layer over the driver's guests: each reached through its agent, partitions hot-plugged through its PlugTarget. */
export function qemuServices(P: Places, targetOf: (name: string) => PlugTarget | undefined, masker: Masker, log: (line: string) => void): Services {
  const krbLock = new Mutex();
  const running = (name: string) => (P.w.guests[name]?.state === 'running' ? targetOf(name) : undefined);
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
      const g = running(name);
      if (!g) throw new Error(`guest ${name} is not running (create guest.${name} first)`);
      return qemuPlacement(P, name, g, masker);
    },
    has: (name) => running(name) !== undefined,
    addressOf: (name) => P.w.guests[name]?.ips.find((x): x is string => !!x),
    guests: () => Object.entries(P.w.guests).map(([name, g]) => ({ name, ip: g.ips.find((x): x is string => !!x) ?? '' })),
  };
}
