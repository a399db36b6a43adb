// --driver xen: every host of the cell is a real Xen 4.17 hypervisor (nested in QEMU, the Xen
// kit) with a Debian dom0 in the host's network namespace; every guest is a PV domU made by the
// real `xl create` in its host's dom0, from the config `cellctl export --format xl` writes.
// Modules are judged by the domU's real kernel; client domUs run the real OpenAFS kernel client;
// KDCs and AFS servers run in the domUs through the service layer (placement.ts).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import type { Catalog } from '../../../catalog/types.js';
import type { Json, Resource } from '../../../plan/resources.js';
import { Masker } from '../../../render/mask.js';
import { capabilitiesOf } from '../../capabilities.js';
import { PRESENT, type AppliedResource, type Check, type CheckResult, type Driver, type DriverContext, type DriverStatus, type MigrateOptions, type Observed } from '../../driver.js';
import { createClient, deleteClient } from '../../linux-guest/afs-client.js';
import { createModule, deleteModule } from '../../linux-guest/modules.js';
import { purgeProcessesAndNamespaces } from '../../linux-guest/places.js';
import { masked, maskedResult, serviceResources } from '../../linux-guest/services.js';
import { Runner } from '../../netns/exec.js';
import { createPartition as servePartition, forgetPartition } from '../../services/afs-fs.js';
import { writeNameFiles } from '../../services/afs-servers.js';
import type { GuestAgent } from '../../vm/agent.js';
import { hostKernelImage } from '../../vm/host-kernel.js';
import { isStaticElf } from '../../vm/kimage.js';
import { guestPaths } from '../../vm/qemu-args.js';
import { openDomuAgent } from '../domu-agent.js';
import { attachXenHost, prepareDom0Boot, xenHostAlive, xenHostPaths, type XenHost } from '../host.js';
import { findXen } from '../hypervisor.js';
import { xlList, xlMemSet } from '../xl.js';
import { createDomu, deleteDomu, domuBootCache, serverMemory } from './domains.js';
import { createXenHost, deleteXenHost } from './hosts.js';
import { migrateDomu } from './move.js';
import { domuMemory, domuServerMemory } from './notes.js';
import { check, consoleOf, observe, status, type Observation } from './observe.js';
import { createPartition, deletePartition } from './partitions.js';
import { xenServices } from './placement.js';
import { DOMU_ROOT_PACKAGES } from './storage.js';
import { Places } from './world.js';

export interface XenDriver extends Driver {
  /** What is really there for a recorded resource (what refresh reads). */
  observe(prior: AppliedResource): Promise<Observation>;
  /** A running domU's agent, through its host's dom0 (tests, smoke checks; services in phase B). */
  agent(guest: string): Promise<GuestAgent | undefined>;
  /** A running Xen host (its dom0's agent runs xl). */
  host(name: string): XenHost | undefined;
  readonly prefix: string;
}

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const which = (cmd: string): boolean => (cmd.startsWith('/') ? existsSync(cmd) : [...(process.env.PATH ?? '').split(':'), ...PATH_DIRS].some((d) => d && existsSync(join(d, cmd))));

/** Can the xen driver run here? Root, QEMU, Xen with its toolstack, a kernel with its modules, a static busybox, the client packages. */
export function xenPrerequisites(catalog: Catalog): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'the xen driver needs Linux (network namespaces, taps)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the xen driver needs root (network namespaces, taps, loop devices)' };
  const series = catalog.standIns.xen_host.xen_series;
  const missing: string[] = [];
  try {
    findXen({ series });
  } catch (e) {
    missing.push((e as Error).message);
  }
  for (const [cmd, pkg] of [['qemu-system-x86_64', 'qemu-system-x86'], ['ip', 'iproute2'], ['mke2fs', 'e2fsprogs'], ['modprobe', 'kmod'], ['afsd', 'openafs-client'], ['aklog', 'openafs-krb5'], ['kinit', 'krb5-user'],
    ['krb5kdc', 'krb5-kdc'], ['kadmin.local', 'krb5-admin-server'], ['bosserver', 'openafs-fileserver'], ['/usr/lib/openafs/ptserver', 'openafs-dbserver']]) {
    if (!which(cmd!)) missing.push(`${cmd} (${pkg})`);
  }
  try {
    const { release } = hostKernelImage();
    if (!existsSync(`/lib/modules/${release}/modules.dep`)) missing.push(`/lib/modules/${release} (linux-image-amd64)`);
  } catch (e) {
    missing.push((e as Error).message);
  }
  let bb: Buffer | undefined;
  try {
    bb = readFileSync('/bin/busybox');
  } catch {
    /* missing */
  }
  if (!bb || !isStaticElf(bb)) missing.push('a static /bin/busybox (busybox-static)');
  if (missing.length) {
    return { ok: false, reason: `missing ${missing.join(', ')}: apt-get install -y --no-install-recommends xen-hypervisor-${series}-amd64 xen-utils-${series} qemu-system-x86 linux-image-amd64 busybox-static ${DOMU_ROOT_PACKAGES.join(' ')}` };
  }
  try {
    execaSync('qemu-system-x86_64', ['--version']);
  } catch (e) {
    return { ok: false, reason: `qemu-system-x86_64 does not run: ${(e as Error).message}` };
  }
  return { ok: true };
}

