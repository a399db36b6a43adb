// The realm: Debian's MIT krb5kdc in the KDC guest's network namespace, configured only through
// KRB5_CONFIG / KRB5_KDC_PROFILE files in the guest's directory (no fixed paths, no root-ns ports).
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Catalog } from '../../catalog/types.js';
import type { KdcAttrs, PrincipalAttrs, ServiceKeyAttrs } from '../../plan/resources.js';
import { alive, type Runner, until } from './exec.js';
import type { Layout } from './layout.js';
import { daemonMarks, killPids } from './namespaces.js';

export interface KrbEnv { KRB5_CONFIG: string; KRB5_KDC_PROFILE?: string; KRB5CCNAME?: string }

/** Writes the cell-wide krb5.conf: every registered KDC (master first), nothing looked up in DNS. */
export function writeKrb5Conf(L: Layout, only?: string[]): string {
  const kdcs = Object.entries(L.reg.kdcs)
    .sort(([, a], [, b]) => (a.role === b.role ? 0 : a.role === 'master' ? -1 : 1))
    .map(([g]) => g)
    .filter((g) => !only || only.includes(g));
  const master = Object.entries(L.reg.kdcs).find(([, k]) => k.role === 'master')?.[0];
  const lines = [
    '[libdefaults]',
    ` default_realm = ${L.realm}`,
    ' dns_lookup_kdc = false',
    ' dns_lookup_realm = false',
    ' dns_canonicalize_hostname = false',
    ' rdns = false',
    ' udp_preference_limit = 1',
    '[realms]',
    ` ${L.realm} = {`,
    ...kdcs.map((g) => `  kdc = ${L.reg.guests[g]?.ip ?? '127.0.0.1'}`),
    ...(master && L.reg.guests[master] ? [`  admin_server = ${L.reg.guests[master]!.ip}`] : []),
    ' }',
    '',
  ];
  const file = only ? join(dirname(L.krb5Conf), `krb5-${only.join('-')}.conf`) : L.krb5Conf;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, lines.join('\n'));
  return file;
}

function kdcProfile(L: Layout, guest: string): string {
  const d = L.kdcDir(guest);
  const file = join(d, 'kdc.conf');
  writeFileSync(file, [
    '[kdcdefaults]',
    ' kdc_ports = 88',
    ' kdc_tcp_ports = 88',
    '[realms]',
    ` ${L.realm} = {`,
    `  database_name = ${d}/principal`,
    `  key_stash_file = ${d}/stash`,
    `  acl_file = ${d}/kadm5.acl`,
    `  admin_keytab = ${d}/kadm5.keytab`,
    '  max_life = 25h',
    ' }',
    '[logging]',
    ` kdc = FILE:${d}/kdc.log`,
    ` admin_server = FILE:${d}/kadmin.log`,
    ` default = FILE:${d}/krb5lib.log`,
    '',
  ].join('\n'));
  if (!existsSync(join(d, 'kadm5.acl'))) writeFileSync(join(d, 'kadm5.acl'), `*/admin@${L.realm} *\n`);
  return file;
}

export function kdcEnv(L: Layout, guest: string): KrbEnv {
  return { KRB5_CONFIG: L.krb5Conf, KRB5_KDC_PROFILE: join(L.kdcDir(guest), 'kdc.conf') };
}

function masterOf(L: Layout): string {
  const m = Object.entries(L.reg.kdcs).find(([, k]) => k.role === 'master')?.[0];
  if (!m) throw new Error(`realm ${L.realm} has no master KDC yet (create its kdc resource first)`);
  return m;
}

