// The AFS cache manager on a client guest: started and stopped, and its tokens (aklog: a ticket for
// afs/<cell>, through another realm's trust for a foreign user, and the user's AFS id from the
// ptserver). File access is in files.ts.
import { ptsName } from '../../config/afs.js';
import type { AfsClientAttrs, Attrs } from '../../plan/resources.js';
import { ANONYMOUS_ID, dbUp } from './afs.js';
import { fail, liveClient, locate, type Outcome } from './files.js';
import { kinit, type KinitResult, type KrbEnv } from './kerberos.js';
import { moduleLoaded } from './modules.js';
import { addr } from '../../plan/addrs.js';
import { ticketFor } from './realms.js';
import {
  advance, guestIp, isUp, klog, own, reachable, requireUp, SECONDS, shortTime, spawn, syslog,
  type SimClient, type SimToken, type World,
} from './world.js';

export type { Outcome } from './files.js';

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

/** kinit + aklog on the client: a token for afs@<cell> bound to the fileservers' key. */
export function aklog(w: World, env: KrbEnv, guest: string, principal: string): Outcome<SimToken> {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const k = kinit(w, env, guest, principal);
  if (!k.ok) return fail(k.error);
  return aklogWith(w, env, guest, k);
}

/**
 * aklog with a TGT got already (kinit, or a shell's ticket cache): a ticket for afs/<cell>@<cell realm>
 * (through krbtgt/<cell realm>@<its realm> for a user of another realm), then its AFS id from the ptserver.
 */
export function aklogWith(w: World, env: KrbEnv, guest: string, k: Extract<KinitResult, { ok: true }>): Outcome<SimToken> {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const c = live.value;
  const service = `afs/${c.cell}@${env.realm}`;
  const t = ticketFor(w, env, k.kdc, guest, k.full, service);
  if (!t.ok) return fail(`aklog: Couldn't get ${c.cell} AFS tickets: ${t.error}`);
  // aklog asks the ptserver for the user's AFS id (pts form: kula/admin -> kula.admin, bob@OTHER -> bob@other).
  const dbs = c.dbservers.filter((g) => dbUp(w, g) && reachable(w, guest, g));
  if (dbs.length === 0 || !w.afs) return fail(`aklog: unable to get the AFS id of ${k.full}: no ptserver of ${c.cell} answers`);
  const at = k.full.lastIndexOf('@');
  const user = ptsName(k.full.slice(0, at), k.full.slice(at + 1), env.realm);
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
