// Kerberos in the sim: a master KDC holding the realm's database, replicas holding kprop'd copies,
// principals keyed from the secret store, the afs/<cell> service key exported to AFS servers.
// The world keeps no password-derived data (the state file is not private enough for an offline
// guess): a password's key lives in the secret store, as a real KDC keeps it in its database.
// Random keys are kept in the world as fingerprints of secret-store material.
import { createHash, pbkdf2Sync } from 'node:crypto';
import type { Catalog } from '../../catalog/types.js';
import type { Attrs, KdcAttrs, PrincipalAttrs, ServiceKeyAttrs } from '../../plan/resources.js';
import { masterPassword, principalPassword, type SecretStore } from '../../state/secrets.js';
import {
  advance, guestIp, installKey, isUp, own, reachable, requireUp, SECONDS, spawn, syslog, unixTime,
  type SimKdc, type SimPrincipal, type World,
} from './world.js';
import { addr } from '../../plan/addrs.js';

export interface KrbEnv {
  catalog: Catalog;
  secrets: SecretStore;
  realm: string;
}

/** kula -> kula@REALM; names already qualified stay as they are. */
export function qualify(principal: string, realm: string): string {
  return principal.includes('@') ? principal : `${principal}@${realm}`;
}

/** MIT's default salt: the realm followed by the name components. */
function salt(full: string): string {
  const [name, realm] = full.split('@') as [string, string];
  return realm + name.split('/').join('');
}

