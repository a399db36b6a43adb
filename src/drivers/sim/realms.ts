// Service keytabs and cross-realm trust in the sim. A keytab is a principal with a random key
// (addprinc -randkey, ktadd), installed on a guest; kinit -k proves its key is the KDC's. A trust is
// krbtgt/SERVICE@CLIENT with one key in both realms' KDCs; a ticket for a service of another realm
// goes through it: the client's KDC issues the cross-realm TGT, the service realm's KDC decrypts it.
import { hkdfSync } from 'node:crypto';
import type { Attrs, CrossRealmAttrs, KeytabAttrs } from '../../plan/resources.js';
import {
  daemon, isHeimdal, kdcsOf, kdcUp, masterKdc, propagate, qualify, randKeyCheck, serviceTicket, type KrbEnv,
} from './kerberos.js';
import { advance, guestIp, own, reachable, SECONDS, syslog, unixTime, type SimKdc, type World } from './world.js';

/** What kadmin makes of the asked enctypes: the supported ones; MIT 1.18+ quietly makes its defaults for the rest. */
function madeEnctypes(env: KrbEnv, k: SimKdc, asked: string[], what: string): string[] {
  const e = env.catalog.software.get(k.software)?.kdc_enctypes;
  if (!e) return [...asked];
  const supported = e.supported as string[];
  const ok = asked.filter((x) => supported.includes(x));
  const bad = asked.filter((x) => !supported.includes(x));
  const ignored = bad.filter((x) => (e.ignored as string[] | undefined)?.includes(x));
  if (bad.length > ignored.length) {
    const first = bad.find((x) => !ignored.includes(x))!;
    throw new Error(isHeimdal(env.catalog, k.software) ? `kadmin: ${what}: bad enctype "${first}"` : `kadmin.local: ${what}: Invalid enctype ${first}`);
  }
  return ok.length ? ok : [...(e.default ?? supported)];
}

export function createKeytab(w: World, env: KrbEnv, a: KeytabAttrs): Attrs {
  const full = qualify(a.principal, a.realm);
  const k = masterKdc(w, a.kdc, `kadmin addprinc -randkey ${full}`);
  if (Object.hasOwn(k.db, full)) throw new Error(`kadmin.local: add_principal: Principal or policy already exists while creating "${full}".`);
  k.db[full] = { kvno: 1, key_check: randKeyCheck(w, env.secrets, full), randkey: true };
  return extract(w, env, k, a, full);
}

/** ktadd: a new random key in the asked enctypes (MIT bumps the kvno; Heimdal's ext_keytab keeps it), installed on the guest. */
function extract(w: World, env: KrbEnv, k: SimKdc, a: KeytabAttrs, full: string): Attrs {
  const enctypes = madeEnctypes(env, k, a.enctypes, `ktadd -e ${a.enctypes.join(',')} ${full}`);
  const entry = k.db[full]!;
  const kvno = isHeimdal(env.catalog, k.software) ? entry.kvno : entry.kvno + 1;
  const key = { kvno, key_check: randKeyCheck(w, env.secrets, full) };
  k.db[full] = { ...key, randkey: true };
  w.keytabs[full] = { principal: full, ...key, enctypes, cell: '', guest: a.guest, secret: `randkey:${full}#${w.generation}` };
  propagate(w, k, full);
  advance(w, SECONDS.admin);
  return { principal: full, kvno, enctypes, installed: a.guest ? `${a.guest}:/etc/krb5.keytab` : null };
}

export function updateKeytab(w: World, env: KrbEnv, a: KeytabAttrs): Attrs {
  const full = qualify(a.principal, a.realm);
  const k = masterKdc(w, a.kdc, `kadmin ktadd ${full}`);
  if (!own(k.db, full)) throw new Error(`kadmin: ktadd: Principal does not exist (${full})`);
  return extract(w, env, k, a, full);
}

export function deleteKeytab(w: World, a: KeytabAttrs): void {
  const full = qualify(a.principal, a.realm);
  delete w.keytabs[full];
  const k = own(w.kdcs, a.kdc);
  if (!k) return;
  masterKdc(w, a.kdc, `kadmin delprinc ${full}`);
  delete k.db[full];
  propagate(w, k, full);
  advance(w, SECONDS.admin);
}

/** Key sizes in bytes by enctype (RFC 3961, 3962, 4757, 6803, 8009). */
const KEY_BYTES: Record<string, number> = {
  'des-cbc-crc': 8, 'des-cbc-md4': 8, 'des-cbc-md5': 8, 'des3-cbc-sha1': 24, 'arcfour-hmac': 16,
  'aes128-cts-hmac-sha1-96': 16, 'aes256-cts-hmac-sha1-96': 32, 'aes128-cts-hmac-sha256-128': 16, 'aes256-cts-hmac-sha384-192': 32,
  'camellia128-cts-cmac': 16, 'camellia256-cts-cmac': 32,
};

/**
 * A keytab's keys as the simulated KDC holds them: one per enctype, derived from the random key's
 * material in the secret store. Real keytab bytes, but keys only the simulator knows.
 */
export function keytabKeys(w: World, env: KrbEnv, principal: string): { principal: string; kvno: number; keys: { enctype: string; key: Buffer }[] } | undefined {
  const kt = own(w.keytabs, qualify(principal, env.realm));
  const material = kt?.secret ? env.secrets.peek(kt.secret) : undefined;
  if (!kt || material === undefined) return undefined;
  const keys = kt.enctypes.map((enctype) => ({
    enctype, key: Buffer.from(hkdfSync('sha256', material, kt.principal, enctype, KEY_BYTES[enctype] ?? 32)),
  }));
  return { principal: kt.principal, kvno: kt.kvno, keys };
}

