// What is really there: status (QEMU pids, memory, taps, accelerator, modules, afsd), the guests'
// serial consoles, the checks a smoke runs, and a per-resource read for refresh.
import { existsSync, readFileSync } from 'node:fs';
import type { AppliedResource, Check, CheckResult, DriverStatus, Observed, ServiceStatus } from '../driver.js';
import { addr } from '../../plan/addrs.js';
import { netnsExists } from '../netns/namespaces.js';
import { kernelClientCheck } from '../services/afs-client.js';
import { kernelAccessCheck } from '../services/afs-kernel-checks.js';
import { keytabKinit } from '../services/keytabs.js';
import { bosPid } from '../services/afs-servers.js';
import { serviceCheck } from '../services/checks.js';
import { instancePids, readService } from '../services/health.js';
import { kdcPid } from '../services/kerberos.js';
import type { Services } from '../services/placement.js';
import type { GuestAgent } from '../vm/agent.js';
import { guestAlive } from '../vm/qemu.js';
import { guestPaths } from '../vm/qemu-args.js';
import { afsUp, guestFacts } from '../linux-guest/facts.js';
import type { GuestRec, Places } from './world.js';

const CONSOLE_LINES = 3000;

/** A guest's agent, if its QEMU runs (undefined otherwise). */
export type AgentOf = (guest: string) => GuestAgent | undefined;

/** The pid of a guest's running QEMU, or undefined: the qemu driver's pidfile, or what libvirt says. */
export type PidOf = (guest: string, rec: GuestRec) => number | undefined;
export const qemuPid: PidOf = (_guest, rec) => guestAlive(guestPaths(rec.dir).pidfile);

/** `x`: the service layer over the guests (undefined for a driver that places no services in them). */
export async function status(P: Places, agentOf: AgentOf, x: Services | undefined, pidOf: PidOf = qemuPid): Promise<DriverStatus> {
  const hosts = Object.entries(P.w.hosts).map(([name, h]) => {
    const used = h.dom0 + Object.values(P.w.guests).filter((g) => g.host === name).reduce((s, g) => s + g.memory, 0);
    return { name, memory: h.memory, used, free: h.memory - used };
  });
  const domains: DriverStatus['domains'] = [];
  const services: ServiceStatus[] = [];
  for (const [name, g] of Object.entries(P.w.guests)) {
    const pid = pidOf(name, g);
    const accel = g.accel?.split(':')[0] ?? '?';
    domains.push({
      id: null, name, host: g.host, memory: g.memory, vifs: g.ips.map((ip, i) => `${ip ?? '-'}@${g.taps[i]}`),
      state: pid ? `running (qemu pid ${pid}, ${accel})` : g.state === 'starting' ? 'starting' : 'not running',
    });
    services.push({
      address: `guest.${name}`, guest: name, state: pid ? 'up' : 'down', ...(pid ? { pid } : {}),
      detail: `${g.memory} MiB${g.asked !== g.memory ? ` (cell asks ${g.asked})` : ''}, ${g.vcpus} vcpu, kernel ${g.release ?? '?'}${g.standIn ? ' (stand-in)' : ''}, ${g.accel ?? 'accelerator not chosen yet'}, taps ${g.taps.join(',') || '-'}${g.netns ? ` in ${g.netns}` : ''}`,
    });
    const f = await guestFacts(pid ? agentOf(name) : undefined);
    const silent = `unknown: ${name} does not answer`;
    for (const [res, m] of Object.entries(P.w.modules).filter(([, m]) => m.guest === name)) {
      const up = !!m.loadedAs && !!f?.modules.has(m.loadedAs);
      const what = !m.loadedAs ? `nothing stays loaded for ${m.module}` : !f ? `${m.loadedAs}: ${silent}` : `${m.loadedAs} ${up ? 'loaded' : 'not loaded'}`;
      services.push({ address: `module.${res}`, guest: name, state: up ? 'up' : 'down', detail: `${what}${m.loadedAs && m.loadedAs !== m.name ? ` (for ${m.module})` : ''}` });
    }
    if (P.w.clients[name]) {
      const mounted = f?.mounts.some((m) => m.path === '/afs' && m.fs === 'afs');
      const detail = !f ? silent : `afsd ${f.afsd.length ? `pid ${f.afsd.join(' ')}` : 'not running'}, /afs ${mounted ? 'mounted' : 'not mounted'}`;
      services.push({ address: `afs-client.${name}`, guest: name, state: f && afsUp(f) ? 'up' : 'down', ...(f?.afsd[0] ? { pid: f.afsd[0] } : {}), detail });
    }
    for (const [res, p] of Object.entries(P.w.partitions).filter(([, p]) => p.guest === name)) {
      const m = f?.mounts.find((x) => x.path === p.path);
      services.push({ address: `partition.${res}`, guest: name, state: m ? 'up' : 'down', detail: !f ? silent : m ? `${m.dev} (${m.fs}, ${p.image}) on ${p.path}` : `${p.path} not mounted` });
    }
    if (f && x) services.push(...(await serviceStatus(x, name)));
  }
  return { hosts, domains, services };
}

