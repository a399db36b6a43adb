// --driver libvirt: guests become libvirt domains on the libvirt connection of their host
// (hosts.<h>.uri, or --connect for every host). On QEMU hosts they are real guests (guests.ts); on
// test:// and Xen connections this file defines and starts domains only (Xen PV XML from
// export/libvirt.ts), and services inside them are not provisioned.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../diagnostics.js';
import { renderLibvirt } from '../../export/libvirt.js';
import type { Attrs, GuestAttrs, HostAttrs, Resource } from '../../plan/resources.js';
import { capabilitiesOf, libvirtUris, type DriverOptions } from '../capabilities.js';
import {
  PRESENT, type AppliedResource, type CheckResult, type Check, type DomainStatus, type Driver, type DriverContext, type DriverStatus, type Observed,
} from '../driver.js';
import { parseDominfo, parseDomainXml, parseNameList, parseNodeMemoryMiB } from './parse.js';
import { createLibvirtGuestsDriver } from './guests.js';
import { isTestUri, libvirtMode } from './uri.js';
import { VirshError, VirshSession, virshOnce } from './virsh.js';

export type LibvirtDriverOptions = DriverOptions; // connect: overrides every host's URI

export const NOT_PROVISIONED = 'services inside libvirt guests are not provisioned by cellctl';
const MIGRATE_TIMEOUT_MS = 600_000;

/** Why a recorded domain cannot be seen on a test:// connection: it is per connection, so per cellctl process. */
function testUriForgets(uri: string, guest: string): string {
  return `libvirt's test driver (${uri}) keeps domains only while the connection that made them is open, ` +
    `so this cellctl run cannot see domain ${guest} made by an earlier one (nor tell whether it still runs)`;
}

/** What the driver keeps with the state: where each host and guest lives. */
interface LibvirtWorld {
  hosts: Record<string, { uri: string; attrs: HostAttrs }>;
  guests: Record<string, { uri: string; host: string }>;
}

function loadWorld(data: unknown): LibvirtWorld {
  const w = (data ?? {}) as Partial<LibvirtWorld>;
  return { hosts: { ...(w.hosts ?? {}) }, guests: { ...(w.guests ?? {}) } };
}

class LibvirtDriver implements Driver {
  readonly name = 'libvirt';
  readonly capabilities: ReturnType<typeof capabilitiesOf>;
  private sessions = new Map<string, Promise<VirshSession>>();
  private readonly world: LibvirtWorld;

  constructor(private readonly ctx: DriverContext, private readonly opts: LibvirtDriverOptions) {
    this.capabilities = capabilitiesOf('libvirt', opts);
    this.world = loadWorld(ctx.world);
  }

  // ---- connections -------------------------------------------------------------------

  private session(uri: string): Promise<VirshSession> {
    let s = this.sessions.get(uri);
    if (!s) {
      s = VirshSession.open(uri);
      s.catch(() => this.sessions.delete(uri)); // a later call may retry the connection
      this.sessions.set(uri, s);
    }
    return s;
  }

  private async virsh(uri: string, args: string[], timeoutMs?: number): Promise<string> {
    return (await this.session(uri)).run(args, timeoutMs);
  }

  private hostAttrs(host: string): HostAttrs | undefined {
    return this.world.hosts[host]?.attrs;
  }

  private hostUri(host: string, attrs: HostAttrs | undefined = this.hostAttrs(host)): string {
    const uri = this.opts.connect ?? attrs?.uri ?? undefined;
    if (!uri) {
      throw new UserError(
        `host ${host} has no libvirt connection URI: set hosts.${host}.uri (e.g. xen+ssh://${host}/system) or pass --connect URI`,
      );
    }
    return uri;
  }

  /** Where a guest's domain lives: --connect, else what create recorded, else its host's URI. */
  private guestUri(guest: string): { uri: string; host: string } {
    const known = this.world.guests[guest];
    if (!known) {
      if (this.opts.connect) return { uri: this.opts.connect, host: 'its host' };
      throw new UserError(`guest ${guest} is not in the cell's state (apply the cell first)`);
    }
    return { uri: this.opts.connect ?? known.uri, host: known.host };
  }

  // ---- refresh -----------------------------------------------------------------------

