// Refresh on the netns driver: is each recorded thing really there, and does each daemon answer?
// Namespaces, krb5kdc (an AS exchange), bosserver and its instances (bos status, then an RPC to each
// instance's port), partitions bound in bosserver's namespace, afsd.fuse (alive, /afs mounted, a
// stat answered). The same probes let an update repair what hangs: a daemon that lives but does not
// answer is ended, and the update starts it again (bosserver restarts its instances itself).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppliedResource, Observed } from '../driver.js';
import { PRESENT } from '../driver.js';
import type { Resource } from '../../plan/resources.js';
import { alive, lastLines, type Runner, until } from './exec.js';
import type { Layout } from './layout.js';
import { kdcAnswers, kdcPid } from './kerberos.js';
import { admin, bosPid, mountedIn } from './afs-servers.js';
import { afsMounted, clientPid } from './client.js';
import { killPids, netnsExists } from './namespaces.js';

const PROBE_MS = 5_000; // a daemon on loopback-speed veths answers in milliseconds; five seconds is a hang

/** The RPC that proves each bos instance answers: ubik's debug call for the databases, Rx to the file and volume servers. */
export const INSTANCE_PROBES: Record<string, { port: number; cmd: 'udebug' | 'rxdebug'; process: string }[]> = {
  ptserver: [{ port: 7002, cmd: 'udebug', process: 'ptserver' }],
  vlserver: [{ port: 7003, cmd: 'udebug', process: 'vlserver' }],
  dafs: [{ port: 7000, cmd: 'rxdebug', process: 'dafileserver' }, { port: 7005, cmd: 'rxdebug', process: 'davolserver' }],
};

export interface Probe { instance: string; process: string; cmd: string; port: number; ok: boolean; out: string }

/** One instance's liveness RPCs, from the server's own namespace. */
export async function probeInstance(r: Runner, L: Layout, guest: string, instance: string): Promise<Probe[]> {
  const g = L.guest(guest);
  const out: Probe[] = [];
  for (const p of INSTANCE_PROBES[instance] ?? []) {
    const args = p.cmd === 'udebug' ? [g.ip, String(p.port)] : [g.ip, String(p.port), '-version'];
    const res = await r.inNetns(g.ns, p.cmd, args, { timeoutMs: PROBE_MS });
    const ok = res.code === 0 && (p.cmd === 'udebug' ? /Local db version/.test(res.stdout) : /AFS version/.test(res.stdout));
    out.push({ instance, process: p.process, cmd: p.cmd, port: p.port, ok, out: res.out });
  }
  return out;
}

