// The simulated Xen world: plain JSON, saved in the state file after every step, so every field is
// JSON (null, never undefined) and nothing in it depends on the wall clock or on randomness.
import type { DiskSpec, VifSpec } from '../../config/types.js';
import type { AfsBuild } from '../../plan/resources.js';

export const WORLD_VERSION = 2;

export type DomState = 'running' | 'blocked' | 'paused' | 'shutdown' | 'crashed';
export type KernelKind = 'linux' | 'netbsd' | 'solaris' | 'freebsd' | 'plan9';

export interface SimHost {
  name: string;
  os: string;
  xen: string;
  memory: number; // MiB of physical RAM
  dom0_memory: number; // MiB held by domain 0 (dom0_mem=)
  cpus: number;
  cpu_features: string[];
  bridges: string[];
  devices: string[];
  shared_storage: string[];
  next_domid: number; // Xen hands out domain ids in increasing order and never reuses one
  xend_log: string[]; // toolstack events, like /var/log/xen/xend.log
}

export interface SimDisk extends DiskSpec {
  devid: number; // the vbd device number xend reports: 0x301 -> 769
  image: string | null; // file:/tap: backing file, relative to the state directory
}

export interface SimModule {
  id: string; // catalog id or .ko path
  name: string;
  path: string; // where the guest loaded it from
}

export interface SimDomain {
  name: string;
  host: string;
  domid: number | null; // null while shut down (not known to the hypervisor)
  state: DomState;
  os: string;
  kernel: string; // catalog id or Module.symvers path
  kernel_image: string;
  kernel_kind: KernelKind;
  release: string;
  type: 'pv' | 'hvm';
  memory: number; // current allocation (balloon target) in MiB
  maxmem: number;
  vcpus: number;
  root: string | null;
  vifs: VifSpec[];
  disks: SimDisk[];
  console: string[]; // what `xm console` shows: toolstack lines and the kernel's console output
  log: string[]; // the guest's syslog (/var/log/messages): kernel and daemons, timestamped
  next_pid: number;
  tainted: boolean; // Linux prints the licence taint warning only once per boot
  modules: Record<string, SimModule>; // loaded, by module name
  modload_errors: Record<string, string>; // last failed load, by module name
}

export interface SimPrincipal {
  kvno: number;
  /** Fingerprint of a random key; null for a password's key, which only the secret store holds (kdb:<principal>#<kvno>). */
  key_check: string | null;
  randkey: boolean;
}

export interface SimKdc {
  guest: string;
  realm: string;
  role: 'master' | 'replica';
  master: string;
  software: string;
  kdcs: string[];
  pid: number;
  running: boolean;
  db: Record<string, SimPrincipal>; // K/M is the master key (kdb5_util create -s); replicas carry the master's // principal@REALM -> entry; replicas hold the master's copy (kprop)
}

export interface SimKey {
  kvno: number;
  key_check: string;
}

export interface SimKeytab extends SimKey {
  principal: string;
  enctypes: string[];
  cell: string; // the cell whose servers install it (afs/<cell>); '' for another service's keytab
  guest?: string | null; // where it is installed as /etc/krb5.keytab
  secret?: string; // the secret store's name of the random key's material (for cellctl export)
}

export interface SimAfsDb {
  guest: string;
  cell: string;
  software: string;
  dbservers: string[]; // CellServDB: every database server of the cell
  pids: { ptserver: number; vlserver: number };
  running: boolean;
  keyfile: SimKey[];
  build?: AfsBuild; // your own OpenAFS build it was started from
}

export interface SimFile {
  data: string;
  owner: number; // AFS id of the writer
  dv: number; // data version, bumped by every store
}

/** A mount point's entry in its directory: #volume (regular) or %volume (read/write). */
export interface SimMount {
  volume: string; // may end in .readonly or .backup
  rw: boolean;
}

export type VolType = 'rw' | 'ro' | 'bk';

export interface SimVolume {
  name: string; // the RW's name, for clones too
  volid: number; // this instance's id: RW, RW+1 (RO), RW+2 (backup)
  type: VolType;
  partition: string;
  maxquota: number; // KB; 0: no limit
  acls: Record<string, Record<string, string>>; // directory -> (pts name -> rights "rlidwka"); every directory has one
  negative: Record<string, Record<string, string>>; // directory -> negative rights
  mounts: Record<string, SimMount>; // path inside the volume ("/home") -> mount point
  files: Record<string, SimFile>; // path inside the volume ("/smoke.txt") -> file
}

export interface SimFileserver {
  guest: string;
  cell: string;
  software: string;
  partitions: string[]; // configured; attached ones are keys of `attached`
  dbservers: string[];
  pid: number; // fileserver
  volserver_pid: number;
  running: boolean;
  keyfile: SimKey[];
  build?: AfsBuild;
  attached: Record<string, Record<string, SimVolume>>; // /vicepa -> volid -> volume
}

