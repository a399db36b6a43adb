// The xen driver's world: the Xen hosts it booted and the domUs it made, saved with the state
// (ctx.checkpoint) before anything real is made, so that a kill at any moment leaves nothing
// destroy cannot find. Also where things are: on this machine and in each dom0's view.
import { join } from 'node:path';
import { GuestPlaces } from '../../linux-guest/places.js';
import type { ClientRec, ModuleRec } from '../../linux-guest/side.js';
import { shortHash, type Registry as NetRegistry } from '../../netns/layout.js';
import { emptyServices, type ServiceRegistry } from '../../services/placement.js';

/** Where each dom0 mounts the cell's storage directory (9p): disk images, partitions, save files. */
export const DOM0_STORAGE = '/var/lib/cellctl/storage';

export interface XenHostRec {
  dir: string; // the Xen kit's host directory: QEMU's files, dom0's console, xen-log/
  netns: string; // the host's namespace: its bridges, the uplink taps, QEMU
  memory: number;
  dom0: number;
  cpus: number;
  bridges: string[];
  uplinks: { bridge: string; tap: string; mac: string }[]; // dom0 NICs joined to the namespace's bridges
  sharedStorage: string[]; // the cell's shared_storage paths (what may move between hosts)
  devices: Record<string, { image: string; target: string }>; // phy: devices made so far, by name
  state: 'starting' | 'running';
  xenVersion?: string; // xl info's xen_version, once up
}

export interface DiskRec {
  raw: string; // the cell's disk spec, as xl gets it
  image: string; // the image file on this machine
  target: string; // the same file in dom0's view (under DOM0_STORAGE)
  dom0Path: string; // what the spec names: in dom0, a link to target (phy: to a loop device over it)
  device?: boolean; // a phy: device of the host (its image is the host's, shared by its domUs)
}

export interface DomuRec {
  host: string;
  domid?: number;
  kernel: string; // the cell's kernel: catalog id or Module.symvers path
  release?: string; // what the domU really runs (uname -r), once booted
  standIn?: string; // set when the catalog kernel is stood in for
  memory: number; // MiB xl gives it
  asked: number; // MiB the cell file asks for
  vcpus: number;
  macs: string[];
  ips: (string | null)[];
  bridges: string[];
  disks: DiskRec[];
  config?: string; // dom0 path of the xl config xl create read
  state: 'starting' | 'running';
  movingTo?: string; // set while a migration runs: the domain may be on either host
  ranOn?: string[]; // hosts it ran on before (migrate): their console logs hold its earlier output
}

export interface PartitionRec {
  guest: string;
  path: string; // /vicepa
  image: string; // on this machine
  target: string; // the same file in dom0's view
  vdev: string; // xl block-attach's vdev: the domU's /dev/<vdev>
}

export interface XenWorld {
  net: Partial<NetRegistry>; // hosts' namespaces and bridges, kept by the netns driver's code
  hosts: Record<string, XenHostRec>;
  guests: Record<string, DomuRec>;
  partitions: Record<string, PartitionRec>; // by resource name
  modules: Record<string, ModuleRec>;
  clients: Record<string, ClientRec>;
  services: ServiceRegistry; // KDCs and AFS servers in the domUs (the service layer's)
}

export function emptyWorld(): XenWorld {
  return { net: {}, hosts: {}, guests: {}, partitions: {}, modules: {}, clients: {}, services: emptyServices() };
}

/** The world, its places on this machine and in dom0, and the netns Layout the hosts' namespaces live in. */
export class Places extends GuestPlaces<XenWorld> {
  constructor(cell: string, realm: string, stateDir: string, world: unknown, persist: (w: XenWorld) => void) {
    super('xen', cell, realm, stateDir, world, emptyWorld, persist);
  }

  hostDir(host: string): string {
    return join(this.root, 'hosts', host);
  }
  /** The directory every dom0 of the cell mounts at DOM0_STORAGE. */
  get storage(): string {
    return join(this.root, 'storage');
  }
  /** A path under the storage directory, on this machine and in dom0. */
  stored(...parts: string[]): { image: string; dom0: string } {
    return { image: join(this.storage, ...parts), dom0: join(DOM0_STORAGE, ...parts) };
  }
  /** Uplink tap of a host's bridge in its namespace: "xu" + 8 hex + index (<= 15 bytes). */
  uplinkTap(host: string, i: number): string {
    return `xu${shortHash(`${this.prefix}|${host}`, 8)}${i}`;
  }
  /** dom0's NIC on that tap: QEMU's OUI, three bytes from the names. */
  uplinkMac(host: string, i: number): string {
    const h = shortHash(`${this.prefix}|${host}|uplink|${i}`, 6);
    return `52:54:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
  }
}