/** The KDC and AFS servers of a guest that answers, with their pids as the guest sees them. */
async function serviceStatus(x: Services, guest: string): Promise<ServiceStatus[]> {
  const out: ServiceStatus[] = [];
  const svc = (address: string, pid: number | undefined, detail: string) =>
    out.push({ address, guest, state: pid ? 'up' : 'down', ...(pid ? { pid } : {}), detail: `${detail} (pids inside the guest)` });
  if (!x.has(guest)) return out;
  const p = x.place(guest);
  const kdc = x.reg.kdcs[guest];
  if (kdc) svc(addr.kdc(guest), await kdcPid(x, p), `krb5kdc ${kdc.role}`);
  const db = x.reg.afsDb.includes(guest);
  const fs = !!x.reg.afsFs[guest];
  if (db || fs) {
    const bos = await bosPid(x, p);
    if (db) svc(addr.afsDb(guest), bos, `bosserver ${bos ?? 'down'}; ${await instancePids(p, ['ptserver', 'vlserver'])}`);
    if (fs) svc(addr.afsFs(guest), bos, `bosserver ${bos ?? 'down'}; ${await instancePids(p, ['dafs'])}`);
  }
  return out;
}

/** The guest's serial console since its last start: cellctl's start line, the kernel log, /init's and the agent's lines. */
export function consoleOf(P: Places, guest: string): string {
  const dir = P.w.guests[guest]?.dir ?? P.guestDir(guest);
  const file = guestPaths(dir).consoleLog;
  if (!existsSync(file)) return `qemu driver: guest ${guest} has no console log (${file}): it was never started, or it was destroyed`;
  const text = readFileSync(file, 'utf8');
  const start = text.lastIndexOf('=== cellctl: starting guest');
  const lines = text.slice(Math.max(0, start)).trimEnd().split('\n');
  return (lines.length > CONSOLE_LINES ? [`(${lines.length - CONSOLE_LINES} earlier lines in ${file})`, ...lines.slice(-CONSOLE_LINES)] : lines).join('\n');
}

export interface Observation {
  address: string;
  present: boolean;
  detail: string;
  /** What refresh should record when it is more than present/absent (a daemon found down: restart it). */
  observed?: Observed;
}

/** Entries of the realm's and the cell's databases: refresh reads the servers that hold them, not each entry. */
const ENTRIES: Partial<Record<AppliedResource['type'], string>> = {
  principal: 'an entry of the KDC database (refresh reads the KDC, not each entry)',
  'service-key': 'an entry of the KDC database and the servers\' KeyFileExt (refresh reads the KDC and the servers)',
  volume: 'a volume of the cell (refresh reads its fileserver, not each volume)',
  'pts-user': 'an entry of the protection database (refresh reads the db servers, not each entry)',
  'pts-group': 'an entry of the protection database (refresh reads the db servers, not each entry)',
  quota: "a field of its volume's header (refresh reads its fileserver, not each volume)",
  'ro-site': 'a site in the VLDB (refresh reads the db servers, not each entry)',
  release: "the RO clones of a volume (refresh reads their fileservers, not each clone)",
  backup: "a clone beside its volume (refresh reads its fileserver, not each volume)",
  mount: "an entry in a volume's directory (refresh reads its fileserver, not each entry)",
  acl: "a field of a volume's directory (refresh reads its fileserver, not each directory)",
  keytab: 'a key of the KDC database in a file of its guest (refresh reads the KDC, not each key)',
};

/**
 * What is really there for one recorded resource (refresh): a host's namespace, a guest's QEMU and
 * agent, a module in /proc/modules, a partition mounted, afsd running with /afs mounted.
 */
