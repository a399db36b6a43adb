// The realms of the cell: each KDC is one of two implementations of the same service (kdc-mit.ts,
// kdc-heimdal.ts), chosen from the catalog when the KDC is made and recorded with it. Everything
// else here (principals, the afs/<cell> key, cross-realm keys, the krb5.conf every command reads) is
// written once against that interface.
import { randomBytes } from 'node:crypto';
import type { Catalog } from '../../catalog/types.js';
import type { CrossRealmAttrs, KdcAttrs, PrincipalAttrs, ServiceKeyAttrs } from '../../plan/resources.js';
import { kdcServing } from '../../catalog/keys.js';
import { masterOf, realmOfKdc, realmsOf, type KdcBackend, type KdcProduct } from './kdc-backend.js';
import { heimdalKdc } from './kdc-heimdal.js';
import { mitKdc } from './kdc-mit.js';
import type { Placement, Services } from './placement.js';

/** The cell's krb5.conf: every realm with its registered KDCs (master first), or only some KDCs. */
export function krb5ConfText(x: Services, only?: string[]): string {
  const realms = realmsOf(x);
  if (!realms.includes(x.realm)) realms.unshift(x.realm);
  const block = (realm: string): string[] => {
    const kdcs = Object.entries(x.reg.kdcs)
      .filter(([, k]) => k.realm === realm)
      .sort(([, a], [, b]) => (a.role === b.role ? 0 : a.role === 'master' ? -1 : 1))
      .map(([g]) => g)
      .filter((g) => !only || only.includes(g));
    const master = Object.entries(x.reg.kdcs).find(([, k]) => k.role === 'master' && k.realm === realm)?.[0];
    const masterIp = master ? x.addressOf(master) : undefined;
    if (only && !kdcs.length) return [];
    return [
      ` ${realm} = {`,
      ...(kdcs.length ? kdcs.map((g) => `  kdc = ${x.addressOf(g) ?? '127.0.0.1'}`) : ['  kdc = 127.0.0.1']),
      ...(masterIp ? [`  admin_server = ${masterIp}`] : []),
      ' }',
    ];
  };
  // Trusted realms whose names are not a parent and child of each other: the direct path (. = no realm between).
  const trusts = x.reg.trusts ?? [];
  const capaths = [...new Set(trusts.map(([c]) => c))].flatMap((c) => [` ${c} = {`, ...trusts.filter(([cc]) => cc === c).map(([, s]) => `  ${s} = .`), ' }']);
  return [
    '[libdefaults]',
    ` default_realm = ${x.realm}`,
    ' dns_lookup_kdc = false',
    ' dns_lookup_realm = false',
    ' dns_canonicalize_hostname = false',
    ' rdns = false',
    ' udp_preference_limit = 1',
    '[realms]',
    ...realms.flatMap(block),
    ...(capaths.length && !only ? ['[capaths]', ...capaths] : []),
    '',
  ].join('\n');
}

/** Writes the cell's krb5.conf on every guest that is up (a realm or trust was added or removed). */
async function writeKrb5ConfEverywhere(x: Services): Promise<void> {
  for (const g of x.guests()) await writeKrb5Conf(x, x.place(g.name));
}

const BACKENDS: Record<KdcProduct, KdcBackend> = { 'mit-krb5': mitKdc(krb5ConfText), heimdal: heimdalKdc() };

/** The implementation that runs a guest's KDC (recorded when it was made; MIT for a record from before). */
export function backendOf(x: Services, guest: string): KdcBackend {
  return BACKENDS[x.reg.kdcs[guest]?.product ?? 'mit-krb5'];
}

/** The implementation that runs a realm (its master's). */
export function realmBackend(x: Services, realm = x.realm): KdcBackend {
  return backendOf(x, masterOf(x, realm));
}

/** Writes the cell's krb5.conf where the placement's commands read it. */
export async function writeKrb5Conf(x: Services, p: Placement): Promise<void> {
  await p.writeFiles([{ path: p.paths.krb5Conf, data: krb5ConfText(x) }]);
}

export async function kdcPid(x: Services, p: Placement): Promise<number | undefined> {
  return x.reg.kdcs[p.guest] ? backendOf(x, p.guest).pid(p) : undefined;
}

/** What a guest's KDC daemon is, for messages: "krb5kdc" or "Heimdal kdc". */
export function kdcName(x: Services, guest: string): string {
  return backendOf(x, guest).product === 'heimdal' ? 'Heimdal kdc' : 'krb5kdc';
}

/**
 * A real AS exchange against this KDC only, from its own guest: an unknown client must be refused
 * by the KDC itself ("client not found"). What proves a KDC answers, not just that its pid lives.
 */