export function createXenDriver(ctx: DriverContext): XenDriver {
  const masker = new Masker(ctx.secrets.all());
  const r = new Runner(masker);
  const P = new Places(ctx.cell, ctx.realm, ctx.stateDir, ctx.world, (w) => ctx.checkpoint(w));
  const log = (line: string) => ctx.log(masker.mask(line));
  const domuBoot = domuBootCache();
  let dom0Boot: ReturnType<typeof prepareDom0Boot> | undefined;
  const hosts = new Map<string, XenHost>();
  const agents = new Map<string, GuestAgent>();
  const opening = new Map<string, Promise<GuestAgent>>();

  /** The running Xen host (started by this process, or found from its directory). */
  const hostOf = (name: string): XenHost | undefined => {
    const known = hosts.get(name);
    if (known && xenHostAlive(known)) return known;
    known?.dom0.agent.close();
    const rec = P.w.hosts[name];
    const h = rec ? attachXenHost(rec.dir) : undefined;
    if (h) hosts.set(name, h);
    else hosts.delete(name);
    return h;
  };
  const keepAgent = (guest: string, a: GuestAgent) => {
    const old = agents.get(guest);
    if (old && old !== a) old.close();
    agents.set(guest, a);
  };
  const dropAgent = (guest: string) => {
    agents.get(guest)?.close();
    agents.delete(guest);
  };
  const agentOf = async (guest: string): Promise<GuestAgent | undefined> => {
    const rec = P.w.guests[guest];
    const host = rec?.state === 'running' ? hostOf(rec.host) : undefined;
    if (!host) return undefined;
    const a = agents.get(guest);
    if (a) return a;
    // one agent per domU even when reads run in parallel: QEMU serves one connection per port,
    // a second one would wait behind the first for ever
    let p = opening.get(guest);
    if (!p) {
      p = openDomuAgent(host, guest).then((x) => (keepAgent(guest, x), x)).finally(() => opening.delete(guest));
      opening.set(guest, p);
    }
    return p;
  };
  const mustAgent = async (guest: string): Promise<GuestAgent> => {
    const a = await agentOf(guest);
    if (!a) throw new Error(`guest ${guest} is not running (create guest.${guest} first)`);
    return a;
  };
  const mustHostOf = (guest: string): XenHost => {
    const h = hostOf(P.guest(guest).host);
    if (!h) throw new Error(`the Xen host of ${guest} is not running`);
    return h;
  };

  const x = xenServices(P, hostOf, agentOf, masker, log);
  const svc = serviceResources(ctx, x, masker, capabilitiesOf('xen').kdcProducts ?? []);

  const create = async (res: Resource): Promise<Record<string, Json>> => masked(masker, async () => {
    if (res.type === 'kdc' || res.type === 'afs-db' || res.type === 'afs-fs') {
      const g = res.attrs.guest;
      await P.inKernel(g, async () => serverMemory(P, hostOf, await mustAgent(g), ctx.catalog, g, log));
    }
    const service = svc.create(res);
    if (service) return service;
    switch (res.type) {
      case 'host': {
        dom0Boot ??= prepareDom0Boot();
        const { host, outputs } = await createXenHost(r, P, ctx.catalog, () => dom0Boot!, res.name, res.attrs, log);
        hosts.set(res.name, host);
        return outputs;
      }
      case 'guest': {
        const { agent, outputs } = await createDomu(P, hostOf, domuBoot, ctx.catalog, res.name, res.attrs, log);
        keepAgent(res.name, agent);
        return outputs;
      }
      case 'module':
        return createModule({ side: P.side, catalog: ctx.catalog, agent: await mustAgent(res.attrs.guest), log }, res.name, res.attrs);
      case 'partition': {
        const out = await createPartition(P, mustHostOf(res.attrs.guest), await mustAgent(res.attrs.guest), res.name, res.attrs);
        // the fileserver's side: dafs restarted if it does not list the partition yet
        if (x.reg.bos[res.attrs.guest]) await servePartition(x, x.place(res.attrs.guest), res.attrs.path);
        return out;
      }
      case 'afs-client': {
        const g = res.attrs.guest;
        return createClient(P.side, await mustAgent(g), res.attrs, log, () => writeNameFiles(x, x.place(g)));
      }
      default:
        throw new Error(`${res.address}: the xen driver does not realize ${res.type} resources`);
    }
  });

  const del = async (prior: AppliedResource): Promise<void> => masked(masker, async () => {
    const service = svc.delete(prior);
    if (service) return service;
    const on = (prior.attrs as { guest?: unknown }).guest;
    const guest = typeof on === 'string' && P.w.guests[on] ? on : undefined;
    const agent = guest ? await agentOf(guest).catch(() => undefined) : undefined;
    switch (prior.type) {
      case 'host': {
        const how = await deleteXenHost(r, P, prior.name, hosts.get(prior.name));
        hosts.delete(prior.name);
        if (how !== 'not-running') log(`host ${prior.name}: Xen host stopped (${how})`);
        return;
      }
      case 'guest': {
        dropAgent(prior.name);
        const how = await deleteDomu(P, hostOf, prior.name);
        if (how !== 'not running') log(`guest ${prior.name}: ${how}`);
        return;
      }
      case 'module':
        return deleteModule(P.side, agent, prior.name, log);
      case 'partition':
        await deletePartition(P, guest ? hostOf(P.guest(guest).host) : undefined, agent, prior.name);
        return forgetPartition(x, prior.attrs.guest, prior.attrs.path);
      case 'afs-client':
        return deleteClient(P.side, agent, prior.name, log);
      default:
        return;
    }
  });

  /** Everything of this cell, recorded or not: QEMU processes under the state dir, namespaces by prefix, sockets, files. */
  const purge = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const a of agents.values()) a.close();
    agents.clear();
    for (const h of hosts.values()) h.dom0.agent.close();
    hosts.clear();
    found.push(...(await purgeProcessesAndNamespaces(r, P.root, P.prefix)));
    // dom0's sockets (and the domU agents' beside them) live in a directory of their own when the state path is long
    const onDisk = existsSync(join(P.root, 'hosts')) ? readdirSync(join(P.root, 'hosts')).map((h) => join(P.root, 'hosts', h)) : [];
    for (const dir of new Set([...Object.values(P.w.hosts).map((h) => h.dir), ...onDisk])) {
      const sd = guestPaths(xenHostPaths(dir).dom0Dir).socketDir;
      if (sd && existsSync(sd)) {
        rmSync(sd, { recursive: true, force: true });
        found.push(`socket directory ${sd}`);
      }
    }
    if (existsSync(P.root)) rmSync(P.root, { recursive: true, force: true });
    P.reset();
    return found;
  };

  return {
    name: 'xen',
    capabilities: capabilitiesOf('xen'),
    prefix: P.prefix,
    create,
    async update(prior: AppliedResource, res: Resource) {
      if (res.type === 'guest' && prior.type === 'guest') {
        // memory is the one thing a running domain takes in place: xl mem-set, up to its maxmem
        const rec = P.guest(res.name);
        const asked = domuMemory(res.attrs.memory, ctx.catalog).memory;
        // never below what the KDC or AFS servers placed in it need
        const servers = !!x.reg.kdcs[res.name] || x.reg.afsDb.includes(res.name) || !!x.reg.afsFs[res.name];
        const memory = servers ? domuServerMemory(asked, ctx.catalog).memory : asked;
        if (memory !== rec.memory) {
          await xlMemSet(mustHostOf(res.name), res.name, memory);
          rec.memory = memory;
          rec.asked = res.attrs.memory;
          P.save();
          log(`guest ${res.name}: xl mem-set ${res.name} ${memory}m`);
        }
        return create(res);
      }
      if (res.type === 'host' && prior.type === 'host') {
        const h = P.w.hosts[res.name];
        const fixed = h && (h.memory !== res.attrs.memory || h.cpus !== res.attrs.cpus || h.dom0 !== res.attrs.dom0_memory || h.bridges.join() !== res.attrs.bridges.join());
        if (fixed) throw new Error(`${res.address}: a running Xen host's memory, cpus, dom0 memory and bridges are set when it boots: destroy the host and apply again`);
        if (h) {
          h.sharedStorage = [...res.attrs.shared_storage];
          P.save();
        }
      }
      await svc.update(prior, res);
      return create(res); // every create converges on what exists
    },
    delete: del,
    console: async (guest: string) => consoleOf(P, guest),
    status: (): Promise<DriverStatus> => status(P, hostOf, agentOf, x),
    async check(c: Check): Promise<CheckResult> {
      return maskedResult(masker, await check(P, hostOf, agentOf, x, c, svc.pw).catch((e: Error): CheckResult => ({ status: 'fail', message: e.message })));
    },
    migrate: (guest: string, toHost: string, o: MigrateOptions = {}) =>
      migrateDomu(P, hostOf, { drop: dropAgent, set: keepAgent }, ctx.catalog, guest, toHost, o, log),
    observe: (prior) => observe(P, hostOf, agentOf, x, prior),
    async read(prior: AppliedResource): Promise<Observed> {
      const o = await observe(P, hostOf, agentOf, x, prior);
      if (o.observed) return o.observed;
      if (o.present) return PRESENT;
      // An AFS client whose domain still runs is restarted in place; anything else is made again.
      const g = prior.type === 'afs-client' ? P.w.guests[prior.attrs.guest] : undefined;
      const host = g ? hostOf(g.host) : undefined;
      const up = host ? (await xlList(host).catch(() => [])).some((d) => d.name === (prior.attrs as { guest?: string }).guest) : false;
      return up ? { state: 'degraded', reason: o.detail, repair: 'update' } : { state: 'absent', reason: o.detail };
    },
    agent: agentOf,
    host: hostOf,
    purge,
    snapshot: () => P.w,
    async close() {
      for (const a of agents.values()) a.close();
      agents.clear();
      for (const h of hosts.values()) h.dom0.agent.close();
      hosts.clear();
    },
  };
}
