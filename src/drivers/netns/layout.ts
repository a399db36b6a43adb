// Names and places: namespace and interface names derived from the cell, per-guest directories,
// and the driver's registry (what it started, where) kept under the state directory.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AfsBuild } from '../../plan/resources.js';
import { emptyServices, type ServiceRegistry } from '../services/placement.js';
import { Mutex } from './exec.js';

export function shortHash(s: string, n = 6): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

function slug(s: string, n: number): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, n) || 'x';
}

/** Namespace prefix: from the cell and the state directory, so two cells (or one cell in two state dirs) coexist. */
export function netnsPrefix(cell: string, stateDir: string): string {
  return `cx-${slug(cell, 10)}-${shortHash(cell + '\0' + resolve(stateDir), 4)}`;
}

/** Linux interface names are at most 15 bytes: keep short names, hash long ones. */
export function ifName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,15}$/.test(name) ? name : `br${shortHash(name, 8)}`;
}

/** Host end of a guest's veth, in the host namespace: "vh" + 8 hex + vif index (<= 15 bytes). */
export function vethHostName(guest: string, i: number): string {
  return `vh${shortHash(guest, 8)}${i}`;
}

export interface GuestRec {
  ns: string;
  host: string;
  ip: string; // first vif's address: where the guest's daemons listen ('' without a vif)
  ips: string[];
  veths: string[];
  bridges: string[]; // bridge name of each vif
  memory: number;
  dir: string;
}
export interface HostRec { ns: string; bridges: Record<string, string>; memory: number; dom0: number }
export type { KdcRec } from '../services/placement.js';

/** The driver's registry: its namespaces, and what the service layer made in them (ServiceRegistry's fields). */
export interface Registry extends ServiceRegistry {
  prefix: string;
  hosts: Record<string, HostRec>;
  guests: Record<string, GuestRec>;
  clients: Record<string, { pid: number; build?: AfsBuild }>; // build: your own OpenAFS's afsd.fuse (absent: Debian's)
  modules: Record<string, { guest: string; module: string }>;
}

export class Layout {
  readonly root: string; // <stateDir>/netns
  readonly prefix: string;
  reg: Registry;
  readonly krbLock = new Mutex(); // kadmin and kdb5_util changes, one at a time
  readonly netLock = new Mutex(); // bridges and the veths joining hosts' same-named bridges, one host at a time
  log: (line: string) => void = () => undefined; // progress lines (the driver masks secrets in them)

  /** `world`: the registry saved with the state; `persist`: save it now (the driver context's checkpoint). */
  constructor(readonly cell: string, readonly realm: string, stateDir: string, world: unknown, private readonly persist: (world: Registry) => void) {
    this.root = join(resolve(stateDir), 'netns');
    this.prefix = netnsPrefix(cell, stateDir);
    this.reg = { ...this.empty(), ...((world ?? {}) as Partial<Registry>) };
  }

  private empty(): Registry {
    return { ...emptyServices(), prefix: this.prefix, hosts: {}, guests: {}, clients: {}, modules: {} };
  }

  /** Forget everything (after the cell's namespaces and files are gone). */
  reset(): void {
    this.reg = this.empty();
  }

  save(): void {
    this.persist(this.reg);
  }

  hostNs(host: string): string {
    return `${this.prefix}-h-${slug(host, 12)}${shortHash(host, 2)}`;
  }
  guestNs(guest: string): string {
    return `${this.prefix}-g-${slug(guest, 12)}${shortHash(guest, 2)}`;
  }
  guestDir(guest: string): string {
    return join(this.root, 'guests', guest);
  }
  /** Cell-wide krb5.conf listing every KDC: what clients and kadmin use. */
  get krb5Conf(): string {
    return join(this.root, 'krb5', 'krb5.conf');
  }
  get binDir(): string {
    return join(this.root, 'bin');
  }
  kdcDir(guest: string): string {
    return join(this.guestDir(guest), 'krb5kdc');
  }
  /** Per-guest tree bind-mounted over Debian's fixed OpenAFS paths inside the guest's mount namespace. */
  afsPath(guest: string, p: '/etc/openafs' | '/etc/openafs/server' | '/var/lib/openafs/db' | '/var/lib/openafs/local' | '/var/log/openafs' | '/var/cache/openafs' | string): string {
    return join(this.guestDir(guest), 'root', p);
  }
  tmpDir(guest: string): string {
    const d = join(this.guestDir(guest), 'tmp');
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  }

  guest(name: string): GuestRec {
    const g = this.reg.guests[name];
    if (!g) throw new Error(`guest ${name} is not up in this cell (create guest.${name} first)`);
    return g;
  }
  ipOf(name: string): string {
    const ip = this.guest(name).ip;
    if (!ip) throw new Error(`guest ${name} has no vif, so no address to serve on`);
    return ip;
  }
}
