// --driver libvirt on QEMU hosts: every guest is a real libvirt domain made from the same guest
// description as --driver qemu (direct kernel boot of the PVH vmlinux and the kit's initramfs, the
// shared root image read-only rather than the host root over 9p, so it can migrate; virtio disks, the serial console in a file, the agent on a virtio-serial
// channel whose socket libvirt reports), then driven through that agent with the qemu driver's own
// code: modules judged by the guest's kernel, /vicep partitions hot-plugged (here by virsh
// attach-device), the cell's services (the service layer, placed as qemu places them), the kernel AFS client.
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../../diagnostics.js';
import { Masker } from '../../render/mask.js';
import type { Attrs, GuestAttrs, Json, Resource } from '../../plan/resources.js';
import { capabilitiesOf, type DriverOptions } from '../capabilities.js';
import { PRESENT, type AppliedResource, type Check, type CheckResult, type Driver, type DriverContext, type DriverStatus, type Observed } from '../driver.js';
import { Runner } from '../netns/exec.js';
import { cellNamespaces, pidsInNetns, removeNetns } from '../netns/namespaces.js';
import { createClient, deleteClient } from '../qemu/client.js';
import { bootCache, checkFits, defaultMac, diskFiles, prefixLen } from '../qemu/guests.js';
import { bootChoice, guestMemory } from '../qemu/boot.js';
import { createModule, deleteModule } from '../qemu/modules.js';
import { check, consoleOf, observe, status, type PidOf } from '../qemu/observe.js';
import { createPartition, deletePartition, type PlugTarget } from '../qemu/partitions.js';
import { qemuServices } from '../qemu/placement.js';
import { masked, maskedResult, serviceResources, type ServiceResources } from '../linux-guest/services.js';
import { createPartition as servePartition, forgetPartition } from '../services/afs-fs.js';
import type { Services } from '../services/placement.js';
import type { GuestRec } from '../qemu/world.js';
import { chooseAccel } from '../vm/accel.js';
import { GuestAgent } from '../vm/agent.js';
import { domainXml } from '../vm/domain-xml.js';
import { AGENT_PORT } from '../vm/guest-agent.js';
import { describeGuest, type Vif } from '../vm/guest-description.js';
import { guestPaths, shortSocketDir, socketPath } from '../vm/qemu-args.js';
import { tail, waitForAgent } from '../vm/qemu.js';
import { CELLCTL_XMLNS } from '../../export/libvirt.js';
import { attachDisk, detachDisk, domainPid, domState, migrateDomain, removeDomain, type Virsh } from './domain.js';
import { createLvHost, deleteLvHost, readLvHost } from './hosts.js';
import { daemonDirOfPid, isOurs, stopLibvirtd } from './libvirtd.js';
import { parseChannelPath, parseNameList } from './parse.js';
import { isThisMachine } from './uri.js';
import { VirshSession } from './virsh.js';
import { libvirtRootImage } from './root-image.js';
import { LvPlaces } from './world.js';

const BOOT_TIMEOUT_MS = 180_000; // agent up; ~4-6 s on a quiet machine, TCG on a busy one is slower

function notHere(uri: string, what: string): UserError {
  return new UserError(`${what}: ${uri} is another machine; its guests' files (kernel, initramfs, disks) and agent socket are not reachable from here yet (the libvirt driver drives guests on this machine's libvirtds: qemu:///..., qemu+unix://, qemu+ssh:// to loopback)`);
}

class LibvirtGuests implements Driver {
  readonly name = 'libvirt';
  readonly capabilities;
  private readonly P: LvPlaces;
  private readonly masker: Masker;
  private readonly r: Runner;
  /** The service layer over this driver's guests (qemu's placement: each guest through its agent). */
  private readonly x: Services;
  private readonly svc: ServiceResources;
  private readonly boot = bootCache();
  private readonly sessions = new Map<string, Promise<VirshSession>>();
  private readonly agents = new Map<string, GuestAgent>();

