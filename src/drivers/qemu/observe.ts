// What is really there: status (QEMU pids, memory, taps, accelerator, modules, afsd), the guests'
// serial consoles, the checks a smoke runs, and a per-resource read for refresh.
import { existsSync, readFileSync } from 'node:fs';
import type { AppliedResource, Check, CheckResult, DriverStatus, ServiceStatus } from '../driver.js';
import { netnsExists } from '../netns/namespaces.js';
import type { GuestAgent } from '../vm/agent.js';
import { guestAlive } from '../vm/qemu.js';
import { guestPaths } from '../vm/qemu-args.js';
import { afsdPids, afsMounted } from './client.js';
import { loadedModules } from './modules.js';
import { partitionMounted } from './partitions.js';
import type { Places } from './world.js';

const CONSOLE_LINES = 3000;

/** A guest's agent, if its QEMU runs (undefined otherwise). */
export type AgentOf = (guest: string) => GuestAgent | undefined;

/** Asks the guest, but a guest that does not answer within a few seconds is reported, not waited for. */
async function ask<T>(agent: GuestAgent | undefined, f: (a: GuestAgent) => Promise<T>): Promise<T | undefined> {
  if (!agent) return undefined;
  try {
    await agent.ping(5_000);
    return await f(agent);
  } catch {
    return undefined;
  }
}