export async function kdcAnswers(x: Services, p: Placement, timeoutMs = 15_000): Promise<{ ok: boolean; out: string }> {
  const conf = `${p.paths.tmp}/krb5-${p.guest}.conf`;
  await p.writeFiles([{ path: conf, data: krb5ConfText(x, [p.guest]) }]);
  const probe = `cellctl-probe-${randomBytes(3).toString('hex')}`;
  try {
    const res = await p.run('kinit', [`${probe}@${realmOfKdc(x, p.guest)}`], { env: { KRB5_CONFIG: conf, KRB5CCNAME: 'MEMORY:probe' }, input: 'x\n', timeoutMs });
    return { ok: /not found in Kerberos database/.test(res.out), out: res.out };
  } finally {
    await p.remove(conf);
  }
}

/** `kdcProducts`: the KDC products the driver runs (capabilities); the catalog says which serves a.software. */
export function createKdc(x: Services, catalog: Catalog, a: KdcAttrs, masterPw: string, kdcProducts: readonly string[]): Promise<Record<string, string | number>> {
  return x.krbLock.run(async () => {
    const p = x.place(a.guest);
    const prior = x.reg.kdcs[a.guest];
    // A KDC keeps its implementation while it exists (a changed software replaces it: delete, then create);
    // one recorded before there were two is MIT's, its database MIT's.
    const serving = kdcServing(catalog, a.software, prior ? [prior.product ?? 'mit-krb5'] : kdcProducts);
    const product = (serving?.product ?? 'mit-krb5') as KdcProduct;
    const standIn = serving && serving.id !== a.software ? `${serving.id} stands in for ${a.software}` : undefined;
    x.reg.kdcs[a.guest] = { role: a.role, realm: a.realm, master: a.master, product, ...(standIn ? { standIn } : {}) };
    if (a.realm === x.realm) x.reg.realm = a.realm;
    x.save();
    await writeKrb5Conf(x, p);
    const started = await BACKENDS[product].start(x, p, a, masterPw);
    await writeKrb5ConfEverywhere(x); // a new realm or KDC
    // What runs first: apply's progress line shows the first few outputs.
    return {
      runs: started.runs, ...(standIn ? { stand_in: standIn } : {}), ip: p.ip(), pid: (await BACKENDS[product].pid(p)) ?? 0, role: a.role, realm: a.realm,
      database: started.database, log: started.log, ...(started.propagation ? { propagation: started.propagation } : {}),
    };
  });
}

export function deleteKdc(x: Services, guest: string): Promise<void> {
  return x.krbLock.run(async () => {
    if (x.has(guest) && x.reg.kdcs[guest]) await backendOf(x, guest).remove(x.place(guest));
    delete x.reg.kdcs[guest];
    x.save();
    await writeKrb5ConfEverywhere(x);
  });
}

/** Whether the realm still has a master KDC (its principals went with it otherwise). */
function realmUp(x: Services, realm: string): boolean {
  return Object.values(x.reg.kdcs).some((k) => k.realm === realm && k.role === 'master');
}

/** The name the registry and the secret store know a principal by: bare in the cell's realm, qualified in another. */
export function principalName(x: Services, principal: string, realm: string): string {
  return realm === x.realm ? principal : `${principal}@${realm}`;
}

export function createPrincipal(x: Services, a: PrincipalAttrs, pw: string): Promise<Record<string, string | number>> {
  return x.krbLock.run(async () => {
    const b = realmBackend(x, a.realm);
    await b.setPassword(x, a.realm, a.principal, pw);
    const name = principalName(x, a.principal, a.realm);
    if (!x.reg.principals.includes(name)) x.reg.principals.push(name);
    x.save();
    return { principal: `${a.principal}@${a.realm}`, kvno: (await b.get(x, a.realm, a.principal))?.kvno ?? 0 };
  });
}

export function deletePrincipal(x: Services, principal: string, realm = x.realm): Promise<void> {
  return x.krbLock.run(async () => {
    if (!realmUp(x, realm)) return; // realm already gone
    await realmBackend(x, realm).delete(x, realm, principal);
    const name = principalName(x, principal, realm);
    x.reg.principals = x.reg.principals.filter((p) => p !== name);
    x.save();
  });
}

