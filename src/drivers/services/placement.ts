// The service layer's view of where a service runs. A Placement is one guest: run a command in it,
// start a daemon, read and write its files, end its processes. The netns driver places a guest in
// namespaces on this machine (its per-guest mount namespace binds the guest's own tree over
// Debian's fixed paths); the qemu driver places it in a real VM (its agent; Debian's paths are the
// guest's own). The services (services/*.ts) are written once against this interface.
import type { AfsBuild } from '../../plan/resources.js';
import type { Masker } from '../../render/mask.js';
import type { Mutex } from './util.js';

export interface RunOptions {
  input?: string; // fed on stdin (passwords go here, never on a command line)
  env?: Record<string, string>; // added to the guest's own (scrubbed) environment
  timeoutMs?: number; // killed after this (default 30 s): code 124, "(timed out after N ms)" in out
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  out: string; // stdout + stderr, secrets masked
}

export interface FileWrite {
  path: string;
  data: string | Uint8Array;
  mode?: number; // default 0644
}

export interface Placement {
  readonly guest: string;
  /** What the guest is, for messages: "netns" (namespaces), "qemu" (a VM) or "xen" (a domU). */
  readonly kind: 'netns' | 'qemu' | 'xen';
  /** The guest's address, where its daemons listen; throws when it has none. */
  ip(): string;
  /** Where this layer keeps its files in the guest (paths as the guest's commands see them). */
  readonly paths: {
    kdc: string; // a KDC's database, stash, kdc.conf, pid file and logs
    krb5Conf: string; // the realm's krb5.conf for commands run here
    keytab: string; // the afs/<cell> service keytab, on the master KDC
    tmp: string; // scratch (credential caches, probe configs), 0700
  };
  /** Added to a daemon's environment (the netns driver marks the cell's daemons to find them after a crash). */
  readonly daemonEnv: Record<string, string>;
  /** A command in the guest (its network, its files); never throws for a non-zero exit. */
  run(cmd: string, args: string[], o?: RunOptions): Promise<RunResult>;
  /** Starts a foreground daemon in a session of its own (stdout and stderr to log); returns its pid. */
  spawn(cmd: string, args: string[], o: { env?: Record<string, string>; log: string }): Promise<number>;
  /** The process runs in this guest and is not a zombie. */
  alive(pid: number): Promise<boolean>;
  /** Ends one process, or a spawn()ed daemon with everything it started ('tree'). */
  stop(pid: number, what: 'process' | 'tree'): Promise<void>;
  readFile(path: string): Promise<Buffer | undefined>; // undefined when it does not exist
  writeFiles(files: FileWrite[]): Promise<void>; // each atomically; directories made as needed
  mkdir(paths: string[], mode?: number): Promise<void>; // with parents; mode applies to each path given
  remove(path: string): Promise<void>; // recursive, no error when absent
  /** /vicepX made visible to the fileserver (netns: bound into its namespace; qemu: a disk hot-plugged and mounted). */
  exposePartition(path: string): Promise<void>;
  /** Whether the fileserver sees /vicepX (mounted where it looks). */
  partitionExposed(path: string): Promise<boolean>;
}

export interface KdcRec { role: 'master' | 'replica'; realm: string; master: string; standIn?: string }

/** What the services made, saved with the driver's world (the netns driver's registry holds the same fields). */
export interface ServiceRegistry {
  kdcs: Record<string, KdcRec>;
  realm?: string;
  keytab?: { file: string; kvno: number; principal: string; guest?: string }; // guest: where the file is (the master KDC)
  afsDb: string[]; // guests running ptserver + vlserver
  dbPlanned: string[]; // every db server the cell file names (CellServDB lists them all)
  bos: Record<string, number>; // guest -> bosserver pid
  dbBootstrapped?: boolean; // the first db server created the databases alone (multi-server cells)
  afsFs: Record<string, string[]>; // guest -> partitions
  ptsUsers: Record<string, { principal: string; admin: boolean }>;
  principals: string[];
  afsBuild?: Record<string, AfsBuild>; // guest -> the OpenAFS build its servers (or client) run; absent: the packaged one
}

export function emptyServices(): ServiceRegistry {
  return { kdcs: {}, afsDb: [], dbPlanned: [], bos: {}, afsFs: {}, ptsUsers: {}, principals: [] };
}

/** What a service function gets: the cell, its registry, and a placement for each guest. */
export interface Services {
  readonly cell: string;
  readonly realm: string;
  readonly reg: ServiceRegistry;
  save(): void; // persist the registry now (write-ahead)
  log(line: string): void;
  readonly masker: Masker;
  readonly krbLock: Mutex; // kadmin and kdb5_util changes, one at a time
  /** The guest's placement; throws when the guest is not up. */
  place(guest: string): Placement;
  /** Whether the guest is up (its placement can be had). */
  has(guest: string): boolean;
  /** The address of a guest that is up, or undefined. */
  addressOf(guest: string): string | undefined;
  /** Every guest of the cell that is up, with its address ('' without a vif). */
  guests(): { name: string; ip: string }[];
}