  constructor(private readonly ctx: DriverContext, private readonly opts: DriverOptions) {
    this.capabilities = capabilitiesOf('libvirt', opts);
    this.P = new LvPlaces(ctx.cell, ctx.realm, ctx.stateDir, ctx.world, (w) => ctx.checkpoint(w));
    this.masker = new Masker(ctx.secrets.all());
    this.r = new Runner(this.masker);
    this.x = qemuServices(this.P, (guest) => {
      const a = this.agentOf(guest);
      return a && this.plugTarget(guest, a);
    }, this.masker, this.log);
    this.svc = serviceResources(ctx, this.x, this.masker);
  }

  private log = (line: string) => this.ctx.log(this.masker.mask(line));

  // ---- connections and agents ---------------------------------------------------------

  private virsh = (uri: string): Virsh => async (args, timeoutMs) => {
    let s = this.sessions.get(uri);
    if (!s) {
      s = VirshSession.open(uri);
      s.catch(() => this.sessions.delete(uri));
      this.sessions.set(uri, s);
    }
    return (await s).run(args, timeoutMs);
  };

  private closeConnection = async (uri: string): Promise<void> => {
    const s = this.sessions.get(uri);
    this.sessions.delete(uri);
    await s?.then((x) => x.close(), () => undefined);
  };

  private hostUri(host: string, attrs?: { uri: string | null }): string {
    const uri = this.opts.connect ?? this.P.lv.hosts[host]?.uri ?? attrs?.uri ?? undefined;
    if (!uri) throw new UserError(`host ${host} has no libvirt connection URI: set hosts.${host}.uri (e.g. qemu+ssh://root@${host}/system) or pass --connect URI`);
    return uri;
  }

  /** QEMU's pid for a guest on this machine, or undefined when its domain does not run. */
  private pidOf: PidOf = (guest) => {
    const g = this.P.lv.guests[guest];
    return g && isThisMachine(g.uri) ? domainPid(g.domain) : undefined;
  };

  private agentOf = (guest: string): GuestAgent | undefined => {
    const sock = this.P.lv.guests[guest]?.agentSocket;
    if (!sock || this.pidOf(guest, this.P.w.guests[guest]!) === undefined) return undefined;
    let a = this.agents.get(guest);
    if (!a || a.socketPath !== sock) {
      a?.close();
      a = new GuestAgent(sock, `guest ${guest}`);
      this.agents.set(guest, a);
    }
    return a;
  };

  private mustAgent(guest: string): GuestAgent {
    const a = this.P.w.guests[guest]?.state === 'running' ? this.agentOf(guest) : undefined;
    if (!a) throw new Error(`guest ${guest} is not running (create guest.${guest} first)`);
    return a;
  }

  private dropAgent(guest: string): void {
    this.agents.get(guest)?.close();
    this.agents.delete(guest);
  }

  /** The agent's socket for the guest on a host: one per host, since a migration's two QEMUs both hold one for a moment. */
  private agentSocket(guest: string, host: string): string {
    return socketPath(this.P.guestDir(guest), `agent-${host.replace(/[^\w.-]/g, '_').slice(0, 32)}.sock`);
  }

  // ---- guests -------------------------------------------------------------------------

