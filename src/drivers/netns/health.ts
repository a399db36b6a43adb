// Refresh on the netns driver: is each recorded thing really there? Namespaces, partitions bound in
// bosserver's namespace, afsd.fuse (alive, /afs mounted, a stat answered); the KDCs and AFS servers
// through the service layer's probes (services/health.ts), pts entries, volumes, quotas and RO sites
// read back from the servers (services/afs-read.ts). An update repairs what hangs: a daemon
// that lives but does not answer is ended, and the update starts it again.
import type { AppliedResource, Observed } from '../driver.js';
import { PRESENT } from '../driver.js';
import type { Resource } from '../../plan/resources.js';
import { readAfsContents } from '../services/afs-read.js';
import { PROBE_MS, readService, restart, unstickService } from '../services/health.js';
import type { Services } from '../services/placement.js';
import { lastLines, type Runner } from './exec.js';
import type { Layout } from './layout.js';
import { afsMounted, clientPid } from './client.js';
import { killPids, netnsExists } from './namespaces.js';
import { bosAlive, mountedIn } from './placement.js';

const absent = (reason: string): Observed => ({ state: 'absent', reason });

/**
 * afsd.fuse answers for the cell: a stat of /afs/<cell>/. (root.cell's root directory) answered, or
 * refused by the fileserver's ACL. A client that gave up on a fileserver (it was down or restarted)
 * fails here until it probes the server again, minutes later: a restart is quicker.
 */
async function clientAnswers(r: Runner, L: Layout, pid: number): Promise<boolean> {
  const res = await r.inProc(pid, 'stat', ['-t', `/afs/${L.cell}/.`], { timeoutMs: PROBE_MS });
  return res.code === 0 || /Permission denied/.test(res.out);
}

export async function readNetns(r: Runner, L: Layout, s: Services, prior: AppliedResource): Promise<Observed> {
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
    case 'kdc':
    case 'afs-db':
    case 'afs-fs': {
      if (prior.type === 'kdc' && !L.reg.kdcs[prior.attrs.guest]) return absent(`no KDC recorded on ${prior.attrs.guest}`);
      return guestGone(prior.attrs.guest) ?? (await readService(s, prior)) ?? PRESENT;
    }
    case 'partition': {
      const pid = bosAlive(L, prior.attrs.guest);
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
      return (await readAfsContents(s, prior)) ?? PRESENT;
  }
}

/**
 * Before an update repairs a resource: daemons that live but do not answer are ended, so the update
 * (which starts what is not running) starts them afresh (the services' own in services/health.ts).
 */
export async function unstick(r: Runner, L: Layout, s: Services, res: Resource): Promise<void> {
  if (res.type === 'afs-client') {
    const pid = clientPid(L, res.attrs.guest);
    if (pid && !(await clientAnswers(r, L, pid))) {
      L.log(`${res.attrs.guest}: afsd.fuse (pid ${pid}) does not answer: ending it`);
      await r.run('nsenter', ['-t', String(pid), '-m', '--', 'umount', '-l', '/afs']);
      await killPids([pid]);
    }
    return;
  }
  if ((res.type === 'kdc' || res.type === 'afs-db' || res.type === 'afs-fs') && L.reg.guests[res.attrs.guest]) await unstickService(s, res);
}
