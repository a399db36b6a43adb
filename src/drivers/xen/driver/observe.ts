// What is really there, from the real hypervisor: status (`xl info` of each host, `xl list`'s
// domains with their ids, memory and state; modules, partitions, afsd, the KDC and AFS servers
// through the domU agents),
// a domU's console as xenconsoled logged it from its first byte (what `xl create -c` shows), the
// checks a smoke runs, and a per-resource read for refresh.
import { existsSync, readFileSync } from 'node:fs';
import type { AppliedResource, Check, CheckResult, DriverStatus, Observed, ServiceStatus } from '../../driver.js';
import { guestFacts } from '../../linux-guest/facts.js';
import { ENTRIES, guestServiceCheck, guestSideStatus, observeGuestSide, observeService, serviceStatus } from '../../linux-guest/observe.js';
import type { Services } from '../../services/placement.js';
import type { GuestAgent } from '../../vm/agent.js';
import { xenHostPaths, type XenHost } from '../host.js';
import { consoleLogPath, xlInfo, xlList, type XlDomain } from '../xl.js';
import type { HostOf } from './domains.js';
import type { Places } from './world.js';

const CONSOLE_LINES = 3000;
// a domU answers through dom0's relay: a few execs in a PV dom0 under TCG, seconds each on a busy machine
const FACTS_WAIT_MS = 30_000;
const STATES: Record<string, string> = { r: 'running', b: 'blocked', p: 'paused', s: 'shutdown', c: 'crashed', d: 'dying' };

/** A domU's agent through its host's dom0, if its host runs (undefined otherwise). */
export type AgentOf = (guest: string) => Promise<GuestAgent | undefined>;

/** xl list's state flags in words: "-b----" -> "-b---- (blocked)". */
export function stateWords(flags: string): string {
  const words = [...flags].filter((c) => c !== '-').map((c) => STATES[c] ?? c);
  return `${flags} (${words.join(', ') || 'running, no state flag'})`;
}

/** The domain of a recorded domU in its host's `xl list`, or why there is none. */
async function domainOf(P: Places, hostOf: HostOf, guest: string): Promise<{ host?: XenHost; dom?: XlDomain; why: string }> {
  const rec = P.w.guests[guest];
  if (!rec) return { why: `not recorded by the xen driver` };
  const host = hostOf(rec.host);
  if (!host) return { why: `Xen host ${rec.host} is not running` };
  const dom = (await xlList(host)).find((d) => d.name === guest);
  return dom ? { host, dom, why: '' } : { host, why: `${guest} is not in xl list on ${rec.host}` };
}

const dead = (d: XlDomain) => /[scd]/.test(d.state);

export async function status(P: Places, hostOf: HostOf, agentOf: AgentOf, x: Services): Promise<DriverStatus> {
  const hosts: DriverStatus['hosts'] = [];
  const domains: DriverStatus['domains'] = [];
  const services: ServiceStatus[] = [];
  for (const [name, h] of Object.entries(P.w.hosts)) {
    const host = hostOf(name);
    const info = host ? await xlInfo(host, 10_000).catch(() => undefined) : undefined;
    if (!info) {
      hosts.push({ name, memory: h.memory, used: 0, free: 0 });
      services.push({ address: `host.${name}`, guest: '-', state: 'down', detail: host ? `QEMU pid ${host.dom0.pid} runs; xl info does not answer` : 'the Xen host (QEMU) is not running' });
      continue;
    }
    hosts.push({ name, memory: info.totalMemoryMiB, used: info.totalMemoryMiB - info.freeMemoryMiB, free: info.freeMemoryMiB });
    services.push({ address: `host.${name}`, guest: '-', state: 'up', pid: host!.dom0.pid, detail: `Xen ${info.xenVersion} (xl info: ${info.totalMemoryMiB} MiB, ${info.freeMemoryMiB} free, ${info.nrCpus} cpus), QEMU ${host!.dom0.accel.accel} in ${h.netns}` });
    const listed = await xlList(host!);
    for (const d of listed) {
      const g = P.w.guests[d.name];
      const vifs = g && g.host === name ? g.ips.map((ip, i) => `${ip ?? '-'}@${g.bridges[i]}`) : [];
      domains.push({ id: d.id, name: d.name, host: name, state: stateWords(d.state), memory: d.memMiB, vifs });
    }
    for (const [g, rec] of Object.entries(P.w.guests)) {
      if (rec.host === name && !listed.some((d) => d.name === g)) domains.push({ id: null, name: g, host: name, state: rec.state === 'starting' ? 'starting' : 'not in xl list', memory: rec.memory, vifs: [] });
    }
  }
  for (const [name, g] of Object.entries(P.w.guests)) {
    const { dom, why } = await domainOf(P, hostOf, name).catch((e: Error) => ({ dom: undefined, why: e.message }));
    services.push({
      address: `guest.${name}`, guest: name, state: dom && !dead(dom) ? 'up' : 'down',
      detail: `${dom ? `domain ${dom.id} on ${g.host}, ${stateWords(dom.state)}` : why}; ${g.memory} MiB${g.asked !== g.memory ? ` (cell asks ${g.asked})` : ''}, ${g.vcpus} vcpu, kernel ${g.release ?? '?'}${g.standIn ? ' (stand-in)' : ''}${g.config ? `, ${g.config}` : ''}`,
    });
    const f = dom && !dead(dom) ? await guestFacts(await agentOf(name), FACTS_WAIT_MS) : undefined;
    services.push(...guestSideStatus(P.w, name, f, (p, dev, fs) => `${dev} (${fs}, xl block-attach vdev ${p.vdev}, ${p.image}) on ${p.path}`));
    if (f) services.push(...(await serviceStatus(x, name)));
  }
  return { hosts, domains, services };
}