  private async createGuest(name: string, a: GuestAttrs): Promise<Attrs> {
    const P = this.P;
    const uri = this.hostUri(a.host);
    if (!isThisMachine(uri)) throw notHere(uri, `guest ${name}`);
    const v = this.virsh(uri);
    const domain = P.domain(name);
    const mem = guestMemory(a.memory, this.ctx.catalog);
    const choice = bootChoice(a, this.ctx.catalog);
    const known = P.w.guests[name];
    const state = await domState(v, domain);
    if (state === 'running' && known?.state === 'running' && this.agentOf(name)) return this.outputs(name, 0, mem.raised);
    if (state !== null) await removeDomain(v, domain); // a half-made guest of a killed run: made again
    checkFits(P, name, a, mem.memory);
    const host = P.lv.hosts[a.host];
    if (!host) throw new Error(`host ${a.host} is not up (create host.${a.host} first)`);
    const hostBridges = host.daemon ? P.net.reg.hosts[a.host]?.bridges ?? {} : undefined;
    if (mem.raised) this.log(`guest ${name}: ${mem.raised}`);

    const dir = P.guestDir(name);
    const rec: GuestRec = {
      host: a.host, netns: host.daemon?.netns ?? '', dir, kernel: a.kernel, ...(choice.standIn ? { standIn: choice.standIn } : {}),
      taps: a.vifs.map((_, i) => P.tap(name, i)), macs: a.vifs.map((x, i) => (x.mac ?? defaultMac(P, name, i)).toLowerCase()),
      ips: a.vifs.map((x) => x.ip ?? null), bridges: a.vifs.map((x) => x.bridge),
      memory: mem.memory, asked: a.memory, vcpus: a.vcpus, disks: [], state: 'starting',
    };
    P.w.guests[name] = rec;
    P.lv.guests[name] = { uri, host: a.host, domain };
    P.save(); // write-ahead: recorded before any file or domain exists

    const vifs: Vif[] = a.vifs.map((x, i) => {
      const bridge = hostBridges ? hostBridges[x.bridge] : x.bridge;
      if (!bridge) throw new Error(`guest ${name}: host ${a.host} has no bridge ${x.bridge} (its bridges: ${Object.keys(hostBridges ?? {}).join(', ') || 'none'})`);
      return { mac: rec.macs[i]!, tap: rec.taps[i]!, bridge, ...(x.ip ? { ip: x.ip, prefix: prefixLen(x.ip) } : {}) };
    });
    const disks = diskFiles(P, name, a.host, a.disks);
    rec.disks = disks.map((d) => d.file);
    const files = await this.boot.boot(choice.image);
    const root = await libvirtRootImage();
    if (root.built) this.log(`root image for libvirt guests built in ${(root.ms / 1000).toFixed(1)} s: ${root.path}`);
    const accel = await chooseAccel({ kernel: files.kernel.boot, initrd: files.initramfs.path });
    const paths = guestPaths(dir);
    const agentSocket = this.agentSocket(name, a.host);
    mkdirSync(dirname(agentSocket), { recursive: true, mode: 0o700 });
    const desc = describeGuest({ name, dir, memoryMiB: mem.memory, cpus: a.vcpus, kernel: files.kernel.boot, initrd: files.initramfs.path, vifs, disks, rootImage: root.path }, { console: paths.consoleLog, agentSocket });
    const xmlFile = join(dir, 'domain.xml');
    writeFileSync(xmlFile, domainXml(desc, accel, {
      name: domain,
      description: `cellctl guest ${name} of cell ${this.ctx.cell} on host ${a.host}; ${a.os}, kernel ${a.kernel}${choice.standIn ? ` (stood in for by ${files.kernel.release})` : ''}`,
      meta: { ns: CELLCTL_XMLNS, attrs: { cell: this.ctx.cell, host: a.host, guest: name } },
    }));
    await v(['define', xmlFile]);
    appendFileSync(paths.consoleLog, `=== cellctl: starting guest ${name} at ${new Date().toISOString()} (libvirt domain ${domain} on ${uri}; ${accel.accel}: ${accel.reason})\n`);
    const t0 = Date.now();
    await v(['start', domain]);
    P.lv.guests[name] = { uri, host: a.host, domain, agentSocket: parseChannelPath(await v(['dumpxml', domain]), AGENT_PORT) ?? agentSocket };
    rec.release = files.kernel.release;
    rec.accel = `${accel.accel}: ${accel.reason}`;
    rec.pid = this.pidOf(name, rec);
    P.save();
    this.log(`guest ${name}: domain ${domain} started on ${uri} (${rec.accel}), ${mem.memory} MiB, kernel ${files.kernel.release}${choice.standIn ? ` (stand-in for ${a.kernel})` : ''}`);
    const agent = this.agentOf(name);
    if (!agent) throw new Error(`guest ${name}: domain ${domain} is not running right after start; console ends:\n${tail(paths.consoleLog, 15)}`);
    await waitForAgent(agent, {
      label: `guest ${name}`, consoleLog: paths.consoleLog, timeoutMs: BOOT_TIMEOUT_MS,
      gone: async () => {
        const s = await domState(v, domain);
        return s === 'running' ? undefined : `domain ${domain} is ${s ?? 'gone'} before the agent answered; console ends:\n${tail(paths.consoleLog, 15)}`;
      },
    });
    const bootMs = Date.now() - t0;
    rec.state = 'running';
    P.save();
    this.log(`guest ${name}: agent ready ${(bootMs / 1000).toFixed(1)} s after virsh start`);
    return this.outputs(name, bootMs, mem.raised);
  }

