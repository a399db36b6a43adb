// What is really there: status (QEMU pids, memory, taps, accelerator, modules, afsd), the guests'
// serial consoles, the checks a smoke runs, and a per-resource read for refresh.
import { existsSync, readFileSync } from 'node:fs';
import type { AppliedResource, Check, CheckResult, DriverStatus, Observed, ServiceStatus } from '../driver.js';
import { netnsExists } from '../netns/namespaces.js';
import type { Services } from '../services/placement.js';
import type { GuestAgent } from '../vm/agent.js';
import { guestAlive } from '../vm/qemu.js';
import { guestPaths } from '../vm/qemu-args.js';
import { guestFacts } from '../linux-guest/facts.js';
import { CLIENT_CHECKS, ENTRIES, guestServiceCheck, guestSideStatus, observeGuestSide, observeService, serviceStatus } from '../linux-guest/observe.js';
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
    services.push(...guestSideStatus(P.w, name, f, (p, dev, fs) => `${dev} (${fs}, ${p.image}) on ${p.path}`));
    if (f && x) services.push(...(await serviceStatus(x, name)));
  }
  return { hosts, domains, services };
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
    case 'kdc':
    case 'afs-db':
    case 'afs-fs':
      return { address: prior.address, ...(await observeService(x, prior)) };
    default: {
      const o = observeGuestSide(P.w, prior, f, 'qemu');
      return o ? { address: prior.address, ...o } : at(false, `${prior.type} is not realized by the qemu driver`);
    }
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
    default:
      if (CLIENT_CHECKS.has(c.kind) && !pid) return { status: 'fail', message: `QEMU of ${guest} is not running` };
      return guestServiceCheck(x, c, pw, Object.values(P.w.clients).some((cl) => cl.guest === guest), NO_SERVERS);
  }
}