export async function status(P: Places, agentOf: AgentOf): Promise<DriverStatus> {
  const hosts = Object.entries(P.w.hosts).map(([name, h]) => {
    const used = h.dom0 + Object.values(P.w.guests).filter((g) => g.host === name).reduce((s, g) => s + g.memory, 0);
    return { name, memory: h.memory, used, free: h.memory - used };
  });
  const domains: DriverStatus['domains'] = [];
  const services: ServiceStatus[] = [];
  for (const [name, g] of Object.entries(P.w.guests)) {
    const pid = guestAlive(guestPaths(g.dir).pidfile);
    const accel = g.accel?.split(':')[0] ?? '?';
    domains.push({
      id: null, name, host: g.host, memory: g.memory, vifs: g.ips.map((ip, i) => `${ip ?? '-'}@${g.taps[i]}`),
      state: pid ? `running (qemu pid ${pid}, ${accel})` : g.state === 'starting' ? 'starting' : 'not running',
    });
    services.push({
      address: `guest.${name}`, guest: name, state: pid ? 'up' : 'down', ...(pid ? { pid } : {}),
      detail: `${g.memory} MiB${g.asked !== g.memory ? ` (cell asks ${g.asked})` : ''}, ${g.vcpus} vcpu, kernel ${g.release ?? '?'}${g.standIn ? ' (stand-in)' : ''}, ${g.accel ?? 'accelerator not chosen yet'}, taps ${g.taps.join(',') || '-'} in ${g.netns}`,
    });
    const agent = pid ? agentOf(name) : undefined;
    const loaded = await ask(agent, loadedModules);
    for (const [res, m] of Object.entries(P.w.modules).filter(([, m]) => m.guest === name)) {
      const up = !!m.loadedAs && !!loaded?.has(m.loadedAs);
      services.push({ address: `module.${res}`, guest: name, state: up ? 'up' : 'down', detail: m.loadedAs ? `${m.loadedAs} ${up ? 'loaded' : 'not loaded'}${m.loadedAs !== m.name ? ` (for ${m.module})` : ''}` : `nothing stays loaded for ${m.module}` });
    }
    if (P.w.clients[name]) {
      const pids = (await ask(agent, afsdPids)) ?? [];
      const mounted = (await ask(agent, afsMounted)) ?? false;
      services.push({ address: `afs-client.${name}`, guest: name, state: pids.length && mounted ? 'up' : 'down', ...(pids[0] ? { pid: pids[0] } : {}), detail: `afsd ${pids.length} processes, /afs ${mounted ? 'mounted' : 'not mounted'}` });
    }
    for (const [res, p] of Object.entries(P.w.partitions).filter(([, p]) => p.guest === name)) {
      const dev = await ask(agent, (a) => partitionMounted(a, p.path));
      services.push({ address: `partition.${res}`, guest: name, state: dev ? 'up' : 'down', detail: dev ? `${dev} (ext4 ${p.image}) on ${p.path}` : `${p.path} not mounted` });
    }
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

export interface Observed {
  address: string;
  present: boolean;
  detail: string;
}

/**
 * What is really there for one recorded resource (refresh): a host's namespace, a guest's QEMU and
 * agent, a module in /proc/modules, a partition mounted, afsd running with /afs mounted.
 */
export async function observe(P: Places, agentOf: AgentOf, prior: AppliedResource): Promise<Observed> {
  const at = (present: boolean, detail: string): Observed => ({ address: prior.address, present, detail });
  const guestName = prior.type === 'guest' ? prior.name : (prior.attrs as { guest?: string }).guest;
  const g = guestName ? P.w.guests[guestName] : undefined;
  const pid = g ? guestAlive(guestPaths(g.dir).pidfile) : undefined;
  const agent = pid && guestName ? agentOf(guestName) : undefined;
  switch (prior.type) {
    case 'host': {
      const ns = P.hostNs(prior.name);
      return at(netnsExists(ns), netnsExists(ns) ? `namespace ${ns}` : `namespace ${ns} is gone`);
    }
    case 'guest': {
      if (!pid) return at(false, `QEMU of ${prior.name} is not running`);
      const answers = (await ask(agent, async () => true)) ?? false;
      return at(answers, `QEMU pid ${pid}${answers ? ', agent answers' : ', agent does not answer'}`);
    }
    case 'module': {
      const m = P.w.modules[prior.name];
      if (!m) return at(false, 'not recorded by the qemu driver');
      if (!m.loadedAs) return at(true, `nothing stays loaded for ${m.module}`);
      const loaded = await ask(agent, loadedModules);
      return at(!!loaded?.has(m.loadedAs), loaded ? `${m.loadedAs} ${loaded.has(m.loadedAs) ? 'is' : 'is not'} in /proc/modules` : `guest ${m.guest} does not answer`);
    }
    case 'partition': {
      const p = P.w.partitions[prior.name];
      const dev = p ? await ask(agent, (a) => partitionMounted(a, p.path)) : undefined;
      return at(!!dev, dev ? `${dev} mounted on ${p!.path}` : `${String(prior.attrs.path)} is not mounted`);
    }
    case 'afs-client': {
      const pids = (await ask(agent, afsdPids)) ?? [];
      const mounted = (await ask(agent, afsMounted)) ?? false;
      return at(pids.length > 0 && mounted, `afsd ${pids.length ? `running (${pids.length} processes)` : 'not running'}, /afs ${mounted ? 'mounted' : 'not mounted'}`);
    }
    default:
      return at(false, `${prior.type} is not realized by the qemu driver`);
  }
}

const NO_SERVERS = 'the qemu driver does not yet place AFS database and file servers in its guests, so there is no cell to reach';

export async function check(P: Places, agentOf: AgentOf, c: Check): Promise<CheckResult> {
  const guest = c.guest ?? '';
  const g = P.w.guests[guest];
  const pid = g ? guestAlive(guestPaths(g.dir).pidfile) : undefined;
  const agent = pid ? agentOf(guest) : undefined;
  switch (c.kind) {
    case 'guest-running': {
      if (!pid) return { status: 'fail', message: `QEMU of ${guest} is not running` };
      const up = await ask(agent, async (a) => (await a.exec('cat', ['/proc/uptime'])).stdout.split(' ')[0]);
      return up
        ? { status: 'pass', message: `QEMU pid ${pid} (${g!.accel}), kernel ${g!.release}, guest uptime ${up} s` }
        : { status: 'fail', message: `QEMU pid ${pid} runs but the guest agent does not answer` };
    }
    case 'client-module': {
      const loaded = await ask(agent, loadedModules);
      if (!loaded) return { status: 'fail', message: `guest ${guest} does not answer` };
      return loaded.has('openafs')
        ? { status: 'pass', message: `openafs.ko loaded in kernel ${g!.release}${c.params.module ? ` (for ${String(c.params.module)})` : ''}` }
        : { status: 'fail', message: `openafs is not in ${guest}'s /proc/modules` };
    }
    case 'afs-resolves':
    case 'client-anon-refused':
    case 'client-tokens':
    case 'client-file-rw':
      if (!Object.values(P.w.clients).some((x) => x.guest === guest)) return { status: 'fail', message: `no AFS client on ${guest}` };
      return { status: 'skip', message: NO_SERVERS };
    default:
      return { status: 'skip', message: `check kind ${c.kind} is not run by the qemu driver` };
  }
}