/** `bos status` of some instances: name -> its status text ("currently running normally", ...). */
export async function bosStatus(r: Runner, L: Layout, guest: string, instances: string[]): Promise<{ ok: boolean; states: Map<string, string>; out: string }> {
  const st = await admin(r, L, guest, 'bos', ['status', L.ipOf(guest), ...instances], 15_000);
  const states = new Map([...st.stdout.matchAll(/^Instance (\S+), (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { ok: st.code === 0, states, out: st.out };
}

const absent = (reason: string): Observed => ({ state: 'absent', reason });
const restart = (what: string): Observed => ({ state: 'degraded', reason: `${what}: will be restarted`, repair: 'update' });

/** What is wrong with a guest's bos instances, or undefined when each runs and answers. */
async function instancesTrouble(r: Runner, L: Layout, guest: string, instances: string[]): Promise<string | undefined> {
  const bos = bosPid(L, guest);
  if (!bos) return `found bosserver not running on ${guest}`;
  const st = await bosStatus(r, L, guest, instances);
  if (!st.ok) return `bos status on ${guest} failed (${lastLines(st.out, 2)})`;
  for (const i of instances) {
    const state = st.states.get(i);
    if (!state || !/currently running normally/.test(state)) return `found ${i} not running (bos status: ${state ?? 'no such instance'})`;
  }
  for (const i of instances) {
    const bad = (await probeInstance(r, L, guest, i)).find((p) => !p.ok);
    if (bad) return `found ${bad.process} not answering (${bad.cmd} ${L.ipOf(guest)} ${bad.port}: no answer in ${PROBE_MS / 1000} s)`;
  }
  return undefined;
}

/**
 * afsd.fuse answers for the cell: a stat of /afs/<cell>/. (root.cell's root directory) answered, or
 * refused by the fileserver's ACL. A client that gave up on a fileserver (it was down or restarted)
 * fails here until it probes the server again, minutes later: a restart is quicker.
 */
async function clientAnswers(r: Runner, L: Layout, pid: number): Promise<boolean> {
  const res = await r.inProc(pid, 'stat', ['-t', `/afs/${L.cell}/.`], { timeoutMs: PROBE_MS });
  return res.code === 0 || /Permission denied/.test(res.out);
}

export async function readNetns(r: Runner, L: Layout, prior: AppliedResource): Promise<Observed> {
  const guestGone = (g: string): Observed | undefined => {
    const ns = L.reg.guests[g]?.ns ?? L.guestNs(g);
    return netnsExists(ns) ? undefined : absent(`the network namespace ${ns} of guest ${g} is gone`);
  };
  switch (prior.type) {
    case 'host': {
      const ns = L.reg.hosts[prior.name]?.ns ?? L.hostNs(prior.name);
      return netnsExists(ns) ? PRESENT : absent(`network namespace ${ns} is gone`);
    }
    case 'guest': {
      const gone = guestGone(prior.name);
      if (gone) return gone;
      const ns = L.reg.guests[prior.name]?.ns ?? L.guestNs(prior.name);
      const link = await r.run('ip', ['-n', ns, '-br', 'link', 'show', 'dev', 'eth0']);
      if (link.code !== 0 || !/\bUP\b/.test(link.stdout)) return { state: 'degraded', reason: `eth0 of ${prior.name} is not up (${lastLines(link.out, 1)})`, repair: 'replace' };
      return PRESENT;
    }
    case 'kdc': {
      const g = prior.attrs.guest;
      if (!L.reg.kdcs[g]) return absent(`no KDC recorded on ${g}`);
      const gone = guestGone(g);
      if (gone) return gone;
      const pid = kdcPid(L, g);
      if (!pid) return restart(`found krb5kdc not running on ${g}`);
      return (await kdcAnswers(r, L, g, PROBE_MS)).ok ? PRESENT : restart(`found krb5kdc (pid ${pid}) not answering an AS-REQ on ${g}`);
    }
    case 'afs-db':
    case 'afs-fs': {
      const g = prior.attrs.guest;
      const gone = guestGone(g);
      if (gone) return gone;
      const trouble = await instancesTrouble(r, L, g, prior.type === 'afs-db' ? ['ptserver', 'vlserver'] : ['dafs']);
      return trouble ? restart(trouble) : PRESENT;
    }
    case 'partition': {
      const pid = bosPid(L, prior.attrs.guest);
      // Without bosserver the afs-fs is found down; its restart binds the partitions again.
      if (!pid || mountedIn(pid, prior.attrs.path)) return PRESENT;
      return { state: 'degraded', reason: `${prior.attrs.path} is not mounted in the fileserver's namespace on ${prior.attrs.guest}: will be bound again`, repair: 'update' };
    }
    case 'afs-client': {
      const g = prior.attrs.guest;
      const gone = guestGone(g);
      if (gone) return gone;
      const pid = clientPid(L, g);
      if (!pid) return restart(`found afsd.fuse not running on ${g}`);
      if (!afsMounted(pid)) return restart(`found /afs not mounted by afsd.fuse (pid ${pid}) on ${g}`);
      return (await clientAnswers(r, L, pid)) ? PRESENT : restart(`found afsd.fuse (pid ${pid}) not answering for /afs/${L.cell} on ${g}`);
    }
    default:
      return PRESENT;
  }
}

/** Pid of a bos instance's process, from bosserver's -pidfiles (ptserver.pid, dafs.file.pid, ...). */
function instanceProcessPid(L: Layout, guest: string, instance: string, process: string): number | undefined {
  const dir = L.afsPath(guest, '/var/lib/openafs/local');
  const names = instance === 'dafs' ? [`dafs.${process === 'dafileserver' ? 'file' : 'vol'}.pid`] : [`${instance}.pid`];
  for (const n of names) {
    const f = join(dir, n);
    if (!existsSync(f)) continue;
    const pid = Number(readFileSync(f, 'utf8').trim());
    if (alive(pid)) return pid;
  }
  return undefined;
}

/**
 * Before an update repairs a resource: daemons that live but do not answer are ended, so the update
 * (which starts what is not running) starts them afresh. A hung bos instance is killed: bosserver
 * restarts it by itself, and this waits for it to answer.
 */
export async function unstick(r: Runner, L: Layout, res: Resource): Promise<void> {
  switch (res.type) {
    case 'kdc': {
      const pid = kdcPid(L, res.attrs.guest);
      if (pid && !(await kdcAnswers(r, L, res.attrs.guest, PROBE_MS)).ok) {
        L.log(`${res.attrs.guest}: krb5kdc (pid ${pid}) does not answer: ending it`);
        await killPids([pid]);
      }
      return;
    }
    case 'afs-client': {
      const pid = clientPid(L, res.attrs.guest);
      if (pid && !(await clientAnswers(r, L, pid))) {
        L.log(`${res.attrs.guest}: afsd.fuse (pid ${pid}) does not answer: ending it`);
        await r.run('nsenter', ['-t', String(pid), '-m', '--', 'umount', '-l', '/afs']);
        await killPids([pid]);
      }
      return;
    }
    case 'afs-db':
    case 'afs-fs': {
      const g = res.attrs.guest;
      if (!bosPid(L, g)) return;
      for (const inst of res.type === 'afs-db' ? ['ptserver', 'vlserver'] : ['dafs']) {
        for (const p of (await probeInstance(r, L, g, inst)).filter((x) => !x.ok)) {
          const pid = instanceProcessPid(L, g, inst, p.process);
          if (!pid) continue; // not running at all: the update's `bos start` starts it
          L.log(`${g}: ${p.process} (pid ${pid}) does not answer on port ${p.port}: ending it, bosserver restarts it`);
          process.kill(pid, 'SIGKILL');
          await until(`${p.process} on ${g} to answer again`, 60_000, async () => (await probeInstance(r, L, g, inst)).find((x) => x.port === p.port)?.ok === true, 500);
        }
      }
      return;
    }
  }
}
