// The AFS cache manager on a client guest. Every operation goes the way a real one does: the VLDB
// (any database server) says where the volume lives, the fileserver on that guest checks the
// token against its KeyFile and the directory's ACL, and the data lives in the fileserver's volume.
import type { AfsClientAttrs, Attrs } from '../../plan/resources.js';
import { ANONYMOUS_ID, cellDbservers, dbUp, describeQuorum, fsUp, groupsOf, quorum } from './afs.js';
import { kinit, serviceTicket, type KrbEnv } from './kerberos.js';
import { moduleLoaded } from './modules.js';
import { addr, names } from '../../plan/addrs.js';
import {
  advance, guestIp, isUp, klog, own, reachable, requireUp, SECONDS, shortTime, spawn, syslog,
  type SimClient, type SimFileserver, type SimToken, type SimVolume, type World,
} from './world.js';

const TOKEN_LIFETIME = 10 * 3600; // krb5's default ticket lifetime, which aklog's token inherits

export function clientUp(w: World, guest: string): boolean {
  const c = own(w.clients, guest);
  const d = w.domains[guest];
  return c?.running === true && isUp(d) && (c.module === null || moduleLoaded(d, c.module));
}

function isArla(software: string): boolean {
  return software.startsWith('arla');
}

export function createClient(w: World, a: AfsClientAttrs): Attrs {
  const what = addr.afsClient(a.guest);
  const d = requireUp(w, a.guest, what);
  if (own(w.clients, a.guest)) throw new Error(`${what}: an AFS client already runs on ${a.guest}`);
  if (a.module !== null && !moduleLoaded(d, a.module)) {
    const name = a.module.split('/').pop()!.replace(/\.ko$/, '');
    const last = Object.entries(d.modload_errors).find(([n]) => a.module!.includes(n))?.[1]?.split('\n')[0];
    const why = `kernel module ${a.module} is not loaded${last ? `: ${last}` : ' (it was never loaded on this boot)'}`;
    throw new Error(isArla(a.software)
      ? `arlad on ${a.guest}: /dev/nnpfs0: Device not configured; ${why}`
      : `openafs-client on ${a.guest}: Failed to load AFS kernel module, not starting AFS (${name}: ${why})`);
  }
  const c: SimClient = {
    guest: a.guest, cell: a.cell, software: a.software, module: a.module, dbservers: [...a.dbservers],
    pid: spawn(d), running: true, tokens: {},
  };
  w.clients[a.guest] = c;
  if (isArla(a.software)) syslog(w, d, `arlad[${c.pid}]`, `${a.software} started, cell ${a.cell}`);
  else syslog(w, d, `afsd[${c.pid}]`, 'All AFS daemons started.');
  advance(w, SECONDS.service);
  return { pid: c.pid, module: a.module };
}

export function updateClient(w: World, a: AfsClientAttrs): Attrs {
  const c = own(w.clients, a.guest);
  if (!c) throw new Error(`${addr.afsClient(a.guest)}: no AFS client on ${a.guest} to update`);
  c.dbservers = [...a.dbservers]; // CellServDB; `fs newcell` makes it take effect without a restart
  advance(w, SECONDS.admin);
  return { pid: c.pid, module: c.module };
}

export function deleteClient(w: World, guest: string): void {
  delete w.clients[guest];
  advance(w, SECONDS.admin);
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };
const fail = <T>(error: string): Outcome<T> => ({ ok: false, error });

export function liveClient(w: World, guest: string): Outcome<SimClient> {
  const c = own(w.clients, guest);
  if (!c) return fail(`no AFS client on ${guest} (afs-client.${guest} not created)`);
  const d = w.domains[guest];
  if (!isUp(d)) return fail(`guest ${guest} is ${d?.state ?? 'gone'}`);
  if (c.module !== null && !moduleLoaded(d, c.module)) return fail(`the AFS kernel module ${c.module} is not loaded on ${guest}`);
  if (!c.running) return fail(`the AFS client on ${guest} is stopped`);
  return { ok: true, value: c };
}

/** kinit + aklog on the client: a token for afs@<cell> bound to the fileservers' key. */
export function aklog(w: World, env: KrbEnv, guest: string, principal: string): Outcome<SimToken> {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const c = live.value;
  const k = kinit(w, env, guest, principal);
  if (!k.ok) return fail(k.error);
  const service = `afs/${c.cell}@${env.realm}`;
  const t = serviceTicket(w, env, k.kdc, guest, service);
  if (!t.ok) return fail(`aklog: Couldn't get ${c.cell} AFS tickets: ${t.error}`);
  // aklog asks the ptserver for the user's AFS id (pts form: kula/admin -> kula.admin).
  const dbs = c.dbservers.filter((g) => dbUp(w, g) && reachable(w, guest, g));
  if (dbs.length === 0 || !w.afs) return fail(`aklog: unable to get the AFS id of ${k.full}: no ptserver of ${c.cell} answers`);
  const user = names.ptsUser(k.full.slice(0, k.full.lastIndexOf('@')));
  const viceid = own(w.afs.prdb.entries, user)?.id ?? null;
  const token: SimToken = { principal: k.full, viceid, kvno: t.kvno, key_check: t.key_check, expires: w.clock + TOKEN_LIFETIME };
  c.tokens[k.full] = token;
  advance(w, SECONDS.check);
  return { ok: true, value: token };
}