export interface SimPtsEntry {
  id: number;
  kind: 'user' | 'group';
  members: string[]; // groups only
  owner?: string; // groups: a user or group name (default system:administrators)
}

/** A read-only site; `released`: it holds a clone (vos addsite leaves it "Not released"). */
export interface SimSite {
  server: string;
  partition: string;
  released: boolean;
}

export interface SimVldbEntry {
  volid: number;
  server: string;
  partition: string;
  sites?: SimSite[];
  backup?: boolean; // a backup clone exists beside the RW
}

export interface SimToken {
  principal: string;
  viceid: number | null;
  kvno: number;
  key_check: string;
  expires: number; // sim clock seconds
}

export interface SimClient {
  guest: string;
  cell: string;
  software: string;
  module: string | null;
  dbservers: string[];
  pid: number;
  running: boolean;
  tokens: Record<string, SimToken>; // by principal (one PAG per principal)
}

/** A Kerberos ticket cache of a guest's shell (cellctl exec): who, and the services it has tickets for. */
export interface SimCcache {
  principal: string; // qualified
  kdc: string;
  authtime: number;
  services: string[]; // krbtgt/REALM@REALM first
}

/** root's shell on a guest, as `cellctl exec` finds it between runs: its ticket cache and the PAG's token. */
export interface SimShell {
  ccache: SimCcache | null;
  token: string | null; // the principal whose token the shell's PAG holds (in the client's tokens)
}

export interface SimAfsCell {
  cell: string;
  prdb: { next_user_id: number; next_group_id?: number; entries: Record<string, SimPtsEntry> };
  vldb: { next_volid: number; entries: Record<string, SimVldbEntry>; servers: string[] };
}

export interface World {
  version: typeof WORLD_VERSION;
  clock: number; // seconds since SIM_EPOCH: the only time the sim knows
  generation: number; // counter for things that real systems randomise (service keys)
  hosts: Record<string, SimHost>;
  domains: Record<string, SimDomain>;
  graveyard: Record<string, string[]>; // console of destroyed or failed domains, for `cellctl console`
  kdcs: Record<string, SimKdc>; // by guest
  keytabs: Record<string, SimKeytab>; // exported service keys, by principal
  afs: SimAfsCell | null; // the ubik databases (one logical copy, replicated by ubik)
  afsdbs: Record<string, SimAfsDb>; // by guest
  fileservers: Record<string, SimFileserver>; // by guest
  clients: Record<string, SimClient>; // by guest
  shells: Record<string, SimShell>; // by guest
}

export function emptyWorld(): World {
  return {
    version: WORLD_VERSION, clock: 0, generation: 0, hosts: {}, domains: {}, graveyard: {},
    kdcs: {}, keytabs: {}, afs: null, afsdbs: {}, fileservers: {}, clients: {}, shells: {},
  };
}

/** A format 1 world (cell file v1) read as format 2: volumes get their quota, negative ACLs and mount points. */
function upgrade(w: World): World {
  for (const fs of Object.values(w.fileservers)) {
    for (const part of Object.values(fs.attached)) {
      for (const v of Object.values(part)) {
        v.type ??= 'rw';
        v.maxquota ??= DEFAULT_QUOTA;
        v.negative ??= {};
        v.mounts ??= {};
      }
    }
  }
  return { ...w, version: WORLD_VERSION };
}

/** vos create's default -maxquota (KB). */
export const DEFAULT_QUOTA = 5000;

/** The world saved in the state file, or a new one. Copied once so later changes by the caller can't reach us. */
export function loadWorld(data: unknown): World {
  if (data === undefined || data === null) return emptyWorld();
  const version = typeof data === 'object' && !Array.isArray(data) ? (data as { version?: unknown }).version : undefined;
  if (version !== WORLD_VERSION && version !== 1) {
    const v = version === undefined ? typeof data : String(version);
    throw new Error(`sim: the saved hypervisor state has format ${v}, this cellctl reads formats 1 and ${WORLD_VERSION}; destroy and re-apply the cell`);
  }
  const w = { ...emptyWorld(), ...(structuredClone(data) as World) };
  return version === 1 ? upgrade(w) : w;
}

// The seed's kernel log says "Apr 27 16:55:23 shea kernel: openafs: ...". The epoch is set so
// that the seed's sequence (host, xm create shea, load openafs) lands on that second; see SECONDS.
const SIM_EPOCH_MS = Date.UTC(2007, 3, 27, 16, 55, 2);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Simulated seconds each step takes (what advances the clock). */
export const SECONDS = { host: 1, boot: 20, module: 1, service: 2, admin: 1, check: 1, migrate: 3 } as const;

export function advance(w: World, seconds: number): void {
  w.clock += seconds;
}

const two = (n: number) => String(n).padStart(2, '0');

