// Refresh of the services: does each daemon answer? krb5kdc (an AS exchange), bosserver and its
// instances (bos status, then an RPC to each instance's port). The same probes let an update repair
// what hangs: a daemon that lives but does not answer is ended, and the update starts it again
// (bosserver restarts its instances itself). The drivers check their guests first.
import type { Resource } from '../../plan/resources.js';
import type { AppliedResource, Observed } from '../driver.js';
import { PRESENT } from '../driver.js';
import { admin, bosPid } from './afs-servers.js';
import { kdcAnswers, kdcName, kdcPid } from './kerberos.js';
import type { Placement, Services } from './placement.js';
import { lastLines, until } from './util.js';

export const PROBE_MS = 5_000; // a daemon on a bridge answers in milliseconds; five seconds is a hang

/** The RPC that proves each bos instance answers: ubik's debug call for the databases, Rx to the file and volume servers. */
export const INSTANCE_PROBES: Record<string, { port: number; cmd: 'udebug' | 'rxdebug'; process: string }[]> = {
  ptserver: [{ port: 7002, cmd: 'udebug', process: 'ptserver' }],
  vlserver: [{ port: 7003, cmd: 'udebug', process: 'vlserver' }],
  dafs: [{ port: 7000, cmd: 'rxdebug', process: 'dafileserver' }, { port: 7005, cmd: 'rxdebug', process: 'davolserver' }],
};

export interface Probe { instance: string; process: string; cmd: string; port: number; ok: boolean; out: string }

/** One instance's liveness RPCs, from the server's own guest. */
export async function probeInstance(p: Placement, instance: string, timeoutMs = PROBE_MS): Promise<Probe[]> {
  const out: Probe[] = [];
  const ip = p.ip();
  for (const pr of INSTANCE_PROBES[instance] ?? []) {
    const args = pr.cmd === 'udebug' ? [ip, String(pr.port)] : [ip, String(pr.port), '-version'];
    const res = await p.run(pr.cmd, args, { timeoutMs });
    const ok = res.code === 0 && (pr.cmd === 'udebug' ? /Local db version/.test(res.stdout) : /AFS version/.test(res.stdout));
    out.push({ instance, process: pr.process, cmd: pr.cmd, port: pr.port, ok, out: res.out });
  }
  return out;
}