/** kinit -k -t /etc/krb5.keytab PRINCIPAL on a guest: the keytab's key must be the KDC's current one. */
export function kinitKeytab(w: World, env: KrbEnv, guest: string, principal: string): { ok: true; kdc: string; full: string; kvno: number } | { ok: false; error: string } {
  const full = qualify(principal, env.realm);
  const kt = own(w.keytabs, full);
  if (!kt || kt.guest !== guest) return { ok: false, error: `kinit: Keytab contains no suitable keys for ${full} while getting initial credentials` };
  const realm = full.slice(full.lastIndexOf('@') + 1);
  const k = kdcsOf(w, realm).find((x) => kdcUp(w, x) && reachable(w, guest, x.guest));
  if (!k) return { ok: false, error: `kinit: Cannot contact any KDC for realm '${realm}' while getting initial credentials` };
  const entry = own(k.db, full);
  const from = guestIp(w, guest) ?? '127.0.0.1';
  if (!entry || entry.kvno !== kt.kvno || entry.key_check !== kt.key_check) {
    syslog(w, w.domains[k.guest]!, daemon(env.catalog, k), `AS_REQ ${from}: PREAUTH_FAILED: ${full} for krbtgt/${realm}@${realm}, Preauthentication failed`);
    return { ok: false, error: entry ? `kinit: Password incorrect while getting initial credentials (keytab kvno ${kt.kvno}, KDC kvno ${entry.kvno})` : `kinit: Client '${full}' not found in Kerberos database while getting initial credentials` };
  }
  syslog(w, w.domains[k.guest]!, daemon(env.catalog, k), `AS_REQ ${from}: ISSUE: authtime ${unixTime(w.clock)}, ${full} for krbtgt/${realm}@${realm}`);
  advance(w, SECONDS.check);
  return { ok: true, kdc: k.guest, full, kvno: kt.kvno };
}

/** krbtgt/SERVICE@CLIENT: one random key, put into both realms' master KDCs (as an administrator does with one password in both kadmins). */
export function createCrossRealm(w: World, env: KrbEnv, a: CrossRealmAttrs): Attrs {
  const kdcs = a.kdcs.map((g) => masterKdc(w, g, `kadmin addprinc ${a.principal}`));
  for (const k of kdcs) {
    if (Object.hasOwn(k.db, a.principal)) throw new Error(`kadmin: add_principal: Principal or policy already exists while creating "${a.principal}" (on ${k.guest})`);
    madeEnctypes(env, k, a.enctypes, `addprinc -e ${a.enctypes.join(',')} ${a.principal}`);
  }
  const key = { kvno: 1, key_check: randKeyCheck(w, env.secrets, a.principal) };
  for (const k of kdcs) {
    k.db[a.principal] = { ...key, randkey: true };
    propagate(w, k, a.principal);
  }
  advance(w, SECONDS.admin);
  return { principal: a.principal, kvno: 1, enctypes: a.enctypes, kdcs: a.kdcs };
}

export function deleteCrossRealm(w: World, a: CrossRealmAttrs): void {
  for (const g of a.kdcs) {
    const k = own(w.kdcs, g);
    if (!k) continue;
    masterKdc(w, g, `kadmin delprinc ${a.principal}`);
    delete k.db[a.principal];
    propagate(w, k, a.principal);
  }
  advance(w, SECONDS.admin);
}

/**
 * A ticket for `service` (afs/<cell>@REALM) for `client` (a principal of any realm), got from `kdcGuest`
 * (where the client has its TGT). Another realm's service goes through krbtgt/SERVICE@CLIENT.
 */
export function ticketFor(w: World, env: KrbEnv, kdcGuest: string, guest: string, client: string, service: string):
  { ok: true; kvno: number; key_check: string } | { ok: false; error: string } {
  const clientRealm = client.slice(client.lastIndexOf('@') + 1);
  const serviceRealm = service.slice(service.lastIndexOf('@') + 1);
  if (clientRealm === serviceRealm) return serviceTicket(w, env, kdcGuest, guest, service);
  const tgs = `krbtgt/${serviceRealm}@${clientRealm}`;
  const home = w.kdcs[kdcGuest]!;
  const from = guestIp(w, guest) ?? '127.0.0.1';
  const cross = own(home.db, tgs);
  if (!cross) {
    syslog(w, w.domains[home.guest]!, daemon(env.catalog, home), `TGS_REQ ${from}: UNKNOWN_SERVER: authtime 0, ${client} for ${tgs}, Server not found in Kerberos database`);
    return { ok: false, error: `Server ${tgs} not found in Kerberos database (no trust from ${clientRealm} to ${serviceRealm})` };
  }
  syslog(w, w.domains[home.guest]!, daemon(env.catalog, home), `TGS_REQ ${from}: ISSUE: authtime ${unixTime(w.clock)}, ${client} for ${tgs}`);
  const there = kdcsOf(w, serviceRealm).find((x) => kdcUp(w, x) && reachable(w, guest, x.guest));
  if (!there) return { ok: false, error: `Cannot contact any KDC for realm '${serviceRealm}'` };
  const theirs = own(there.db, tgs);
  if (!theirs || theirs.kvno !== cross.kvno || theirs.key_check !== cross.key_check) {
    syslog(w, w.domains[there.guest]!, daemon(env.catalog, there), `TGS_REQ ${from}: PROCESS_TGS: authtime 0, ${client} for ${service}, ${theirs ? 'Decrypt integrity check failed' : `Server ${tgs} not found in Kerberos database`}`);
    return { ok: false, error: theirs ? `Decrypt integrity check failed (${tgs} has another key in ${serviceRealm})` : `${serviceRealm} has no ${tgs}: the trust is one-way` };
  }
  const t = serviceTicket(w, env, there.guest, guest, service);
  return t;
}