/**
 * aklog, then an authenticated FetchStatus of /afs/<cell> at the fileserver holding root.cell: a token
 * is proved by a server accepting it. One sealed with a key the server lacks (the service key changed
 * since the servers installed theirs) is refused with an rxkad error and discarded, as a real client does.
 */
export function tokenAccepted(w: World, env: KrbEnv, guest: string, principal: string): Outcome<{ token: SimToken; server: string }> {
  const t = aklog(w, env, guest, principal);
  if (!t.ok) return t;
  const c = w.clients[guest]!;
  const loc = locate(w, c, `/afs/${c.cell}`);
  if (!loc.ok) return loc;
  const fs = loc.value.fs;
  const key = fs.keyfile.find((k) => k.kvno === t.value.kvno);
  if (!key || key.key_check !== t.value.key_check) {
    const code = key ? 19270407 : 19270408; // RXKADBADTICKET / RXKADUNKNOWNKEY
    klog(w, w.domains[guest]!, `afs: Tokens for user of AFS id ${t.value.viceid ?? ANONYMOUS_ID} for cell ${c.cell} are discarded (rxkad error=${code}, server ${guestIp(w, fs.guest) ?? fs.guest})`);
    delete c.tokens[t.value.principal];
    return fail(`the fileserver on ${fs.guest} refused the token of ${t.value.principal}: rxkad error ${code} (${key ? 'ticket sealed with another key' : `no key of version ${t.value.kvno}`})`);
  }
  advance(w, SECONDS.check);
  return { ok: true, value: { token: t.value, server: fs.guest } };
}

/** What `tokens` prints for one token. */
export function describeToken(cell: string, t: SimToken): string {
  const id = t.viceid === null ? `AFS ID unknown: no PRDB entry` : `AFS ID ${t.viceid}`;
  return `User's (${id}) tokens for afs@${cell} [Expires ${shortTime(t.expires)}]`;
}

export interface Located {
  fs: SimFileserver;
  vol: SimVolume;
  rel: string; // path inside the volume
}

/** /afs -> root.afs; /afs/<cell> and /afs/.<cell> -> root.cell (via its mount point). */
export function locate(w: World, c: SimClient, path: string): Outcome<Located> {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== 'afs') return fail(`${path}: not under /afs`);
  let volume = 'root.afs';
  let rest = parts.slice(1);
  if (rest.length > 0) {
    if (rest[0] !== c.cell && rest[0] !== `.${c.cell}`) return fail(`${path}: No such file or directory`);
    volume = 'root.cell';
    rest = rest.slice(1);
  }
  const dbs = c.dbservers.filter((g) => dbUp(w, g) && reachable(w, c.guest, g));
  if (dbs.length === 0 || !w.afs) {
    return fail(`${path}: Connection timed out (no VLDB server answers: ${describeQuorum(quorum(w, c.dbservers.length ? c.dbservers : cellDbservers(w)))})`);
  }
  const entry = own(w.afs.vldb.entries, volume);
  if (!entry) return fail(`${path}: No such device (volume ${volume} is not in the VLDB)`);
  const fs = own(w.fileservers, entry.server);
  if (!fs || !fsUp(w, entry.server) || !reachable(w, c.guest, entry.server)) {
    klog(w, w.domains[c.guest]!, `afs: Lost contact with file server ${guestIp(w, entry.server) ?? entry.server} in cell ${c.cell} (all multi-homed ip addresses down for the server)`);
    return fail(`${path}: Connection timed out (fileserver on ${entry.server} does not answer)`);
  }
  const vol = own(fs.attached, entry.partition)?.[String(entry.volid)];
  if (!vol) return fail(`${path}: No such device (volume ${volume} ${entry.volid} is not on ${entry.server} ${entry.partition})`);
  return { ok: true, value: { fs, vol, rel: '/' + rest.join('/') } };
}