/** RFC 3962 string-to-key's PBKDF2 step (4096 rounds), kept only as a fingerprint. */
export function keyCheck(password: string, full: string): string {
  const key = pbkdf2Sync(password, salt(full), 4096, 32, 'sha1');
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** The name the secret store keeps a principal's password under: bare in the cell's realm (kula), qualified in another (bob@ATHENA.NET). */
export function passwordName(full: string, cellRealm: string): string {
  const at = full.lastIndexOf('@');
  return full.slice(at + 1) === cellRealm ? full.slice(0, at) : full;
}

/** Where the secret store keeps the key a password makes for a principal's key version. */
function passwordKeyName(full: string, kvno: number): string {
  return `kdb:${full}#${kvno}`;
}

/** addprinc/cpw with a password: the derived key goes to the secret store; the world's entry says only that it is there. */
function setPasswordKey(secrets: SecretStore, full: string, kvno: number, password: string): null {
  secrets.put(passwordKeyName(full, kvno), keyCheck(password, full));
  return null;
}

/** Does this password give the principal's current key? (An entry written before keys left the world carries its fingerprint.) */
function passwordMatches(secrets: SecretStore, full: string, entry: SimPrincipal, password: string): boolean {
  const stored = entry.key_check ?? secrets.peek(passwordKeyName(full, entry.kvno));
  return stored !== undefined && keyCheck(password, full) === stored;
}

/** addprinc -randkey: the key is random once, then kept in the secret store so replays are identical. */
export function randKeyCheck(w: World, secrets: SecretStore, full: string): string {
  w.generation += 1;
  const material = secrets.get(`randkey:${full}#${w.generation}`);
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}

export function isHeimdal(catalog: Catalog, software: string): boolean {
  return (catalog.software.get(software)?.product ?? (software.startsWith('heimdal') ? 'heimdal' : 'mit-krb5')) === 'heimdal';
}

export function daemon(catalog: Catalog, k: SimKdc): string {
  return isHeimdal(catalog, k.software) ? `kdc[${k.pid}]` : `krb5kdc[${k.pid}](info)`;
}

export function kdcsOf(w: World, realm: string): SimKdc[] {
  const all = Object.values(w.kdcs).filter((k) => k.realm === realm);
  // krb5.conf lists the KDCs in the cell file's order: master first.
  const order = all.find((k) => k.role === 'master')?.kdcs ?? [];
  const rank = (g: string) => (order.includes(g) ? order.indexOf(g) : order.length);
  return all.sort((a, b) => rank(a.guest) - rank(b.guest) || (a.guest < b.guest ? -1 : 1));
}

export function kdcUp(w: World, k: SimKdc): boolean {
  return k.running && isUp(w.domains[k.guest]);
}

// Replicas known to hold an exact copy of their master's database (same entries, same order), so
// that kprop after one change only copies that entry, not the whole database. Derived, never saved:
// after a load, or after a replica missed a change, the next kprop copies everything.
const mirrors = new WeakMap<SimKdc, SimKdc>();

/** kprop after `full` changed on the master: replicas that can be reached get the master's database; the others keep a stale copy. */
export function propagate(w: World, master: SimKdc, full: string): void {
  for (const k of Object.values(w.kdcs)) {
    if (k.role !== 'replica' || k.master !== master.guest) continue;
    if (!reachable(w, master.guest, k.guest)) {
      mirrors.delete(k);
      continue;
    }
    if (mirrors.get(k) === master) {
      const entry = own(master.db, full);
      if (entry) k.db[full] = structuredClone(entry);
      else delete k.db[full];
    } else {
      k.db = structuredClone(master.db);
    }
    mirrors.set(k, master);
  }
}

export function masterKdc(w: World, guest: string, what: string): SimKdc {
  const k = own(w.kdcs, guest);
  if (!k) throw new Error(`${what}: there is no KDC on ${guest} (kdc.${guest} has not been created)`);
  if (k.role !== 'master') throw new Error(`${what}: the KDC on ${guest} is a replica; changes go to the master ${k.master}`);
  requireUp(w, guest, what);
  return k;
}

export function createKdc(w: World, env: KrbEnv, a: KdcAttrs): Attrs {
  const what = addr.kdc(a.guest);
  const d = requireUp(w, a.guest, what);
  if (own(w.kdcs, a.guest)) throw new Error(`${what}: a KDC already runs on ${a.guest}`);
  let db: SimKdc['db'];
  if (a.role === 'master') {
    // kdb5_util create -s: the master key (K/M) from the master password, and a random krbtgt key.
    db = { [`K/M@${a.realm}`]: { kvno: 1, key_check: setPasswordKey(env.secrets, `K/M@${a.realm}`, 1, masterPassword(env.secrets)), randkey: false } };
    db[`krbtgt/${a.realm}@${a.realm}`] = { kvno: 1, key_check: randKeyCheck(w, env.secrets, `krbtgt/${a.realm}@${a.realm}`), randkey: true };
  } else {
    const m = own(w.kdcs, a.master);
    if (!m || !kdcUp(w, m) || !reachable(w, a.master, a.guest)) {
      throw new Error(`${what}: kprop from the master ${a.master} failed: ${m ? 'cannot contact it' : 'no master KDC yet'} (a replica starts from the master's database)`);
    }
    db = structuredClone(m.db); // with the master's stash (K/M), as kprop and a copied stash file give it
  }
  const k: SimKdc = {
    guest: a.guest, realm: a.realm, role: a.role, master: a.master, software: a.software, kdcs: [...a.kdcs],
    pid: spawn(d), running: true, db,
  };
  w.kdcs[a.guest] = k;
  syslog(w, d, daemon(env.catalog, k).replace('(info)', ''), isHeimdal(env.catalog, k.software) ? 'KDC started' : 'commencing operation');
  advance(w, SECONDS.service);
  return { pid: k.pid, role: k.role, realm: k.realm, principals: Object.keys(db).length };
}

/** rc starting the KDC again after a reboot. */
export function restartKdc(w: World, env: KrbEnv, guest: string): void {
  const k = own(w.kdcs, guest);
  const d = w.domains[guest];
  if (!k || !d) return;
  k.pid = spawn(d);
  syslog(w, d, daemon(env.catalog, k).replace('(info)', ''), isHeimdal(env.catalog, k.software) ? 'KDC started' : 'commencing operation');
}

export function updateKdc(w: World, a: KdcAttrs): Attrs {
  const k = own(w.kdcs, a.guest);
  if (!k) throw new Error(`${addr.kdc(a.guest)}: there is no KDC on ${a.guest} to update`);
  if (k.role !== a.role) throw new Error(`${addr.kdc(a.guest)}: master/replica role change re-creates the KDC database; the plan must replace it`);
  k.kdcs = [...a.kdcs]; // krb5.conf's kdc lines
  advance(w, SECONDS.admin);
  return { pid: k.pid, role: k.role, realm: k.realm, principals: Object.keys(k.db).length };
}

export function deleteKdc(w: World, guest: string): void {
  delete w.kdcs[guest];
  advance(w, SECONDS.admin);
}

export function addPrincipal(w: World, env: KrbEnv, a: PrincipalAttrs): Attrs {
  const full = qualify(a.principal, a.realm);
  const k = masterKdc(w, a.kdc, `kadmin.local addprinc ${full}`);
  if (Object.hasOwn(k.db, full)) {
    throw new Error(`kadmin.local: add_principal: Principal or policy already exists while creating "${full}".`);
  }
  k.db[full] = { kvno: 1, key_check: setPasswordKey(env.secrets, full, 1, principalPassword(env.secrets, passwordName(full, env.realm))), randkey: false };
  propagate(w, k, full);
  advance(w, SECONDS.admin);
  return { principal: full, kvno: 1 };
}

/** Removing a principal needs its KDC; if the KDC is gone, so is the principal. */
export function deletePrincipal(w: World, kdcGuest: string, full: string): void {
  const k = own(w.kdcs, kdcGuest);
  if (!k) return;
  masterKdc(w, kdcGuest, `kadmin.local delprinc ${full}`);
  delete k.db[full];
  propagate(w, k, full);
  advance(w, SECONDS.admin);
}

/** addprinc -randkey afs/<cell>, then ktadd into a keytab that every AFS server of the cell installs. */
export function createServiceKey(w: World, env: KrbEnv, a: ServiceKeyAttrs): Attrs {
  const full = qualify(a.principal, a.realm);
  const k = masterKdc(w, a.kdc, `kadmin.local addprinc -randkey ${full}`);
  if (Object.hasOwn(k.db, full)) throw new Error(`kadmin.local: add_principal: Principal or policy already exists while creating "${full}".`);
  // MIT's ktadd re-randomises the key, so the keytab holds kvno 2; Heimdal's ext_keytab keeps kvno 1.
  const kvno = isHeimdal(env.catalog, k.software) ? 1 : 2;
  const key = { kvno, key_check: randKeyCheck(w, env.secrets, full) };
  k.db[full] = { ...key, randkey: true };
  w.keytabs[full] = { principal: full, ...key, enctypes: [...a.enctypes], cell: a.cell };
  for (const s of [...Object.values(w.afsdbs), ...Object.values(w.fileservers)]) {
    if (s.cell === a.cell) installKey(s.keyfile, key);
  }
  propagate(w, k, full);
  advance(w, SECONDS.admin);
  return { principal: full, kvno, enctypes: [...a.enctypes] };
}

export function deleteServiceKey(w: World, a: ServiceKeyAttrs): void {
  const full = qualify(a.principal, a.realm);
  deletePrincipal(w, a.kdc, full);
  delete w.keytabs[full];
}

export type KinitResult =
  | { ok: true; kdc: string; full: string; authtime: number }
  | { ok: false; error: string; kdc: string | null };

/** kinit PRINCIPAL on the client guest, with `given` typed at its prompt, else the password the secret store (or env) gives. */
export function kinit(w: World, env: KrbEnv, client: string, principal: string, given?: string): KinitResult {
  const full = qualify(principal, env.realm);
  const realm = full.split('@')[1]!;
  const kdcs = kdcsOf(w, realm);
  const heimdal = kdcs.length > 0 && isHeimdal(env.catalog, kdcs[0]!.software);
  const fail = (mit: string, heim: string, kdc: string | null): KinitResult => ({
    ok: false, kdc, error: heimdal ? `kinit: ${heim}` : `kinit: ${mit} while getting initial credentials`,
  });
  if (kdcs.length === 0) return fail('Cannot find KDC for requested realm', `krb5_get_init_creds: unable to find realm of host`, null);
  const k = kdcs.find((x) => kdcUp(w, x) && reachable(w, client, x.guest));
  if (!k) return fail(`Cannot contact any KDC for realm '${realm}'`, `krb5_get_init_creds: unable to reach any KDC in realm ${realm}`, null);
  const d = w.domains[k.guest]!;
  const from = guestIp(w, client) ?? '127.0.0.1';
  const tgs = `krbtgt/${realm}@${realm}`;
  const log = (mit: string, heim: string) => syslog(w, d, daemon(env.catalog, k), heimdal ? heim : mit);
  const entry = own(k.db, full);
  if (!entry) {
    log(`AS_REQ (4 etypes {18 17 16 23}) ${from}: CLIENT_NOT_FOUND: ${full} for ${tgs}, Client not found in Kerberos database`,
      `AS-REQ ${full} from IPv4:${from} for ${tgs}; UNKNOWN -- ${full}: no such entry found in hdb`);
    return fail(`Client '${full}' not found in Kerberos database`, `krb5_get_init_creds: Client (${full}) unknown`, k.guest);
  }
  const password = given ?? principalPassword(env.secrets, passwordName(full, env.realm));
  if (entry.randkey || !passwordMatches(env.secrets, full, entry, password)) {
    log(`AS_REQ (4 etypes {18 17 16 23}) ${from}: PREAUTH_FAILED: ${full} for ${tgs}, Preauthentication failed`,
      `AS-REQ ${full} from IPv4:${from} for ${tgs}; Failed to decrypt PA-DATA -- ${full}`);
    return fail('Password incorrect', 'Password incorrect', k.guest);
  }
  const authtime = unixTime(w.clock);
  log(`AS_REQ (4 etypes {18 17 16 23}) ${from}: ISSUE: authtime ${authtime}, etypes {rep=18 tkt=18 ses=18}, ${full} for ${tgs}`,
    `AS-REQ ${full} from IPv4:${from} for ${tgs}; authtime ${authtime}`);
  return { ok: true, kdc: k.guest, full, authtime };
}

/** A service ticket for `service` (aklog's afs/<cell>): the KDC's current kvno and key. */
export function serviceTicket(w: World, env: KrbEnv, kdcGuest: string, client: string, service: string):
  { ok: true; kvno: number; key_check: string } | { ok: false; error: string } {
  const k = w.kdcs[kdcGuest]!;
  const entry = own(k.db, service);
  const from = guestIp(w, client) ?? '127.0.0.1';
  const d = w.domains[k.guest]!;
  if (!entry) {
    syslog(w, d, daemon(env.catalog, k), `TGS_REQ (4 etypes {18 17 16 23}) ${from}: UNKNOWN_SERVER: ${service}, Server not found in Kerberos database`);
    return { ok: false, error: `Server not found in Kerberos database (${service})` };
  }
  syslog(w, d, daemon(env.catalog, k), `TGS_REQ (4 etypes {18 17 16 23}) ${from}: ISSUE: authtime ${unixTime(w.clock)}, etypes {rep=18 tkt=18 ses=18}, for ${service}`);
  // A service keyed by a password (not afs/<cell>, which is randkey): its key stays in the secret store.
  return { ok: true, kvno: entry.kvno, key_check: entry.key_check ?? passwordKeyName(service, entry.kvno) };
}