  /** Hosts: the connection answers. Guests: the domain and its state, as libvirt reports it. */
  async read(prior: AppliedResource): Promise<Observed> {
    if (prior.type === 'host') {
      let uri: string;
      try {
        uri = this.hostUri(prior.name, this.hostAttrs(prior.name) ?? prior.attrs);
        await this.virsh(uri, ['uri']);
      } catch (e) {
        return { state: 'unknown', reason: (e as Error).message };
      }
      return PRESENT;
    }
    if (prior.type !== 'guest') return PRESENT; // not realized by this driver
    let uri: string;
    let state: string | null;
    try {
      uri = this.guestUri(prior.name).uri;
      state = await this.domstate(uri, prior.name);
    } catch (e) {
      return { state: 'unknown', reason: (e as Error).message };
    }
    if (state === null) {
      if (isTestUri(uri)) return { state: 'unknown', reason: testUriForgets(uri, prior.name) };
      return { state: 'absent', reason: `libvirt at ${uri} has no domain ${prior.name}` };
    }
    switch (state) {
      case 'running':
      case 'idle': // xen: blocked on I/O, running
        return PRESENT;
      case 'paused': return { state: 'degraded', reason: 'domain paused: will be resumed', repair: 'update' };
      case 'shut off': return { state: 'degraded', reason: 'domain shut off: will be started', repair: 'update' };
      case 'crashed': return { state: 'degraded', reason: 'domain crashed', repair: 'replace' };
      default: return { state: 'degraded', reason: `domain ${state}: will be re-made`, repair: 'replace' };
    }
  }

  // ---- resources ---------------------------------------------------------------------

  async create(r: Resource): Promise<Attrs | void> {
    if (r.type === 'host') return this.connectHost(r.name, r.attrs);
    if (r.type === 'guest') return this.startGuest(r.name, r.attrs);
    throw new Error(`${r.address}: ${NOT_PROVISIONED}; the plan should not ask the libvirt driver for it`);
  }

  async update(prior: AppliedResource, r: Resource): Promise<Attrs | void> {
    if (r.type === 'host') return this.connectHost(r.name, r.attrs);
    if (r.type !== 'guest' || prior.type !== 'guest') throw new Error(`${r.address}: ${NOT_PROVISIONED}`);
    const g = r.attrs;
    const before = prior.attrs;
    const uri = this.hostUri(g.host);
    const was = this.world.guests[r.name]?.uri;
    if (was && was !== uri) {
      // Moved to another connection (new host or new URI): take it down where it was.
      await this.delete(prior);
      return this.startGuest(r.name, g);
    }
    const state = await this.domstate(uri, r.name);
    if (state === null) {
      this.ctx.log(`guest ${r.name}: libvirt at ${uri} has no domain ${r.name}; defining and starting it again`);
      return this.startGuest(r.name, g);
    }
    await this.define(uri, r.name, g);
    // What refresh found stopped is brought back first.
    if (state === 'paused') {
      await this.virsh(uri, ['resume', r.name]);
      this.ctx.log(`guest ${r.name}: domain resumed`);
    } else if (state === 'shut off') {
      await this.virsh(uri, ['start', r.name]);
      this.ctx.log(`guest ${r.name}: domain started`);
      return this.outputs(uri, r.name, g.host);
    }
    if (state === 'running' && g.memory !== before.memory && g.memory <= before.maxmem) {
      // A balloon change the running domain can take now; everything else waits for a reboot.
      await this.virsh(uri, ['setmem', r.name, String(g.memory * 1024), '--live']);
      this.ctx.log(`guest ${r.name}: memory set to ${g.memory} MiB live`);
    } else if (state === 'running') {
      this.ctx.log(`guest ${r.name}: new definition takes effect when the domain next boots`);
    }
    return this.outputs(uri, r.name, g.host);
  }

  async delete(prior: AppliedResource): Promise<void> {
    if (prior.type === 'host') {
      delete this.world.hosts[prior.name];
      this.ctx.log(`host ${prior.name}: nothing to remove in libvirt (the driver manages domains only)`);
      return;
    }
    if (prior.type !== 'guest') return; // recorded by an older cellctl that ran no step for it
    const { uri } = this.guestUri(prior.name);
    const gone = (e: unknown): boolean => e instanceof VirshError && e.noDomain;
    try {
      await this.virsh(uri, ['destroy', prior.name]);
    } catch (e) {
      if (gone(e)) {
        const why = isTestUri(uri) ? ' (the test driver forgets its domains when a connection closes)' : '';
        this.ctx.log(`guest ${prior.name}: libvirt at ${uri} no longer knows domain ${prior.name}: already gone${why}`);
        delete this.world.guests[prior.name];
        return;
      }
      if (!(e instanceof VirshError && e.notRunning)) throw e;
    }
    try {
      await this.virsh(uri, ['undefine', prior.name]);
    } catch (e) {
      if (!gone(e)) throw e; // a transient domain disappears with destroy
    }
    delete this.world.guests[prior.name];
    this.ctx.log(`guest ${prior.name}: domain destroyed and undefined on ${uri}`);
  }