/** The domU's console from its first byte, as xenconsoled logged it (what `xl create -c` shows). */
export function consoleOf(P: Places, guest: string): string {
  const rec = P.w.guests[guest];
  if (!rec) return `xen driver: guest ${guest} is not a domU of this cell (never created, or destroyed)`;
  const logOf = (host: string) => consoleLogPath({ logDir: xenHostPaths(P.w.hosts[host]?.dir ?? P.hostDir(host)).logDir }, guest);
  const file = logOf(rec.host);
  if (!existsSync(file) && !rec.ranOn?.length) return `xen driver: ${guest} has no console log on ${rec.host} (${file}): xl create has not run`;
  // after a migration: what it wrote on the hosts it left, then on this one (xl console shows this one's only)
  const parts = [...(rec.ranOn ?? []), rec.host].map((h, i) => {
    const text = existsSync(logOf(h)) ? readFileSync(logOf(h), 'utf8').trimEnd() : '';
    return i === 0 ? text : `--- ${guest} moved to ${h} (cellctl migrate); its console there:${text ? `\n${text}` : ''}`;
  });
  const lines = parts.join('\n').split('\n');
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
 * What is really there for one recorded resource (refresh): a host's QEMU and `xl info`, a domU
 * in `xl list` (not crashed or shutting down), a module in /proc/modules, a partition mounted,
 * afsd running with /afs mounted.
 */
export async function observe(P: Places, hostOf: HostOf, agentOf: AgentOf, x: Services, prior: AppliedResource): Promise<Observation> {
  const at = (present: boolean, detail: string): Observation => ({ address: prior.address, present, detail });
  const entry = ENTRIES[prior.type];
  if (entry) return at(true, entry);
  if (prior.type === 'host') {
    const host = P.w.hosts[prior.name]?.state === 'running' ? hostOf(prior.name) : undefined;
    if (!host) return at(false, `the Xen host ${prior.name} is not running`);
    const info = await xlInfo(host, 10_000).catch((e: Error) => e);
    return info instanceof Error ? at(false, `QEMU pid ${host.dom0.pid} runs but xl info fails: ${info.message}`) : at(true, `QEMU pid ${host.dom0.pid}, Xen ${info.xenVersion}`);
  }
  const guest = prior.type === 'guest' ? prior.name : (prior.attrs as { guest?: string }).guest;
  if (!guest || !P.w.guests[guest]) return at(false, 'not recorded by the xen driver');
  const { dom, why } = await domainOf(P, hostOf, guest);
  if (!dom) return at(false, why);
  if (dead(dom)) return at(false, `domain ${dom.id} is ${stateWords(dom.state)}`);
  if (prior.type === 'guest') return at(true, `domain ${dom.id}, ${stateWords(dom.state)}, ${dom.memMiB} MiB`);
  const f = await guestFacts(await agentOf(guest), FACTS_WAIT_MS);
  if (!f) return at(false, `domain ${dom.id} runs; its agent does not answer`);
  switch (prior.type) {
    case 'kdc':
    case 'afs-db':
    case 'afs-fs':
      return { address: prior.address, ...(await observeService(x, prior)) };
    default: {
      const o = observeGuestSide(P.w, prior, f, 'xen');
      return o ? { address: prior.address, ...o } : at(false, `${prior.type} is not realized by the xen driver`);
    }
  }
}

const NO_SERVERS = 'the cell places no AFS database server in a domU, so there is no cell to reach';

export async function check(P: Places, hostOf: HostOf, agentOf: AgentOf, x: Services, c: Check, pw: (principal: string) => string): Promise<CheckResult> {
  const guest = c.guest ?? '';
  const g = P.w.guests[guest];
  // xl list in dom0 costs seconds under TCG: asked only by the checks of the domain itself; the
  // others go to the domU's agent, whose failure says the same
  const domain = () => domainOf(P, hostOf, guest).catch((e: Error) => ({ dom: undefined, why: e.message }));
  switch (c.kind) {
    case 'guest-running': {
      const { dom, why } = await domain();
      if (!dom) return { status: 'fail', message: why };
      if (dead(dom)) return { status: 'fail', message: `domain ${dom.id} of ${guest} is ${stateWords(dom.state)}` };
      const agent = await agentOf(guest);
      const up = await agent?.exec('cat', ['/proc/uptime'], { timeoutMs: 15_000 }).then((r) => r.stdout.split(' ')[0], () => undefined);
      return up
        ? { status: 'pass', message: `domain ${dom.id} on ${g!.host} (xl list: ${stateWords(dom.state)}, ${dom.memMiB} MiB), kernel ${g!.release}, domU uptime ${up} s` }
        : { status: 'fail', message: `domain ${dom.id} is in xl list but its agent does not answer` };
    }
    case 'client-module': {
      const { dom, why } = await domain();
      const f = dom ? await guestFacts(await agentOf(guest), FACTS_WAIT_MS) : undefined;
      if (!f) return { status: 'fail', message: dom ? `domU ${guest} does not answer` : why };
      return f.modules.has('openafs')
        ? { status: 'pass', message: `openafs.ko loaded in the domU's kernel ${g!.release}${c.params.module ? ` (for ${String(c.params.module)})` : ''}` }
        : { status: 'fail', message: `openafs is not in ${guest}'s /proc/modules` };
    }
    default:
      return guestServiceCheck(x, c, pw, !!P.w.clients[guest], NO_SERVERS);
  }
}
