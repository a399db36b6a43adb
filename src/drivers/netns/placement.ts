// The netns placement of the service layer: a guest is a network namespace on this machine, and its
// own OpenAFS tree (<guest dir>/root) is bound over Debian's fixed paths in a private mount
// namespace per daemon (guest-ns.sh). Commands run in bosserver's namespaces once it runs, else in
// a fresh such mount namespace, else (a guest with no tree yet: a KDC) in the guest's network
// namespace alone. Files at Debian's paths map to the guest's tree; the layer's own files (KDC
// directory, krb5.conf, scratch) are under the state directory.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { Masker } from '../../render/mask.js';
import { scrubbedEnv } from '../../state/secrets.js';
import { withBuild } from '../services/afs-build.js';
import type { Placement, Services } from '../services/placement.js';
import { alive, type Runner } from './exec.js';
import type { Layout } from './layout.js';
import { daemonMarks, killAll, killPids, netnsExists, nsLink, pidsWithNs } from './namespaces.js';

/** The script that runs first in a guest's private mount namespace (same pid all the way: every step execs). */
export function ensureEnterScript(L: Layout): string {
  const file = join(L.binDir, 'guest-ns.sh');
  const text = [
    '#!/bin/sh',
    '# ip netns exec NS unshare -m -u --propagation private guest-ns.sh ROOT HOSTNAME [/vicepX ...] -- CMD ARGS',
    "# Binds the guest's own tree over Debian's fixed OpenAFS paths, names the guest, then execs CMD.",
    'set -e',
    'R=$1; hostname "$2"; shift 2',
    'for d in /etc/openafs /var/lib/openafs /var/log/openafs /var/cache/openafs; do mount --bind "$R$d" "$d"; done',
    '# names of the cell only, and no outside resolver: a reverse lookup must not wait on a DNS server',
    'mount --bind "$R/etc/hosts" /etc/hosts; mount --bind "$R/etc/resolv.conf" /etc/resolv.conf',
    'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do mkdir -p "$1"; mount --bind "$R$1" "$1"; shift; done',
    'shift',
    '[ -n "$CELLCTL_LOG" ] && exec </dev/null >>"$CELLCTL_LOG" 2>&1',
    'exec "$@"',
    '',
  ].join('\n');
  // Written once, by rename: rewriting it in place while another guest execs it fails with ETXTBSY.
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
    mkdirSync(L.binDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o755 });
    renameSync(tmp, file);
  }
  return file;
}

export function enterArgs(L: Layout, guest: string, partitions: string[], cmd: string[]): string[] {
  const g = L.guest(guest);
  return ['netns', 'exec', g.ns, 'unshare', '-m', '-u', '--propagation', 'private', ensureEnterScript(L), L.afsPath(guest, ''), guest, ...partitions, '--', ...cmd];
}

export function mountedIn(pid: number, path: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/mounts`, 'utf8').split('\n').some((l) => l.split(' ')[1] === path);
  } catch {
    return false;
  }
}

/** A partition added after bosserver started: bind it into bosserver's mount namespace (the fileserver sees it at start). */
export async function bindPartition(r: Runner, L: Layout, guest: string, pid: number, p: string): Promise<boolean> {
  if (mountedIn(pid, p)) return false;
  mkdirSync(p, { recursive: true }); // the mount point, on the shared root filesystem
  await r.must('nsenter', ['-t', String(pid), '-m', '--', 'mount', '--bind', L.afsPath(guest, p), p]);
  return true;
}

/** The guest's bosserver pid when it runs (its namespaces are where the guest's commands run). */
export function bosAlive(L: Layout, guest: string): number | undefined {
  const pid = L.reg.bos[guest];
  const g = L.reg.guests[guest];
  return pid && g && alive(pid) && netnsExists(g.ns) ? pid : undefined;
}

const BOUND = ['/etc/openafs', '/var/lib/openafs', '/var/log/openafs', '/var/cache/openafs', '/etc/hosts', '/etc/resolv.conf'];

/** Where a guest path is on this machine: Debian's bound paths and /vicepX in the guest's tree, the layer's own files as they are. */
export function hostPath(L: Layout, guest: string, p: string): string {
  if (BOUND.some((b) => p === b || p.startsWith(`${b}/`)) || /^\/vicep[a-z]{1,2}(\/|$)/.test(p)) return L.afsPath(guest, p);
  if (p.startsWith(`${L.root}/`)) return p;
  throw new Error(`netns guest ${guest}: ${p} is neither in the guest's own tree nor under ${L.root}`);
}