/** The fileserver's view of the caller: checks the token against its KeyFile, then builds the CPS. */
export function callerRights(w: World, c: SimClient, fs: SimFileserver, vol: SimVolume, dir: string, token: SimToken | null): { rights: string; who: number } {
  let user: string | null = null;
  let who = ANONYMOUS_ID;
  if (token) {
    const key = fs.keyfile.find((k) => k.kvno === token.kvno);
    if (!key || key.key_check !== token.key_check) {
      // RXKADUNKNOWNKEY / RXKADBADTICKET: the client drops the token and goes on unauthenticated.
      klog(w, w.domains[c.guest]!, `afs: Tokens for user of AFS id ${token.viceid ?? ANONYMOUS_ID} for cell ${c.cell} are discarded (rxkad error=${key ? 19270407 : 19270408})`);
      delete c.tokens[token.principal];
    } else if (token.viceid !== null && w.afs) {
      who = token.viceid;
      user = Object.entries(w.afs.prdb.entries).find(([, e]) => e.id === token.viceid)?.[0] ?? null;
    }
  }
  const cps = ['system:anyuser'];
  if (user && w.afs) cps.push(user, 'system:authuser', ...groupsOf(w.afs, user));
  const acl = own(vol.acls, dir) ?? {};
  const rights = new Set<string>();
  for (const name of cps) for (const r of own(acl, name) ?? '') rights.add(r);
  return { rights: [...rights].join(''), who };
}

export function split(rel: string): { dir: string; name: string } {
  const i = rel.lastIndexOf('/');
  return { dir: i <= 0 ? '/' : rel.slice(0, i), name: rel.slice(i + 1) };
}

export function tokenFor(c: SimClient, principal: string | null): SimToken | null {
  return principal === null ? null : (Object.values(c.tokens).find((t) => t.principal === principal || t.principal.startsWith(`${principal}@`)) ?? null);
}

/** Write a file through the client: StoreData on the fileserver holding the volume. */
export function afsWrite(w: World, guest: string, path: string, data: string, principal: string | null): Outcome<{ volume: string; volid: number; server: string; bytes: number }> {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const loc = locate(w, live.value, path);
  if (!loc.ok) return loc;
  const { fs, vol, rel } = loc.value;
  const { dir, name } = split(rel);
  if (!name || own(vol.acls, rel)) return fail(`${path}: Is a directory`);
  if (!own(vol.acls, dir)) return fail(`${path}: No such file or directory`);
  const exists = Object.hasOwn(vol.files, rel);
  const { rights, who } = callerRights(w, live.value, fs, vol, dir, tokenFor(live.value, principal));
  if (!rights.includes('l') || !rights.includes(exists ? 'w' : 'i')) return fail(`${path}: Permission denied`);
  const prev = own(vol.files, rel);
  vol.files[rel] = { data, owner: prev?.owner ?? who, dv: (prev?.dv ?? 0) + 1 };
  advance(w, SECONDS.check);
  return { ok: true, value: { volume: vol.name, volid: vol.volid, server: fs.guest, bytes: Buffer.byteLength(data) } };
}

/** Read a file through the client: FetchData from the fileserver (no client-side cache). */
export function afsRead(w: World, guest: string, path: string, principal: string | null): Outcome<string> {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const loc = locate(w, live.value, path);
  if (!loc.ok) return loc;
  const { fs, vol, rel } = loc.value;
  const { dir } = split(rel);
  if (!own(vol.acls, dir)) return fail(`${path}: No such file or directory`);
  const { rights } = callerRights(w, live.value, fs, vol, dir, tokenFor(live.value, principal));
  if (!rights.includes('l') || !rights.includes('r')) return fail(`${path}: Permission denied`);
  const f = own(vol.files, rel);
  if (!f) return fail(`${path}: No such file or directory`);
  return { ok: true, value: f.data };
}

/** ls a directory through the client. */
export function afsList(w: World, guest: string, path: string, principal: string | null): Outcome<string[]> {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const loc = locate(w, live.value, path);
  if (!loc.ok) return loc;
  const { fs, vol, rel } = loc.value;
  const dir = rel === '/' ? '/' : rel.replace(/\/$/, '');
  if (!own(vol.acls, dir)) return fail(`${path}: Not a directory`);
  const { rights } = callerRights(w, live.value, fs, vol, dir, tokenFor(live.value, principal));
  if (!rights.includes('l')) return fail(`ls: ${path}: Permission denied`);
  const prefix = dir === '/' ? '/' : `${dir}/`;
  return { ok: true, value: Object.keys(vol.files).filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length)).sort() };
}

/** Where a path lives (VLDB + fileserver), without touching ACLs: what afs-resolves checks. */
export function afsResolve(w: World, guest: string, path: string): Outcome<{ volume: string; volid: number; server: string; partition: string }> {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const loc = locate(w, live.value, path);
  if (!loc.ok) return loc;
  return { ok: true, value: { volume: loc.value.vol.name, volid: loc.value.vol.volid, server: loc.value.fs.guest, partition: loc.value.vol.partition } };
}