  private outputs(name: string, bootMs: number, raised?: string): Attrs {
    const rec = this.P.w.guests[name]!;
    const g = this.P.lv.guests[name]!;
    return {
      domain: g.domain, uri: g.uri, ...(rec.pid ? { qemu_pid: rec.pid } : {}), accel: rec.accel ?? '', memory: rec.memory, kernel_release: rec.release ?? '',
      taps: rec.taps, ips: rec.ips.filter((x): x is string => !!x), disks: rec.disks, console: guestPaths(rec.dir).consoleLog, agent_socket: g.agentSocket ?? '',
      ...(bootMs ? { boot_ms: bootMs } : {}), ...(rec.standIn ? { kernel_stand_in: rec.standIn } : {}), ...(raised ? { memory_note: raised } : {}),
    };
  }

  /** The guest's own poweroff when it answers, else virsh destroy; then undefine, and its files go. */
  private async deleteGuest(name: string): Promise<void> {
    const P = this.P;
    const g = P.lv.guests[name];
    if (g) {
      const v = this.virsh(g.uri);
      if ((await domState(v, g.domain)) === 'running') {
        const agent = this.agentOf(name);
        const asked = agent ? await agent.poweroff(3_000).then(() => true, () => false) : false;
        const t0 = Date.now();
        while (asked && Date.now() - t0 < 5_000 && (await domState(v, g.domain)) === 'running') await new Promise((r) => setTimeout(r, 100));
      }
      await removeDomain(v, g.domain);
    }
    this.dropAgent(name);
    const dir = P.w.guests[name]?.dir ?? P.guestDir(name);
    rmSync(shortSocketDir(dir), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    delete P.w.guests[name];
    delete P.lv.guests[name];
    for (const [k, p] of Object.entries(P.w.partitions)) if (p.guest === name) delete P.w.partitions[k];
    for (const [k, m] of Object.entries(P.w.modules)) if (m.guest === name) delete P.w.modules[k];
    delete P.w.clients[name];
    P.save();
  }

  /** A /vicep disk goes in and out through libvirt (the domain's monitor is libvirt's). */
  private plugTarget(guest: string, agent: GuestAgent): PlugTarget {
    const g = this.P.lv.guests[guest]!;
    const v = this.virsh(g.uri);
    return {
      agent,
      plug: (node, image) => attachDisk(v, g.domain, image, node, join(this.P.guestDir(guest), `plug-${node}.xml`)),
      unplug: (node) => detachDisk(v, g.domain, node),
    };
  }

  // ---- the Driver interface -----------------------------------------------------------

  create(res: Resource): Promise<Attrs | void> {
    return this.svc.create(res) ?? masked(this.masker, () => this.make(res));
  }

  private async make(res: Resource): Promise<Attrs | void> {
    switch (res.type) {
      case 'host':
        return createLvHost(this.r, this.P, res.name, res.attrs, this.hostUri(res.name, res.attrs), this.virsh, this.log) as Promise<Attrs>;
      case 'guest':
        return this.createGuest(res.name, res.attrs);
      case 'module':
        return createModule({ P: this.P, catalog: this.ctx.catalog, agent: this.mustAgent(res.attrs.guest), log: this.log }, res.name, res.attrs);
      case 'partition': {
        const out = await createPartition(this.P, this.plugTarget(res.attrs.guest, this.mustAgent(res.attrs.guest)), res.name, res.attrs);
        // the fileserver's side: dafs restarted if it does not list the partition yet
        if (this.x.reg.bos[res.attrs.guest]) await servePartition(this.x, this.x.place(res.attrs.guest), res.attrs.path);
        return out;
      }
      case 'afs-client':
        return createClient(this.P, this.x, this.P.guest(res.attrs.guest), this.mustAgent(res.attrs.guest), res.attrs, this.log) as Promise<Record<string, Json>>;
      default:
        throw new Error(`${res.address}: the libvirt driver does not realize ${res.type} resources`);
    }
  }

  async update(prior: AppliedResource, res: Resource): Promise<Attrs | void> {
    if (res.type === 'guest') throw new Error(`${res.address}: a running guest's definition does not change in place here: destroy and apply again`);
    await this.svc.update(prior, res);
    return this.create(res); // every create converges on what exists
  }

  delete(prior: AppliedResource): Promise<void> {
    return this.svc.delete(prior) ?? masked(this.masker, () => this.remove(prior));
  }

  private async remove(prior: AppliedResource): Promise<void> {
    const on = (prior.attrs as { guest?: unknown }).guest;
    const agent = typeof on === 'string' ? this.agentOf(on) : undefined;
    switch (prior.type) {
      case 'host':
        return deleteLvHost(this.r, this.P, prior.name, this.closeConnection);
      case 'guest':
        return this.deleteGuest(prior.name);
      case 'module':
        return deleteModule(this.P, agent, prior.name, this.log);
      case 'partition':
        await deletePartition(this.P, agent && this.plugTarget(on as string, agent), prior.name);
        return forgetPartition(this.x, prior.attrs.guest, prior.attrs.path);
      case 'afs-client':
        return deleteClient(this.P, agent, prior.name, this.log);
    }
  }

  /** Hosts: the connection (and cellctl's daemon); guests: virsh domstate, then the agent, as the qemu driver observes. */
  async read(prior: AppliedResource): Promise<Observed> {
    if (prior.type === 'host') return readLvHost(this.P, prior.name, this.virsh);
    // entries of the realm's and the cell's databases (principals, volumes...) live on no guest of their own
    const guest = prior.type === 'guest' ? prior.name : (prior.attrs as { guest?: string }).guest;
    if (guest !== undefined) {
      const g = this.P.lv.guests[guest];
      if (!g) return { state: 'absent', reason: `guest ${guest} is not recorded by the libvirt driver` };
      let state: string | null;
      try {
        state = await domState(this.virsh(g.uri), g.domain);
      } catch (e) {
        return { state: 'unknown', reason: (e as Error).message };
      }
      if (state !== 'running') return { state: 'absent', reason: `libvirt at ${g.uri} ${state === null ? `has no domain ${g.domain}` : `says domain ${g.domain} is ${state}`}` };
    }
    const o = await observe(this.P, this.agentOf, this.x, prior, this.pidOf);
    if (o.observed) return o.observed;
    if (o.present) return PRESENT;
    return prior.type === 'afs-client' ? { state: 'degraded', reason: o.detail, repair: 'update' } : { state: 'absent', reason: o.detail };
  }

  console = async (guest: string): Promise<string> => consoleOf(this.P, guest);
  status = (): Promise<DriverStatus> => status(this.P, this.agentOf, this.x, this.pidOf);
  check = async (c: Check): Promise<CheckResult> => {
    const res = await check(this.P, this.agentOf, this.x, c, this.svc.pw, this.pidOf).catch((e: Error): CheckResult => ({ status: 'fail', message: e.message }));
    return maskedResult(this.masker, res);
  };

  /** virsh migrate --live between two libvirtds on this machine (the root image and the disks are files both see); a refusal comes back in libvirt's words. */
  async migrate(guest: string, toHost: string): Promise<Attrs> {
    const P = this.P;
    const g = P.lv.guests[guest];
    const rec = P.w.guests[guest];
    if (!g || !rec) throw new UserError(`guest ${guest} is not in the cell's state (apply the cell first)`);
    const to = P.lv.hosts[toHost];
    if (!to) throw new UserError(`host ${toHost} is not up in this cell`);
    if (to.uri === g.uri) throw new UserError(`cannot migrate ${guest} from ${g.host} to ${toHost}: both use the libvirt connection ${to.uri}`);
    if (!isThisMachine(to.uri)) throw notHere(to.uri, `migrate ${guest}`);
    checkFits(P, guest, { host: toHost, vcpus: rec.vcpus } as GuestAttrs, rec.memory);
    const agentSocket = this.agentSocket(guest, toHost);
    this.dropAgent(guest); // its connection goes with the source QEMU
    const ms = await migrateDomain({
      from: g.uri, to: to.uri, domain: g.domain, channel: { port: AGENT_PORT, path: agentSocket },
      via: socketPath(rec.dir, 'migrate.sock'), xmlFile: join(rec.dir, 'migrate.xml'),
    });
    Object.assign(rec, { host: toHost, netns: to.daemon?.netns ?? '' });
    P.lv.guests[guest] = { uri: to.uri, host: toHost, domain: g.domain, agentSocket: parseChannelPath(await this.virsh(to.uri)(['dumpxml', g.domain]), AGENT_PORT) ?? agentSocket };
    rec.pid = this.pidOf(guest, rec);
    P.save();
    this.log(`guest ${guest}: live-migrated from ${g.host} to ${toHost} in ${(ms / 1000).toFixed(1)} s`);
    return { ...this.outputs(guest, 0), host: toHost, migrate_ms: ms };
  }

  /** Everything of this cell, recorded or not: its domains, cellctl's libvirtds, the namespaces, the files. */
  async purge(): Promise<string[]> {
    const P = this.P;
    const found: string[] = [];
    for (const h of Object.values(P.lv.hosts)) {
      try {
        const v = this.virsh(h.uri);
        for (const d of parseNameList(await v(['list', '--all', '--name'])).filter((n) => n.startsWith(`${P.prefix}-`))) {
          await removeDomain(v, d);
          found.push(`domain ${d} on ${h.uri}`);
        }
      } catch {
        /* the connection is gone: its namespace goes below */
      }
      await this.closeConnection(h.uri);
      if (h.daemon && (await stopLibvirtd(h.daemon.dir, { remove: true })) !== 'not-running') found.push(`libvirtd ${h.daemon.dir}`);
    }
    for (const ns of await cellNamespaces(this.r, P.prefix)) {
      const daemons = pidsInNetns(ns).map(daemonDirOfPid).filter((d): d is string => !!d);
      await removeNetns(this.r, ns); // ends every process in it: an unrecorded libvirtd, its QEMUs
      for (const d of daemons) if (isOurs(d)) rmSync(d, { recursive: true, force: true });
      found.push(`namespace ${ns}${daemons.length ? ` (libvirtd ${daemons.join(', ')})` : ''}`);
    }
    for (const g of Object.values(P.w.guests)) rmSync(shortSocketDir(g.dir), { recursive: true, force: true });
    if (existsSync(P.root)) rmSync(P.root, { recursive: true, force: true });
    for (const a of this.agents.values()) a.close();
    this.agents.clear();
    P.reset();
    return found;
  }

  snapshot(): unknown {
    return this.P.snapshot();
  }

  async close(): Promise<void> {
    for (const a of this.agents.values()) a.close();
    this.agents.clear();
    await Promise.all([...this.sessions.keys()].map((u) => this.closeConnection(u)));
  }
}

export function createLibvirtGuestsDriver(ctx: DriverContext, opts: DriverOptions): Driver {
  return new LibvirtGuests(ctx, opts);
}