/** afs/<cell>@REALM with a random key, exported to a 0600 keytab on the master that asetkey reads on every AFS server. */
export function createServiceKey(x: Services, a: ServiceKeyAttrs): Promise<Record<string, string | number | string[]>> {
  return x.krbLock.run(async () => {
    const master = masterOf(x, a.realm);
    const m = x.place(master);
    const kt = m.paths.keytab;
    const princ = a.principal.replace(/@.*$/, '');
    const b = realmBackend(x, a.realm);
    const exists = !!(await b.get(x, a.realm, princ));
    if (!exists) await b.addRandom(x, a.realm, princ);
    if (!exists || !(await m.readFile(kt))) await b.extract(x, a.realm, princ, kt, a.enctypes);
    const kvno = (await b.get(x, a.realm, princ))?.kvno ?? 0;
    x.reg.keytab = { file: kt, kvno, principal: `${princ}@${a.realm}`, guest: master };
    x.save();
    return { principal: `${princ}@${a.realm}`, keytab: kt, kvno, enctypes: a.enctypes };
  });
}

export function deleteServiceKey(x: Services, principal: string): Promise<void> {
  return x.krbLock.run(async () => {
    const realm = principal.includes('@') ? principal.slice(principal.lastIndexOf('@') + 1) : x.realm;
    if (realmUp(x, realm)) await realmBackend(x, realm).delete(x, realm, principal.replace(/@.*$/, ''));
    const kt = x.reg.keytab;
    const on = kt?.guest ?? Object.keys(x.reg.kdcs).find((g) => x.reg.kdcs[g]!.role === 'master');
    if (kt && on && x.has(on)) await x.place(on).remove(kt.file);
    delete x.reg.keytab;
    x.save();
  });
}

/**
 * krbtgt/SERVICE@CLIENT in both realms' KDCs with the same keys: both derive them from one random
 * password (the same salt, the principal's name), made afresh in both so their key versions agree.
 */
export function createCrossRealm(x: Services, a: CrossRealmAttrs, pw: string): Promise<Record<string, string | number | string[]>> {
  return x.krbLock.run(async () => {
    const made: string[] = [];
    for (const realm of [a.client_realm, a.service_realm]) {
      const b = realmBackend(x, realm);
      await b.delete(x, realm, a.principal);
      await b.setPassword(x, realm, a.principal, pw, a.enctypes);
      const keys = await b.get(x, realm, a.principal);
      made.push(`${realm}: ${b.product} kvno ${keys?.kvno ?? '?'} ${keys?.enctypes.join(' ') ?? ''}`.trim());
    }
    const trust: [string, string] = [a.client_realm, a.service_realm];
    x.reg.trusts = [...(x.reg.trusts ?? []).filter(([c, s]) => c !== trust[0] || s !== trust[1]), trust];
    x.save();
    await writeKrb5ConfEverywhere(x);
    return { principal: a.principal, enctypes: a.enctypes, kdcs: made };
  });
}

export function deleteCrossRealm(x: Services, a: CrossRealmAttrs): Promise<void> {
  return x.krbLock.run(async () => {
    for (const realm of [a.client_realm, a.service_realm]) if (realmUp(x, realm)) await realmBackend(x, realm).delete(x, realm, a.principal);
    x.reg.trusts = (x.reg.trusts ?? []).filter(([c, s]) => c !== a.client_realm || s !== a.service_realm);
    x.save();
    await writeKrb5ConfEverywhere(x);
  });
}

/** The keytab's bytes, from the guest that holds it (asetkey on another guest gets a copy). */
export async function keytabBytes(x: Services): Promise<{ data: Buffer; kvno: number; principal: string }> {
  const kt = x.reg.keytab;
  if (!kt) throw new Error('no afs service key yet (create the service-key resource first)');
  const on = kt.guest ?? masterOf(x);
  const data = x.has(on) ? await x.place(on).readFile(kt.file) : undefined;
  if (!data) throw new Error(`the afs service keytab ${kt.file} is not on ${on} (apply the service-key again)`);
  return { data, kvno: kt.kvno, principal: kt.principal };
}

/**
 * kinit in a guest (password on stdin): the realm's real AS exchange, into the credential cache
 * `ccache`; the cell's krb5.conf is written there first. `principal`: bare in the cell's realm, or qualified.
 */
export async function kinit(x: Services, p: Placement, principal: string, pw: string, ccache = `FILE:${p.paths.tmp}/krb5cc_${principal.replace(/[^A-Za-z0-9]/g, '_')}`) {
  await writeKrb5Conf(x, p);
  const env = { KRB5_CONFIG: p.paths.krb5Conf, KRB5CCNAME: ccache };
  const full = principal.includes('@') ? principal : `${principal}@${x.realm}`;
  // klist in the same request: what the cache holds once kinit is done
  const res = await p.run('sh', ['-c', 'kinit "$1" || exit; echo @@klist; klist', 'sh', full], { env, input: `${pw}\n`, timeoutMs: 20_000 });
  const [out = '', klist = ''] = res.out.split('@@klist\n');
  return { ok: res.code === 0, out, klist, env, realm: full.slice(full.lastIndexOf('@') + 1) };
}