export async function observe(P: Places, agentOf: AgentOf, x: Services | undefined, prior: AppliedResource, pidOf: PidOf = qemuPid): Promise<Observation> {
  const at = (present: boolean, detail: string): Observation => ({ address: prior.address, present, detail });
  const entry = ENTRIES[prior.type];
  if (entry) return at(true, entry);
  const guestName = prior.type === 'guest' ? prior.name : (prior.attrs as { guest?: string }).guest;
  const g = guestName ? P.w.guests[guestName] : undefined;
  const pid = g ? pidOf(guestName!, g) : undefined;
  if (prior.type === 'host') {
    const ns = P.hostNs(prior.name);
    return at(netnsExists(ns), netnsExists(ns) ? `namespace ${ns}` : `namespace ${ns} is gone`);
  }
  if (!guestName || !g) return at(false, `not recorded by the qemu driver`);
  if (!pid) return at(false, `QEMU of ${guestName} is not running`);
  const f = await guestFacts(agentOf(guestName));
  if (!f) return at(prior.type === 'guest', `QEMU pid ${pid} runs; the guest does not answer`);
  switch (prior.type) {
    case 'guest':
      return at(true, `QEMU pid ${pid}, the guest answers`);
    case 'module': {
      const m = P.w.modules[prior.name];
      if (!m) return at(false, 'not recorded by the qemu driver');
      if (!m.loadedAs) return at(true, `nothing stays loaded for ${m.module}`);
      return at(f.modules.has(m.loadedAs), `${m.loadedAs} ${f.modules.has(m.loadedAs) ? 'is' : 'is not'} in /proc/modules`);
    }
    case 'partition': {
      const path = String(prior.attrs.path);
      const m = f.mounts.find((x) => x.path === path);
      return at(!!m, m ? `${m.dev} (${m.fs}) mounted on ${path}` : `${path} is not mounted`);
    }
    case 'afs-client':
      return at(afsUp(f), `afsd ${f.afsd.length ? `pid ${f.afsd.join(' ')}` : 'not running'}, /afs ${f.mounts.some((m) => m.path === '/afs') ? 'mounted' : 'not mounted'}`);
    case 'kdc':
    case 'afs-db':
    case 'afs-fs': {
      const o = (x && (await readService(x, prior))) || { state: 'present' };
      return { ...at(o.state === 'present', o.state === 'present' ? 'its daemons run and answer' : o.reason ?? o.state), observed: o };
    }
    default:
      return at(false, `${prior.type} is not realized by the qemu driver`);
  }
}

const NO_SERVERS = 'this driver places no AFS database or file servers in the guests, so there is no cell to reach';

export async function check(P: Places, agentOf: AgentOf, x: Services | undefined, c: Check, pw: (principal: string) => string, pidOf: PidOf = qemuPid): Promise<CheckResult> {
  const guest = c.guest ?? '';
  const g = P.w.guests[guest];
  const pid = g ? pidOf(guest, g) : undefined;
  const agent = pid ? agentOf(guest) : undefined;
  switch (c.kind) {
    case 'guest-running': {
      if (!pid) return { status: 'fail', message: `QEMU of ${guest} is not running` };
      const up = await agent?.exec('cat', ['/proc/uptime'], { timeoutMs: 10_000 }).then((r) => r.stdout.split(' ')[0], () => undefined);
      return up
        ? { status: 'pass', message: `QEMU pid ${pid} (${g!.accel}), kernel ${g!.release}, guest uptime ${up} s` }
        : { status: 'fail', message: `QEMU pid ${pid} runs but the guest agent does not answer` };
    }
    case 'client-module': {
      const f = await guestFacts(agent);
      if (!f) return { status: 'fail', message: `guest ${guest} does not answer` };
      return f.modules.has('openafs')
        ? { status: 'pass', message: `openafs.ko loaded in kernel ${g!.release}${c.params.module ? ` (for ${String(c.params.module)})` : ''}` }
        : { status: 'fail', message: `openafs is not in ${guest}'s /proc/modules` };
    }
    case 'afs-resolves':
    case 'client-anon-refused':
    case 'client-tokens':
    case 'cross-realm-token':
    case 'client-file-rw':
    case 'client-acl-list':
    case 'client-acl-write':
    case 'client-quota':
    case 'client-servers':
    case 'acl-write':
    case 'quota-exceeded':
    case 'ro-release':
    case 'mount-point':
      if (!pid) return { status: 'fail', message: `QEMU of ${guest} is not running` };
      if (!Object.values(P.w.clients).some((cl) => cl.guest === guest)) return { status: 'fail', message: `no AFS client on ${guest}` };
      if (!x || x.reg.afsDb.length === 0) return { status: 'skip', message: NO_SERVERS };
      return (await (kernelAccessCheck(x, c, pw) ?? kernelClientCheck(x, c, pw)))!;
    case 'keytab-kinit':
      if (!x) return { status: 'skip', message: NO_SERVERS };
      return keytabKinit(x, x.place(guest), String(c.params.principal));
    default:
      return (x && (await serviceCheck(x, c, pw))) || { status: 'skip', message: x ? `check kind ${c.kind} is not run by this driver` : NO_SERVERS };
  }
}
