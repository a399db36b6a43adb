// What the drivers whose guests are real Linux kernels behind an agent (qemu, libvirt, xen) keep the
// same way: the world saved with the state (ctx.checkpoint) before anything real is made, the hosts'
// namespaces (the netns driver's Layout), one kernel change at a time per guest, and the world as
// the guest-side helpers (side.ts) and the service layer see it. Each driver adds its own records.
import { resolve } from 'node:path';
import type { Runner } from '../netns/exec.js';
import { Layout, type Registry as NetRegistry } from '../netns/layout.js';
import { cellNamespaces, removeNetns } from '../netns/namespaces.js';
import { emptyServices, type ServiceRegistry } from '../services/placement.js';
import { Mutex } from '../services/util.js';
import { qemuPidsUnder } from '../vm/qemu.js';
import type { ClientRec, GuestSide, ModuleRec } from './side.js';

/** What every guest record has, whatever runs the guest. */
export interface GuestBase {
  host: string;
  kernel: string; // the cell's kernel: catalog id or Module.symvers path
  release?: string; // what the guest really runs (uname -r), once booted
  memory: number; // MiB the guest has
  ips: (string | null)[];
  state: 'starting' | 'running';
}

export interface GuestWorld<G extends GuestBase = GuestBase> {
  net: Partial<NetRegistry>; // hosts' namespaces and bridges, kept by the netns driver's code
  guests: Record<string, G>;
  modules: Record<string, ModuleRec>;
  clients: Record<string, ClientRec>;
  services: ServiceRegistry; // KDCs and AFS servers in the guests (the service layer's)
}

/** The world, its place on disk, and the netns Layout its hosts live in. */
export abstract class GuestPlaces<W extends GuestWorld> {
  w: W;
  readonly root: string; // <state>/<driver>
  readonly net: Layout;
  private readonly kernelLocks = new Map<string, Mutex>();

  protected constructor(
    readonly driver: string,
    readonly cell: string,
    readonly realm: string,
    stateDir: string,
    world: unknown,
    private readonly empty: () => W,
    private readonly persist: (w: W) => void,
  ) {
    this.root = resolve(stateDir);
    const saved = (world ?? {}) as Partial<W>;
    this.w = { ...empty(), ...saved, services: { ...emptyServices(), ...saved.services } };
    this.net = new Layout(cell, realm, stateDir, this.w.net, (reg) => {
      this.w.net = reg;
      this.save();
    });
  }

  save(): void {
    this.w.net = this.net.reg;
    this.persist(this.w);
  }

  reset(): void {
    this.w = this.empty();
    this.net.reset();
  }

  /**
   * One kernel change at a time per guest (insmod, a disk plugged + mounted): the kernel log lines
   * between a change's marks are then its own.
   */
  inKernel<T>(guest: string, fn: () => Promise<T>): Promise<T> {
    let m = this.kernelLocks.get(guest);
    if (!m) this.kernelLocks.set(guest, (m = new Mutex()));
    return m.run(fn);
  }

  get prefix(): string {
    return this.net.prefix;
  }
  hostNs(host: string): string {
    return this.net.hostNs(host);
  }
  guest(name: string): W['guests'][string] {
    const g = this.w.guests[name];
    if (!g) throw new Error(`guest ${name} is not up in this cell (create guest.${name} first)`);
    return g as W['guests'][string];
  }
  /** The guest's first address on the cell's network, if it has one. */
  addressOf(name: string): string | undefined {
    return this.w.guests[name]?.ips.find((x): x is string => !!x);
  }
  /** This world as the guest-side helpers see it (modules, the AFS client). */
  get side(): GuestSide {
    const P = this;
    return {
      driver: P.driver,
      get modules() {
        return P.w.modules;
      },
      get clients() {
        return P.w.clients;
      },
      save: () => P.save(),
      guest: (name) => {
        const g = P.guest(name);
        return { kernel: g.kernel, release: g.release ?? '', memory: g.memory };
      },
      addressOf: (name) => P.addressOf(name),
      inKernel: (guest, fn) => P.inKernel(guest, fn),
    };
  }
}

/** What purge ends first, whatever the driver recorded: QEMU processes under the cell's directory, the cell's namespaces by prefix. */
export async function purgeProcessesAndNamespaces(r: Runner, root: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of qemuPidsUnder(root)) {
    try {
      process.kill(pid, 'SIGKILL');
      found.push(`qemu pid ${pid}`);
    } catch {
      /* gone */
    }
  }
  for (const ns of await cellNamespaces(r, prefix)) {
    await removeNetns(r, ns);
    found.push(`namespace ${ns}`);
  }
  return found;
}