export function kdcPid(L: Layout, guest: string): number | undefined {
  const f = join(L.kdcDir(guest), 'krb5kdc.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return alive(pid) ? pid : undefined;
}

/**
 * A real AS exchange against this KDC only, from its own namespace: an unknown client must be refused
 * by the KDC itself ("client not found"). What proves a krb5kdc answers, not just that its pid lives.
 */
export async function kdcAnswers(r: Runner, L: Layout, guest: string, timeoutMs = 15_000): Promise<{ ok: boolean; out: string }> {
  const conf = writeKrb5Conf(L, [guest]);
  const probe = `cellctl-probe-${randomBytes(3).toString('hex')}`;
  try {
    const res = await r.inNetns(L.guest(guest).ns, 'kinit', [`${probe}@${L.realm}`], { env: { KRB5_CONFIG: conf, KRB5CCNAME: 'MEMORY:probe' }, input: 'x\n', timeoutMs });
    return { ok: /not found in Kerberos database/.test(res.out), out: res.out };
  } finally {
    rmSync(conf, { force: true });
  }
}

/** kadmin.local against the master's database (local file access: no kadmind needed). */
export async function kadmin(r: Runner, L: Layout, query: string, input?: string) {
  const m = masterOf(L);
  const res = await r.run('kadmin.local', ['-r', L.realm, '-q', query], { env: { ...kdcEnv(L, m) }, input });
  // kadmin.local exits 0 even when the query failed: errors are in its output.
  const failed = res.code !== 0 || /(error|while |failed|not found|Principal or policy)/i.test(res.stderr);
  return { ...res, failed };
}

export function createKdc(r: Runner, L: Layout, catalog: Catalog, a: KdcAttrs, masterPw: string): Promise<Record<string, string | number>> {
  return L.krbLock.run(() => createKdcNow(r, L, catalog, a, masterPw));
}

async function createKdcNow(r: Runner, L: Layout, catalog: Catalog, a: KdcAttrs, masterPw: string): Promise<Record<string, string | number>> {
  const g = L.guest(a.guest);
  const d = L.kdcDir(a.guest);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  const sw = catalog.software.get(a.software);
  const standIn = sw && sw.product !== 'mit-krb5' ? sw.debian_stand_in : undefined;
  L.reg.kdcs[a.guest] = { role: a.role, realm: a.realm, master: a.master, ...(standIn ? { standIn } : {}) };
  L.reg.realm = a.realm;
  L.save();
  writeKrb5Conf(L);
  kdcProfile(L, a.guest);
  const env = kdcEnv(L, a.guest);
  let propagation: string | undefined;
  if (a.role === 'master') {
    if (!existsSync(join(d, 'principal'))) {
      // The master password goes on stdin (kdb5_util prompts twice), never on a command line.
      await r.must('kdb5_util', ['create', '-s', '-r', a.realm], { env: { ...env }, input: `${masterPw}\n${masterPw}\n` });
    }
  } else {
    await propagateTo(r, L, a.guest);
    propagation = 'kdb5_util dump on the master, kdb5_util load on the replica (kpropd is not installed)';
  }
  if (!kdcPid(L, a.guest)) {
    await r.must('ip', ['netns', 'exec', g.ns, 'krb5kdc', '-r', a.realm, '-P', join(d, 'krb5kdc.pid')], { env: { ...env, ...daemonMarks(L, a.guest) } });
    await until(`krb5kdc pid file on ${a.guest}`, 5000, async () => kdcPid(L, a.guest) !== undefined, 25);
  }
  return {
    ip: g.ip, pid: kdcPid(L, a.guest) ?? 0, role: a.role, realm: a.realm, database: join(d, 'principal'),
    log: join(d, 'kdc.log'), runs: 'MIT krb5kdc 1.20 (Debian)',
    ...(standIn ? { stand_in: standIn } : {}), ...(propagation ? { propagation } : {}),
  };
}

/** Copies the master's database to one replica: dump, load, and the same stash (what kprop/kpropd would carry). */
async function propagateTo(r: Runner, L: Layout, replica: string): Promise<void> {
  const m = masterOf(L);
  const d = L.kdcDir(replica);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  kdcProfile(L, replica);
  const dump = join(L.kdcDir(m), `datatrans.${replica}`);
  await r.must('kdb5_util', ['-r', L.realm, 'dump', dump], { env: { ...kdcEnv(L, m) } });
  copyFileSync(join(L.kdcDir(m), 'stash'), join(d, 'stash'));
  chmodSync(join(d, 'stash'), 0o600);
  await r.must('kdb5_util', ['-r', L.realm, 'load', dump], { env: { ...kdcEnv(L, replica) } });
}

export async function propagate(r: Runner, L: Layout): Promise<void> {
  for (const [g, k] of Object.entries(L.reg.kdcs)) if (k.role === 'replica' && L.reg.guests[g]) await propagateTo(r, L, g);
}

export function deleteKdc(L: Layout, guest: string): Promise<void> {
  return L.krbLock.run(() => deleteKdcNow(L, guest));
}

async function deleteKdcNow(L: Layout, guest: string): Promise<void> {
  const pid = kdcPid(L, guest);
  if (pid) await killPids([pid]);
  rmSync(L.kdcDir(guest), { recursive: true, force: true });
  delete L.reg.kdcs[guest];
  L.save();
  writeKrb5Conf(L);
}

function kvnoOf(getprinc: string): number {
  const m = [...getprinc.matchAll(/vno (\d+)/g)].map((x) => Number(x[1]));
  return m.length ? Math.max(...m) : 0;
}

export function createPrincipal(r: Runner, L: Layout, a: PrincipalAttrs, pw: string): Promise<Record<string, string | number>> {
  return L.krbLock.run(() => createPrincipalNow(r, L, a, pw));
}

async function createPrincipalNow(r: Runner, L: Layout, a: PrincipalAttrs, pw: string): Promise<Record<string, string | number>> {
  const input = `${pw}\n${pw}\n`;
  let res = await kadmin(r, L, `addprinc ${a.principal}`, input);
  if (res.failed && /already exists/.test(res.out)) res = await kadmin(r, L, `cpw ${a.principal}`, input); // converge on the stored password
  if (res.failed) throw new Error(`kadmin.local addprinc ${a.principal}: ${res.out.split('\n').slice(-2).join(' ')}`);
  if (!L.reg.principals.includes(a.principal)) L.reg.principals.push(a.principal);
  L.save();
  await propagate(r, L);
  const info = await kadmin(r, L, `getprinc ${a.principal}`);
  return { principal: `${a.principal}@${a.realm}`, kvno: kvnoOf(info.out) };
}

export function deletePrincipal(r: Runner, L: Layout, principal: string): Promise<void> {
  return L.krbLock.run(() => deletePrincipalNow(r, L, principal));
}

async function deletePrincipalNow(r: Runner, L: Layout, principal: string): Promise<void> {
  if (!Object.keys(L.reg.kdcs).length) return; // realm already gone
  const res = await kadmin(r, L, `delprinc -force ${principal}`);
  if (res.failed && !/does not exist/.test(res.out)) throw new Error(`kadmin.local delprinc ${principal}: ${res.out}`);
  L.reg.principals = L.reg.principals.filter((p) => p !== principal);
  L.save();
  await propagate(r, L);
}

export function keytabFile(L: Layout): string {
  return join(L.root, 'afs', 'rxkad.keytab');
}

/** afs/<cell>@REALM with a random key, exported to a 0600 keytab that asetkey reads on every AFS server. */
export function createServiceKey(r: Runner, L: Layout, a: ServiceKeyAttrs): Promise<Record<string, string | number | string[]>> {
  return L.krbLock.run(() => createServiceKeyNow(r, L, a));
}

async function createServiceKeyNow(r: Runner, L: Layout, a: ServiceKeyAttrs): Promise<Record<string, string | number | string[]>> {
  const kt = keytabFile(L);
  mkdirSync(dirname(kt), { recursive: true, mode: 0o700 });
  const princ = a.principal.replace(/@.*$/, '');
  const exists = !(await kadmin(r, L, `getprinc ${princ}`)).failed;
  if (!exists) {
    const res = await kadmin(r, L, `addprinc -randkey ${princ}`);
    if (res.failed) throw new Error(`kadmin.local addprinc -randkey ${princ}: ${res.out}`);
  }
  if (!exists || !existsSync(kt)) {
    rmSync(kt, { force: true });
    const e = a.enctypes.map((t) => `${t}:normal`).join(',');
    const res = await kadmin(r, L, `ktadd -k ${kt} -e ${e} ${princ}`); // ktadd re-randomizes: keytab and KDC agree
    if (res.failed) throw new Error(`kadmin.local ktadd ${princ}: ${res.out}`);
    chmodSync(kt, 0o600);
    await propagate(r, L);
  }
  const kvno = kvnoOf((await kadmin(r, L, `getprinc ${princ}`)).out);
  L.reg.keytab = { file: kt, kvno, principal: `${princ}@${a.realm}` };
  L.save();
  return { principal: `${princ}@${a.realm}`, keytab: kt, kvno, enctypes: a.enctypes };
}

export function deleteServiceKey(r: Runner, L: Layout, principal: string): Promise<void> {
  return L.krbLock.run(() => deleteServiceKeyNow(r, L, principal));
}

async function deleteServiceKeyNow(r: Runner, L: Layout, principal: string): Promise<void> {
  if (Object.keys(L.reg.kdcs).length) {
    const res = await kadmin(r, L, `delprinc -force ${principal.replace(/@.*$/, '')}`);
    if (res.failed && !/does not exist/.test(res.out)) throw new Error(`kadmin.local delprinc: ${res.out}`);
    await propagate(r, L);
  }
  rmSync(keytabFile(L), { force: true });
  delete L.reg.keytab;
  L.save();
}