/** syslog's timestamp: "Apr 27 16:55:23" (day padded with a space). */
export function syslogTime(clock: number): string {
  const d = new Date(SIM_EPOCH_MS + clock * 1000);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** xend.log's timestamp: "2007-04-27 16:55:23". */
export function isoTime(clock: number): string {
  const d = new Date(SIM_EPOCH_MS + clock * 1000);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** Seconds since 1970, for Kerberos authtimes. */
export function unixTime(clock: number): number {
  return Math.floor(SIM_EPOCH_MS / 1000) + clock;
}

/** `tokens` prints expiry as "Apr 28 02:55". */
export function shortTime(clock: number): string {
  return syslogTime(clock).slice(0, 12);
}

/** The tag a kernel's syslog lines carry: Linux "kernel:", NetBSD "/netbsd:". */
export function kernelTag(kind: KernelKind): string {
  return kind === 'netbsd' ? '/netbsd' : kind === 'solaris' ? 'unix' : 'kernel';
}

/** Append a syslog line to the guest's /var/log/messages. */
export function syslog(w: World, d: SimDomain, tag: string, message: string): string {
  const line = `${syslogTime(w.clock)} ${d.name} ${tag}: ${message}`;
  d.log.push(line);
  return line;
}

export function klog(w: World, d: SimDomain, message: string): string {
  return syslog(w, d, kernelTag(d.kernel_kind), message);
}

export function xendLog(w: World, h: SimHost, message: string): void {
  h.xend_log.push(`[${isoTime(w.clock)} xend] ${message}`);
}

/** A process id inside the guest; deterministic, like a freshly booted system's. */
export function spawn(d: SimDomain): number {
  return d.next_pid++;
}

/** Is the guest's kernel up (services can run and answer)? */
export function isUp(d: SimDomain | undefined): boolean {
  return d !== undefined && d.domid !== null && (d.state === 'running' || d.state === 'blocked');
}

/** A record's own entry (guest names are data: "constructor" must not find Object's). */
export function own<T>(rec: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}

export function domainOf(w: World, guest: string): SimDomain | undefined {
  return own(w.domains, guest);
}

/** Add or replace a key version in a server's KeyFile (asetkey add). */
export function installKey(keyfile: SimKey[], key: SimKey): void {
  const i = keyfile.findIndex((k) => k.kvno === key.kvno);
  if (i >= 0) keyfile[i] = { kvno: key.kvno, key_check: key.key_check };
  else keyfile.push({ kvno: key.kvno, key_check: key.key_check });
  keyfile.sort((a, b) => a.kvno - b.kvno);
}

/** A guest's services stop with it; what they kept on its disks is gone when the domain is destroyed. */
export function forgetServices(w: World, guest: string): void {
  delete w.kdcs[guest];
  delete w.afsdbs[guest];
  delete w.fileservers[guest];
  delete w.clients[guest];
  delete w.shells[guest];
  if (Object.keys(w.afsdbs).length === 0) w.afs = null; // the last copy of PRDB/VLDB went with it
}

/** The guest must exist and be up before a service can be started on it. */
export function requireUp(w: World, guest: string, what: string): SimDomain {
  const d = domainOf(w, guest);
  if (!d) throw new Error(`${what}: guest ${guest} does not exist (xm list shows no domain '${guest}')`);
  if (!isUp(d)) throw new Error(`${what}: guest ${guest} is ${d.state}, not running`);
  return d;
}

/** First IPv4 address of the guest, if configured. */
export function guestIp(w: World, guest: string): string | null {
  return domainOf(w, guest)?.vifs.find((v) => v.ip)?.ip ?? null;
}

/** Order for ubik's "lowest address wins": by IPv4 value, guests without one last, then by name. */
export function ipOrder(w: World, a: string, b: string): number {
  const num = (g: string) => {
    const ip = guestIp(w, g);
    if (!ip) return Number.MAX_SAFE_INTEGER;
    return ip.split('.').reduce((acc, part) => acc * 256 + (Number(part) || 0), 0);
  };
  return num(a) - num(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Can `from` reach `to` over the network? Both up, and both with a vif (bridges are routed to each other). */
export function reachable(w: World, from: string, to: string): boolean {
  const a = domainOf(w, from);
  const b = domainOf(w, to);
  if (!a || !b || !isUp(a) || !isUp(b)) return false;
  return from === to || (a.vifs.length > 0 && b.vifs.length > 0);
}

/** Last n lines of the guest's console and syslog, for failure details. */
export function excerpt(w: World, guest: string, n = 12, filter?: (line: string) => boolean): string {
  const d = domainOf(w, guest);
  const lines = d ? [...d.console, ...d.log] : (w.graveyard[guest] ?? []);
  const picked = filter ? lines.filter(filter) : lines;
  return picked.slice(-n).join('\n');
}
