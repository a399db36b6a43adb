// What --driver libvirt keeps with the state on QEMU hosts: the qemu driver's world (hosts' namespaces
// and bridges, guests, modules, partitions, clients: the same records, the same code reads them) and
// where each host's libvirtd is and each guest's domain lives.
import { Places, type QemuWorld } from '../qemu/world.js';

export interface LvHostRec {
  uri: string;
  daemon?: { dir: string; netns: string }; // a libvirtd cellctl runs inside the host's namespace
}

export interface LvGuestRec {
  uri: string;
  host: string;
  domain: string;
  agentSocket?: string; // the agent channel's socket, as libvirt reports it (dumpxml)
}

export interface LvWorld {
  hosts: Record<string, LvHostRec>;
  guests: Record<string, LvGuestRec>;
}

interface Saved {
  qemu?: Partial<QemuWorld>;
  libvirt?: Partial<LvWorld>;
}

/** The qemu driver's Places (its world and the host namespaces' Layout) plus the libvirt records, saved together. */
export class LvPlaces extends Places {
  lv: LvWorld;

  constructor(cell: string, realm: string, stateDir: string, world: unknown, persist: (w: Saved) => void) {
    const saved = (world ?? {}) as Saved;
    const self: { lv?: LvWorld } = {};
    super(cell, realm, stateDir, saved.qemu, (w) => persist({ qemu: w, libvirt: self.lv }));
    this.lv = { hosts: { ...(saved.libvirt?.hosts ?? {}) }, guests: { ...(saved.libvirt?.guests ?? {}) } };
    self.lv = this.lv;
  }

  override reset(): void {
    super.reset();
    this.lv.hosts = {};
    this.lv.guests = {};
  }

  snapshot(): Saved {
    return { qemu: this.w, libvirt: this.lv };
  }

  /** The domain's name: the cell's namespace prefix and the guest, so cells sharing a libvirtd never collide. */
  domain(guest: string): string {
    return `${this.prefix}-${guest}`;
  }
}
