// The qemu driver's world: what it made and where, saved with the state (ctx.checkpoint) before
// anything real is made, so that a kill at any moment leaves nothing destroy cannot find.
import { join } from 'node:path';
import type { Registry as NetRegistry } from '../netns/layout.js';
import { shortHash } from '../netns/layout.js';
import { emptyServices, type ServiceRegistry } from '../services/placement.js';
import { GuestPlaces } from '../linux-guest/places.js';
import type { ClientRec, ModuleRec } from '../linux-guest/side.js';

export type { ClientRec, ModuleRec } from '../linux-guest/side.js';

export interface HostRec {
  memory: number;
  dom0: number;
  cpus: number;
}

export interface GuestRec {
  host: string;
  netns: string; // the host's namespace, where QEMU and the taps live
  dir: string; // pidfile, sockets, console.log, disks, vicep images
  kernel: string; // the cell's kernel: catalog id or Module.symvers path
  release?: string; // what the guest really runs (uname -r), once booted
  standIn?: string; // set when the catalog kernel is stood in for
  taps: string[];
  macs: string[];
  ips: (string | null)[];
  bridges: string[];
  memory: number; // MiB QEMU gives it
  asked: number; // MiB the cell file asks for
  vcpus: number;
  disks: string[]; // image files, in the order the guest sees them (vda, vdb, ...)
  state: 'starting' | 'running';
  pid?: number;
  accel?: string; // "tcg: no /dev/kvm"
}

export interface PartitionRec {
  guest: string;
  path: string; // /vicepa
  image: string;
  node: string; // QMP node-name and device id, also the disk's serial
}

export interface QemuWorld {
  net: Partial<NetRegistry>; // hosts' namespaces and bridges, kept by the netns driver's code
  hosts: Record<string, HostRec>;
  guests: Record<string, GuestRec>;
  partitions: Record<string, PartitionRec>; // by resource name
  modules: Record<string, ModuleRec>;
  clients: Record<string, ClientRec>;
  services: ServiceRegistry; // KDCs and AFS servers in the guests (the service layer's)
}

export function emptyWorld(): QemuWorld {
  return { net: {}, hosts: {}, guests: {}, partitions: {}, modules: {}, clients: {}, services: emptyServices() };
}

/** The world, its places on disk, and the netns Layout its hosts live in. */
export class Places extends GuestPlaces<QemuWorld> {
  constructor(cell: string, realm: string, stateDir: string, world: unknown, persist: (w: QemuWorld) => void) {
    super('qemu', cell, realm, stateDir, world, emptyWorld, persist);
  }

  guestDir(guest: string): string {
    return join(this.root, 'guests', guest);
  }
  /** A phy: device of a host is a file under the state dir; guests of that host share it. */
  deviceImage(host: string, device: string): string {
    return join(this.root, 'hosts', host, 'devices', `${device.replace(/^\/dev\//, '').replace(/[^\w.-]/g, '_')}.img`);
  }
  /** Tap of a guest's vif in its host's namespace: "vm" + 8 hex + index (<= 15 bytes). */
  tap(guest: string, i: number): string {
    return `vm${shortHash(`${this.prefix}|${guest}`, 8)}${i}`;
  }
}