  private async connectHost(name: string, h: HostAttrs): Promise<Attrs> {
    const uri = this.hostUri(name, h);
    const canonical = await this.virsh(uri, ['uri']);
    const memory = parseNodeMemoryMiB(await this.virsh(uri, ['nodeinfo']));
    const version = await this.virsh(uri, ['version']);
    const hypervisor = /^Running hypervisor:\s*(.*)$/m.exec(version)?.[1] ?? 'unknown';
    this.world.hosts[name] = { uri, attrs: h };
    this.ctx.log(`host ${name}: connected to ${canonical} (${hypervisor}, ${memory ?? '?'} MiB)`);
    return { uri, connected: canonical, hypervisor, node_memory: memory };
  }

  private async define(uri: string, name: string, g: GuestAttrs): Promise<string> {
    const host = this.hostAttrs(g.host);
    if (!host) throw new Error(`guest ${name}: host.${g.host} has not been applied, so its attributes are unknown`);
    const dir = join(this.ctx.stateDir, 'libvirt');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.xml`);
    const uuid = await this.domuuid(uri, name);
    writeFileSync(file, renderLibvirt(name, g, host, { cell: this.ctx.cell, ...(uuid ? { uuid } : {}) }));
    await this.virsh(uri, ['define', file]);
    return file;
  }

  private async startGuest(name: string, g: GuestAttrs): Promise<Attrs> {
    const uri = this.hostUri(g.host);
    // Recorded before it exists, so a kill mid-way leaves a domain the next run can find.
    this.world.guests[name] = { uri, host: g.host };
    this.ctx.checkpoint(this.world);
    const file = await this.define(uri, name, g);
    if ((await this.domstate(uri, name)) === 'running') {
      this.ctx.log(`guest ${name}: already running on ${uri}; its definition was updated`);
    } else {
      await this.virsh(uri, ['start', name]);
    }
    return { ...(await this.outputs(uri, name, g.host)), xml: file };
  }

  private async outputs(uri: string, name: string, host: string): Promise<Attrs> {
    const info = parseDominfo(await this.virsh(uri, ['dominfo', name]));
    return { uri, host, domid: info.id, state: info.state };
  }

  /** The uuid of an existing domain (a redefinition must keep it), or null. */
  private async domuuid(uri: string, name: string): Promise<string | null> {
    try {
      return (await this.virsh(uri, ['domuuid', name])).trim() || null;
    } catch (e) {
      if (e instanceof VirshError && e.noDomain) return null;
      throw e;
    }
  }

  /** The domain's state, or null when libvirt does not know it. */
  private async domstate(uri: string, name: string): Promise<string | null> {
    try {
      return (await this.virsh(uri, ['domstate', name])).trim();
    } catch (e) {
      if (e instanceof VirshError && e.noDomain) return null;
      throw e;
    }
  }

  // ---- reading back ------------------------------------------------------------------

  async console(guest: string): Promise<string> {
    const { uri } = this.guestUri(guest);
    if ((await this.domstate(uri, guest)) === null) {
      throw new UserError(isTestUri(uri) ? testUriForgets(uri, guest) : `libvirt at ${uri} has no domain ${guest}: it was removed outside cellctl (cellctl plan shows it, apply makes it again)`);
    }
    const info = await this.virsh(uri, ['dominfo', guest]);
    const xml = await this.virsh(uri, ['dumpxml', guest]);
    const note = isTestUri(uri)
      ? `libvirt's test driver (${uri}) runs no guest, so there is no boot console to show; this is what libvirt knows about the domain.`
      : `the boot console is interactive: run \`virsh -c ${uri} console ${guest}\`; this is what libvirt knows about the domain.`;
    return `${note}\n\n$ virsh -c ${uri} dominfo ${guest}\n${info}\n\n$ virsh -c ${uri} dumpxml ${guest}\n${xml}\n`;
  }