/** `bos status` of some instances: name -> its status text ("currently running normally", ...). */
export async function bosStatus(x: Services, p: Placement, instances: string[]): Promise<{ ok: boolean; states: Map<string, string>; out: string }> {
  const st = await admin(x, p, 'bos', ['status', p.ip(), ...instances], 15_000);
  const states = new Map([...st.stdout.matchAll(/^Instance (\S+), (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { ok: st.code === 0, states, out: st.out };
}

const absent = (reason: string): Observed => ({ state: 'absent', reason });
export const restart = (what: string): Observed => ({ state: 'degraded', reason: `${what}: will be restarted`, repair: 'update' });

/** What is wrong with a guest's bos instances, or undefined when each runs and answers. */
async function instancesTrouble(x: Services, p: Placement, instances: string[], timeoutMs: number): Promise<string | undefined> {
  if (!(await bosPid(x, p))) return `found bosserver not running on ${p.guest}`;
  const st = await bosStatus(x, p, instances);
  if (!st.ok) return `bos status on ${p.guest} failed (${lastLines(st.out, 2)})`;
  for (const i of instances) {
    const state = st.states.get(i);
    if (!state || !/currently running normally/.test(state)) return `found ${i} not running (bos status: ${state ?? 'no such instance'})`;
  }
  for (const i of instances) {
    const bad = (await probeInstance(p, i, timeoutMs)).find((q) => !q.ok);
    if (bad) return `found ${bad.process} not answering (${bad.cmd} ${p.ip()} ${bad.port}: no answer in ${timeoutMs / 1000} s)`;
  }
  return undefined;
}

/** What is really there of a KDC, db server or fileserver whose guest is up (undefined for other types). */
export async function readService(x: Services, prior: AppliedResource, timeoutMs = PROBE_MS): Promise<Observed | undefined> {
  switch (prior.type) {
    case 'kdc': {
      const g = prior.attrs.guest;
      if (!x.reg.kdcs[g]) return absent(`no KDC recorded on ${g}`);
      const p = x.place(g);
      const pid = await kdcPid(x, p);
      if (!pid) return restart(`found ${kdcName(x, g)} not running on ${g}`);
      return (await kdcAnswers(x, p, timeoutMs)).ok ? PRESENT : restart(`found ${kdcName(x, g)} (pid ${pid}) not answering an AS-REQ on ${g}`);
    }
    case 'afs-db':
    case 'afs-fs': {
      const trouble = await instancesTrouble(x, x.place(prior.attrs.guest), prior.type === 'afs-db' ? ['ptserver', 'vlserver'] : ['dafs'], timeoutMs);
      return trouble ? restart(trouble) : PRESENT;
    }
    default:
      return undefined;
  }
}

/** Pid of a bos instance's process, from bosserver's -pidfiles (ptserver.pid, dafs.file.pid, ...). */
async function instanceProcessPid(p: Placement, instance: string, process: string): Promise<number | undefined> {
  const name = instance === 'dafs' ? `dafs.${process === 'dafileserver' ? 'file' : 'vol'}.pid` : `${instance}.pid`;
  const pid = Number((await p.readFile(`/var/lib/openafs/local/${name}`))?.toString().trim());
  return pid > 0 && (await p.alive(pid)) ? pid : undefined;
}

/** Pids of a guest's bos instances, for status ("ptserver 123, vlserver 124"). */
export async function instancePids(p: Placement, instances: string[]): Promise<string> {
  const out: string[] = [];
  for (const i of instances) {
    for (const process of (INSTANCE_PROBES[i] ?? []).map((q) => q.process)) {
      const pid = await instanceProcessPid(p, i, process);
      out.push(`${i === 'dafs' ? `dafs.${process === 'dafileserver' ? 'file' : 'vol'}` : i} ${pid ?? 'down'}`);
    }
  }
  return out.join(', ') || 'no instances';
}

/**
 * Before an update repairs a KDC or AFS server: daemons that live but do not answer are ended, so the
 * update (which starts what is not running) starts them afresh. A hung bos instance is killed:
 * bosserver restarts it by itself, and this waits for it to answer.
 */
export async function unstickService(x: Services, res: Resource, timeoutMs = PROBE_MS): Promise<void> {
  switch (res.type) {
    case 'kdc': {
      const p = x.place(res.attrs.guest);
      const pid = await kdcPid(x, p);
      if (pid && !(await kdcAnswers(x, p, timeoutMs)).ok) {
        x.log(`${res.attrs.guest}: ${kdcName(x, res.attrs.guest)} (pid ${pid}) does not answer: ending it`);
        await p.stop(pid, 'process');
      }
      return;
    }
    case 'afs-db':
    case 'afs-fs': {
      const p = x.place(res.attrs.guest);
      if (!(await bosPid(x, p))) return;
      for (const inst of res.type === 'afs-db' ? ['ptserver', 'vlserver'] : ['dafs']) {
        for (const q of (await probeInstance(p, inst, timeoutMs)).filter((y) => !y.ok)) {
          const pid = await instanceProcessPid(p, inst, q.process);
          if (!pid) continue; // not running at all: the update's `bos start` starts it
          x.log(`${p.guest}: ${q.process} (pid ${pid}) does not answer on port ${q.port}: ending it, bosserver restarts it`);
          await p.stop(pid, 'process');
          await until(`${q.process} on ${p.guest} to answer again`, 60_000, async () => (await probeInstance(p, inst, timeoutMs)).find((y) => y.port === q.port)?.ok === true, 500);
        }
      }
      return;
    }
    default:
      return;
  }
}