export function netnsPlacement(r: Runner, L: Layout, guest: string): Placement {
  const g = L.guest(guest);
  const file = (p: string) => hostPath(L, guest, p);
  const hasTree = () => existsSync(L.afsPath(guest, '/etc/openafs/ThisCell')) && existsSync(L.afsPath(guest, '/etc/hosts'));
  return {
    guest,
    kind: 'netns',
    ip: () => L.ipOf(guest),
    paths: { kdc: L.kdcDir(guest), krb5Conf: L.krb5Conf, keytab: join(L.root, 'afs', 'rxkad.keytab'), tmp: L.tmpDir(guest) },
    daemonEnv: daemonMarks(L, guest),
    run(cmd, args, o = {}) {
      const bos = bosAlive(L, guest);
      if (bos) return r.inProc(bos, cmd, args, o);
      if (hasTree()) return r.run('ip', enterArgs(L, guest, [], [cmd, ...args]), o);
      return r.inNetns(g.ns, cmd, args, o);
    },
    async spawn(cmd, args, o) {
      const child = execa('ip', enterArgs(L, guest, [], [cmd, ...args]), {
        detached: true, stdio: 'ignore', reject: false, extendEnv: false,
        env: { ...scrubbedEnv(), CELLCTL_LOG: file(o.log), ...(o.env ?? {}) },
      });
      child.catch(() => undefined);
      child.unref();
      if (!child.pid) throw new Error(`${cmd} did not start on ${guest}`);
      return child.pid;
    },
    async alive(pid) {
      return alive(pid) && netnsExists(g.ns);
    },
    async stop(pid, what) {
      // A spawn()ed daemon has a mount namespace of its own: everything in it is what it started.
      const mnt = what === 'tree' ? nsLink(pid, 'mnt') : undefined;
      if (mnt && mnt !== nsLink(process.pid, 'mnt')) await killAll(() => pidsWithNs('mnt', mnt));
      else await killPids([pid]);
    },
    async readFile(p) {
      const f = file(p);
      return existsSync(f) ? readFileSync(f) : undefined;
    },
    async writeFiles(files) {
      for (const w of files) {
        const f = file(w.path);
        mkdirSync(dirname(f), { recursive: true });
        // By rename: pts, vos and aklog read these while another step runs in the same guest (never a half-written file).
        const tmp = `${f}.${process.pid}.tmp`;
        writeFileSync(tmp, w.data, { mode: w.mode ?? 0o644 });
        chmodSync(tmp, w.mode ?? 0o644);
        renameSync(tmp, f);
      }
    },
    async mkdir(ps, mode) {
      for (const f of ps.map(file)) {
        mkdirSync(f, { recursive: true });
        if (mode !== undefined) chmodSync(f, mode);
      }
    },
    async remove(p) {
      rmSync(file(p), { recursive: true, force: true });
    },
    async exposePartition(p) {
      mkdirSync(L.afsPath(guest, p), { recursive: true });
      writeFileSync(join(L.afsPath(guest, p), 'AlwaysAttach'), '');
      const bos = bosAlive(L, guest);
      if (bos) await bindPartition(r, L, guest, bos, p);
    },
    async partitionExposed(p) {
      const bos = bosAlive(L, guest);
      return !!bos && mountedIn(bos, p);
    },
  };
}

/** The service layer over the netns driver's registry and namespaces. */
export function netnsServices(r: Runner, L: Layout, masker: Masker): Services {
  return {
    cell: L.cell,
    realm: L.realm,
    get reg() {
      return L.reg;
    },
    save: () => L.save(),
    log: (line) => L.log(line),
    masker,
    krbLock: L.krbLock,
    place: (guest) => withBuild(netnsPlacement(r, L, guest), L.reg.afsBuild?.[guest]),
    has: (guest) => !!L.reg.guests[guest],
    addressOf: (guest) => L.reg.guests[guest]?.ip || undefined,
    guests: () => Object.entries(L.reg.guests).map(([name, g]) => ({ name, ip: g.ip })),
  };
}