  async status(): Promise<DriverStatus> {
    const hostNames = Object.keys(this.world.hosts);
    const guestNames = new Set(Object.keys(this.world.guests));
    const byUri = new Map<string, string[]>(); // uri -> hosts on it
    for (const h of hostNames) byUri.set(this.hostUri(h), [...(byUri.get(this.hostUri(h)) ?? []), h]);
    // With --connect and no recorded hosts, still show what this cell left on that libvirt.
    if (this.opts.connect && !byUri.has(this.opts.connect)) byUri.set(this.opts.connect, []);

    const domains: DomainStatus[] = [];
    const nodeMemory = new Map<string, number | null>();
    for (const [uri, hosts] of byUri) {
      nodeMemory.set(uri, parseNodeMemoryMiB(await this.virsh(uri, ['nodeinfo'])));
      for (const name of parseNameList(await this.virsh(uri, ['list', '--all', '--name']))) {
        const facts = parseDomainXml(await this.virsh(uri, ['dumpxml', name]));
        const ours = facts.meta ? facts.meta.cell === this.ctx.cell : guestNames.has(name);
        if (!ours) continue; // other domains on the same libvirt (test:///default has "test")
        const info = parseDominfo(await this.virsh(uri, ['dominfo', name]));
        const metaHost = facts.meta?.host;
        const host = metaHost && (hosts.length === 0 || hosts.includes(metaHost)) ? metaHost : hosts[0] ?? 'unknown';
        domains.push({
          id: info.id, name, host, state: info.state, memory: Math.floor(info.usedMemKiB / 1024),
          vifs: facts.vifs.map((v) => `mac=${v.mac}, bridge=${v.bridge}${v.dev ? ` (${v.dev})` : ''}`),
        });
      }
    }
    const hosts = hostNames.map((h) => {
      const memory = nodeMemory.get(this.hostUri(h)) ?? 0;
      // What this cell's running domains take on the host; libvirt's own free-memory figure
      // is per NUMA cell and meaningless on the test driver.
      const used = domains.filter((d) => d.host === h && d.state === 'running').reduce((n, d) => n + d.memory, 0);
      return { name: h, memory, used, free: memory - used };
    });
    return { hosts, domains, services: [] };
  }

  async check(c: Check): Promise<CheckResult> {
    if (c.kind !== 'guest-running') return { status: 'skip', message: `${NOT_PROVISIONED} (the libvirt driver manages domains only)` };
    const guest = c.guest ?? (c.params.guest as string | undefined);
    if (!guest) return { status: 'fail', message: 'guest-running check names no guest' };
    let uri: string;
    try {
      uri = this.guestUri(guest).uri;
    } catch (e) {
      return { status: 'fail', message: (e as Error).message };
    }
    const state = await this.domstate(uri, guest);
    if (state === 'running') return { status: 'pass', message: `domain ${guest} is running on ${uri}` };
    if (state === null) {
      const why = isTestUri(uri) ? '; the test driver forgets its domains when a connection closes' : '';
      return { status: 'fail', message: `libvirt at ${uri} has no domain ${guest}${why}` };
    }
    return { status: 'fail', message: `domain ${guest} is ${state} on ${uri}` };
  }

  async migrate(guest: string, toHost: string): Promise<Attrs | void> {
    const { uri: from, host: fromHost } = this.guestUri(guest);
    const to = this.hostUri(toHost);
    if (from === to) {
      throw new UserError(
        `cannot migrate ${guest} from ${fromHost} to ${toHost}: both use the libvirt connection ${to}` +
          (this.opts.connect ? ' (--connect points every host at it)' : '') + ', so there is no other hypervisor to move to',
      );
    }
    if (isTestUri(from) || isTestUri(to)) {
      // A test:// world exists only inside the connection that made it, and the test driver
      // has no migration API (virsh migrate there: "this function is not supported by the
      // connection driver: virDomainMigrate3").
      throw new UserError(
        `cannot live-migrate ${guest} from ${from} to ${to}: libvirt's test driver implements no migration ` +
          '(virDomainMigrate3 is not supported by the connection driver); use xen+ssh:// or qemu+ssh:// hosts',
      );
    }
    // libvirtd keeps the domain, so a separate virsh process can migrate it (see virshOnce).
    const r = await virshOnce(from, ['migrate', '--live', '--persistent', '--undefinesource', guest, to], MIGRATE_TIMEOUT_MS);
    if (r.timedOut) {
      throw new Error(
        `virsh migrate ${guest} ${from} -> ${to} gave no answer within ${MIGRATE_TIMEOUT_MS / 1000} s; ` +
          `see \`virsh -c ${from} domjobinfo ${guest}\` and where the domain now runs`,
      );
    }
    if (!r.ok) throw new UserError(`libvirt cannot live-migrate ${guest} from ${from} to ${to}: ${r.errors.join('; ')}`);
    this.world.guests[guest] = { uri: to, host: toHost };
    this.ctx.log(`guest ${guest}: live-migrated from ${fromHost} (${from}) to ${toHost} (${to})`);
    return this.outputs(to, guest, toHost);
  }

  snapshot(): LibvirtWorld {
    return this.world; // where things live; the domains themselves are libvirt's
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((p) => p.then((s) => s.close(), () => undefined)));
  }
}

/**
 * On QEMU hosts (every URI qemu://, qemu+ssh://, ...) guests are real VMs driven through their agent
 * (guests.ts); elsewhere (test://, Xen) the driver defines and starts domains only.
 */
export function createLibvirtDriver(ctx: DriverContext, opts: DriverOptions = {}): Driver {
  return libvirtMode(libvirtUris(opts)) === 'guests' ? createLibvirtGuestsDriver(ctx, opts) : new LibvirtDriver(ctx, opts);
}
