// --driver qemu: every guest of the cell is a real Linux VM (QEMU, KVM only where a probe boot
// works, else TCG), in its host's network namespace with a tap per vif on the host's bridges. Modules
// are judged by the guest's real kernel; client guests run the real OpenAFS kernel client.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { Masker } from '../../render/mask.js';
import type { Json, Resource } from '../../plan/resources.js';
import { capabilitiesOf } from '../capabilities.js';
import { PRESENT, type AppliedResource, type Check, type CheckResult, type Driver, type DriverContext, type DriverStatus, type Observed } from '../driver.js';
import { Runner } from '../netns/exec.js';
import type { GuestAgent } from '../vm/agent.js';
import { isStaticElf } from '../vm/kimage.js';
import { hostKernelImage } from '../vm/host-kernel.js';
import { attachGuest, guestAlive, type Guest } from '../vm/qemu.js';
import { guestPaths } from '../vm/qemu-args.js';
import { purgeProcessesAndNamespaces } from '../linux-guest/places.js';
import { masked, maskedResult, serviceResources } from '../linux-guest/services.js';
import { createPartition as servePartition, forgetPartition } from '../services/afs-fs.js';
import { createClient, deleteClient } from './client.js';
import { bootCache, createQemuGuest, createQemuHost, deleteQemuGuest, deleteQemuHost } from './guests.js';
import { createModule, deleteModule } from './modules.js';
import { check, consoleOf, observe, status, type Observation } from './observe.js';
import { createPartition, deletePartition, qmpTarget } from './partitions.js';
import { qemuServices } from './placement.js';
import { Places } from './world.js';

/** The guest a resource lives on, from its attributes seen generically. */
export function guestOfAttrs(attrs: object): string | undefined {
  const g = (attrs as { guest?: unknown }).guest;
  return typeof g === 'string' ? g : undefined;
}

export interface QemuDriver extends Driver {
  /** What is really there for a recorded resource (to be wired into refresh). */
  observe(prior: AppliedResource): Promise<Observation>;
  /** A running guest's agent (tests, smoke checks); undefined when its QEMU is not running. */
  agent(guest: string): GuestAgent | undefined;
  readonly prefix: string;
}

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const which = (cmd: string): boolean => [...(process.env.PATH ?? '').split(':'), ...PATH_DIRS].some((d) => d && existsSync(join(d, cmd)));

/** Can the qemu driver run here? Root, QEMU, a kernel with its modules, a static busybox, iproute2, e2fsprogs. */
export function qemuPrerequisites(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'the qemu driver needs Linux (network namespaces, taps)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the qemu driver needs root (network namespaces, taps)' };
  const missing: string[] = [];
  for (const [cmd, pkg] of [['qemu-system-x86_64', 'qemu-system-x86'], ['ip', 'iproute2'], ['mke2fs', 'e2fsprogs'], ['modprobe', 'kmod'], ['afsd', 'openafs-client']]) {
    if (!which(cmd!)) missing.push(`${cmd} (${pkg})`);
  }
  try {
    const { release } = hostKernelImage();
    if (!existsSync(`/lib/modules/${release}/modules.dep`)) missing.push(`/lib/modules/${release} (linux-image-amd64)`);
  } catch (e) {
    missing.push(`${(e as Error).message}`);
  }
  let bb: Buffer | undefined;
  try {
    bb = readFileSync('/bin/busybox');
  } catch {
    /* missing */
  }
  if (!bb || !isStaticElf(bb)) missing.push('a static /bin/busybox (busybox-static)');
  if (missing.length) return { ok: false, reason: `missing ${missing.join(', ')}: apt-get install -y --no-install-recommends qemu-system-x86 linux-image-amd64 busybox-static` };
  try {
    execaSync('qemu-system-x86_64', ['--version']);
  } catch (e) {
    return { ok: false, reason: `qemu-system-x86_64 does not run: ${(e as Error).message}` };
  }
  return { ok: true };
}

function guestDirsOnDisk(root: string): string[] {
  try {
    return readdirSync(join(root, 'guests')).map((g) => join(root, 'guests', g));
  } catch {
    return [];
  }
}

export function createQemuDriver(ctx: DriverContext): QemuDriver {
  const masker = new Masker(ctx.secrets.all());
  const r = new Runner(masker);
  const P = new Places(ctx.cell, ctx.realm, ctx.stateDir, ctx.world, (w) => ctx.checkpoint(w));
  const boot = bootCache();
  const guests = new Map<string, Guest>();
  const log = (line: string) => ctx.log(masker.mask(line));

  /** The running guest's handle (started by this process, or found from its directory). */
  const guestOf = (name: string): Guest | undefined => {
    const known = guests.get(name);
    if (known && existsSync(known.pidfile)) return known;
    const rec = P.w.guests[name];
    const g = rec ? attachGuest(name, rec.dir) : undefined;
    if (g) guests.set(name, g);
    else guests.delete(name);
    return g;
  };
  const mustGuest = (name: string): Guest => {
    const g = guestOf(name);
    if (!g || P.w.guests[name]?.state !== 'running') throw new Error(`guest ${name} is not running (create guest.${name} first)`);
    return g;
  };
  const agentOf = (name: string) => guestOf(name)?.agent;
  const x = qemuServices(P, (name) => { const g = guestOf(name); return g && qmpTarget(g); }, masker, log);
  const svc = serviceResources(ctx, x, masker, capabilitiesOf('qemu').kdcProducts ?? []);
  const safe = <T>(fn: () => Promise<T>): Promise<T> => masked(masker, fn);

  const create = async (res: Resource): Promise<Record<string, Json>> => safe(async () => {
    const service = svc.create(res);
    if (service) return service;
    switch (res.type) {
      case 'host':
        return createQemuHost(r, P, res.name, res.attrs);
      case 'guest': {
        const { guest, outputs } = await createQemuGuest(r, P, ctx.catalog, boot, res.name, res.attrs, log);
        guests.set(res.name, guest);
        return outputs;
      }
      case 'module':
        return createModule({ P, catalog: ctx.catalog, agent: mustGuest(res.attrs.guest).agent, log }, res.name, res.attrs);
      case 'partition': {
        const out = await createPartition(P, qmpTarget(mustGuest(res.attrs.guest)), res.name, res.attrs);
        // the fileserver's side: dafs restarted if it does not list the partition yet
        if (x.reg.bos[res.attrs.guest]) await servePartition(x, x.place(res.attrs.guest), res.attrs.path);
        return out;
      }
      case 'afs-client':
        return createClient(P, x, P.guest(res.attrs.guest), mustGuest(res.attrs.guest).agent, res.attrs, log);
      default:
        throw new Error(`${res.address}: the qemu driver does not realize ${res.type} resources`);
    }
  });

  const del = async (prior: AppliedResource): Promise<void> => safe(async () => {
    const service = svc.delete(prior);
    if (service) return service;
    const on = guestOfAttrs(prior.attrs);
    const g = on ? guestOf(on) : undefined;
    switch (prior.type) {
      case 'host':
        return deleteQemuHost(r, P, prior.name);
      case 'guest': {
        const how = await deleteQemuGuest(r, P, prior.name, guests.get(prior.name));
        guests.delete(prior.name);
        if (how !== 'none') log(`guest ${prior.name}: stopped (${how})`);
        return;
      }
      case 'module':
        return deleteModule(P, g?.agent, prior.name, log);
      case 'partition':
        await deletePartition(P, g && qmpTarget(g), prior.name);
        return forgetPartition(x, prior.attrs.guest, prior.attrs.path);
      case 'afs-client':
        return deleteClient(P, g?.agent, prior.name, log);
    }
  });

  /** Everything of this cell, recorded or not: QEMU processes under the state dir, namespaces by prefix, files. */
  const purge = async (): Promise<string[]> => {
    const found: string[] = [];
    found.push(...(await purgeProcessesAndNamespaces(r, P.root, P.prefix)));
    // sockets that did not fit under a long state path live in a directory named after the guest's
    for (const dir of new Set([...Object.values(P.w.guests).map((g) => g.dir), ...guestDirsOnDisk(P.root)])) {
      const sd = guestPaths(dir).socketDir;
      if (sd && existsSync(sd)) {
        rmSync(sd, { recursive: true, force: true });
        found.push(`socket directory ${sd}`);
      }
    }
    if (existsSync(P.root)) rmSync(P.root, { recursive: true, force: true });
    for (const g of guests.values()) g.agent.close();
    guests.clear();
    P.reset();
    return found;
  };

  return {
    name: 'qemu',
    capabilities: capabilitiesOf('qemu'),
    prefix: P.prefix,
    create,
    async update(prior: AppliedResource, res: Resource) {
      if (res.type === 'guest') {
        throw new Error(`${res.address}: a QEMU guest's memory cannot change while it runs (no balloon here): destroy and apply again`);
      }
      if (res.type === 'host' && prior.type === 'host') {
        const bridges = res.attrs.bridges;
        const used = Object.values(P.w.guests).filter((g) => g.host === res.name).flatMap((g) => g.bridges).filter((b) => !bridges.includes(b));
        if (used.length) throw new Error(`${res.address}: bridge ${used.join(', ')} still has guests`);
      }
      await svc.update(prior, res);
      return create(res); // every create converges on what exists
    },
    delete: del,
    console: async (guest: string) => consoleOf(P, guest),
    status: (): Promise<DriverStatus> => status(P, agentOf, x),
    async check(c: Check): Promise<CheckResult> {
      return maskedResult(masker, await check(P, agentOf, x, c, svc.pw).catch((e: Error): CheckResult => ({ status: 'fail', message: e.message })));
    },
    async migrate(guest: string) {
      throw new Error(`migrate ${guest}: the qemu driver does not migrate guests`);
    },
    observe: (prior) => observe(P, agentOf, x, prior),
    async read(prior: AppliedResource): Promise<Observed> {
      const o = await observe(P, agentOf, x, prior);
      if (o.observed) return o.observed;
      if (o.present) return PRESENT;
      // An AFS client whose guest still runs is restarted in place; anything else is made again.
      const guestUp = prior.type === 'afs-client' && P.w.guests[prior.attrs.guest] !== undefined && guestAlive(guestPaths(P.w.guests[prior.attrs.guest]!.dir).pidfile) !== undefined;
      return guestUp ? { state: 'degraded', reason: o.detail, repair: 'update' } : { state: 'absent', reason: o.detail };
    },
    agent: agentOf,
    purge,
    snapshot: () => P.w,
    async close() {
      for (const g of guests.values()) g.agent.close();
      guests.clear();
    },
  };
}
