// The realm: Debian's MIT krb5kdc in the KDC guest, configured only through KRB5_CONFIG /
// KRB5_KDC_PROFILE files in the placement's KDC directory (nothing looked up in DNS). Replicas are
// loaded from a dump of the master (krb5-kpropd is not installed, so there is no kprop).
import { randomBytes } from 'node:crypto';
import type { Catalog } from '../../catalog/types.js';
import type { KdcAttrs, PrincipalAttrs, ServiceKeyAttrs } from '../../plan/resources.js';
import type { Placement, Services } from './placement.js';
import { lastLines, until } from './util.js';

export const PROPAGATION = 'kdb5_util dump on the master, carried to the replica with its stash, kdb5_util load there (krb5-kpropd is not installed: no kprop)';

/** The realm's krb5.conf: every registered KDC (master first), or only some. */
export function krb5ConfText(x: Services, only?: string[]): string {
  const kdcs = Object.entries(x.reg.kdcs)
    .sort(([, a], [, b]) => (a.role === b.role ? 0 : a.role === 'master' ? -1 : 1))
    .map(([g]) => g)
    .filter((g) => !only || only.includes(g));
  const master = Object.entries(x.reg.kdcs).find(([, k]) => k.role === 'master')?.[0];
  const masterIp = master ? x.addressOf(master) : undefined;
  return [
    '[libdefaults]',
    ` default_realm = ${x.realm}`,
    ' dns_lookup_kdc = false',
    ' dns_lookup_realm = false',
    ' dns_canonicalize_hostname = false',
    ' rdns = false',
    ' udp_preference_limit = 1',
    '[realms]',
    ` ${x.realm} = {`,
    ...kdcs.map((g) => `  kdc = ${x.addressOf(g) ?? '127.0.0.1'}`),
    ...(masterIp ? [`  admin_server = ${masterIp}`] : []),
    ' }',
    '',
  ].join('\n');
}

/** Writes the realm's krb5.conf where the placement's commands read it. */
export async function writeKrb5Conf(x: Services, p: Placement): Promise<void> {
  await p.writeFiles([{ path: p.paths.krb5Conf, data: krb5ConfText(x) }]);
}

function kdcProfile(x: Services, p: Placement): { path: string; data: string }[] {
  const d = p.paths.kdc;
  return [{
    path: `${d}/kdc.conf`,
    data: [
      '[kdcdefaults]',
      ' kdc_ports = 88',
      ' kdc_tcp_ports = 88',
      '[realms]',
      ` ${x.realm} = {`,
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
    ].join('\n'),
  }, { path: `${d}/kadm5.acl`, data: `*/admin@${x.realm} *\n` }];
}

export function kdcEnv(p: Placement): Record<string, string> {
  return { KRB5_CONFIG: p.paths.krb5Conf, KRB5_KDC_PROFILE: `${p.paths.kdc}/kdc.conf` };
}

export function masterOf(x: Services): string {
  const m = Object.entries(x.reg.kdcs).find(([, k]) => k.role === 'master')?.[0];
  if (!m) throw new Error(`realm ${x.realm} has no master KDC yet (create its kdc resource first)`);
  return m;
}

export async function kdcPid(p: Placement): Promise<number | undefined> {
  const f = await p.readFile(`${p.paths.kdc}/krb5kdc.pid`);
  const pid = Number(f?.toString().trim());
  return pid > 0 && (await p.alive(pid)) ? pid : undefined;
}

/**
 * A real AS exchange against this KDC only, from its own guest: an unknown client must be refused
 * by the KDC itself ("client not found"). What proves a krb5kdc answers, not just that its pid lives.
 */
export async function kdcAnswers(x: Services, p: Placement, timeoutMs = 15_000): Promise<{ ok: boolean; out: string }> {
  const conf = `${p.paths.tmp}/krb5-${p.guest}.conf`;
  await p.writeFiles([{ path: conf, data: krb5ConfText(x, [p.guest]) }]);
  const probe = `cellctl-probe-${randomBytes(3).toString('hex')}`;
  try {
    const res = await p.run('kinit', [`${probe}@${x.realm}`], { env: { KRB5_CONFIG: conf, KRB5CCNAME: 'MEMORY:probe' }, input: 'x\n', timeoutMs });
    return { ok: /not found in Kerberos database/.test(res.out), out: res.out };
  } finally {
    await p.remove(conf);
  }
}

/** kadmin.local against the master's database (local file access: no kadmind needed). */
export async function kadmin(x: Services, query: string, input?: string) {
  const p = x.place(masterOf(x));
  const res = await p.run('kadmin.local', ['-r', x.realm, '-q', query], { env: kdcEnv(p), input });
  // kadmin.local exits 0 even when the query failed: errors are in its output.
  const failed = res.code !== 0 || /(error|while |failed|not found|Principal or policy)/i.test(res.stderr);
  return { ...res, failed };
}

export function createKdc(x: Services, catalog: Catalog, a: KdcAttrs, masterPw: string): Promise<Record<string, string | number>> {
  return x.krbLock.run(() => createKdcNow(x, catalog, a, masterPw));
}

async function createKdcNow(x: Services, catalog: Catalog, a: KdcAttrs, masterPw: string): Promise<Record<string, string | number>> {
  const p = x.place(a.guest);
  const d = p.paths.kdc;
  const sw = catalog.software.get(a.software);
  const standIn = sw && sw.product !== 'mit-krb5' ? sw.debian_stand_in : undefined;
  x.reg.kdcs[a.guest] = { role: a.role, realm: a.realm, master: a.master, ...(standIn ? { standIn } : {}) };
  x.reg.realm = a.realm;
  x.save();
  await p.mkdir([d], 0o700);
  await p.writeFiles([{ path: p.paths.krb5Conf, data: krb5ConfText(x) }, ...kdcProfile(x, p)]);
  const env = kdcEnv(p);
  let propagation: string | undefined;
  if (a.role === 'master') {
    if (!(await p.readFile(`${d}/principal`))) {
      // The master password goes on stdin (kdb5_util prompts twice), never on a command line.
      await must(p, 'kdb5_util', ['create', '-s', '-r', a.realm], { env, input: `${masterPw}\n${masterPw}\n` });
    }
  } else {
    await propagateTo(x, a.guest);
    propagation = PROPAGATION;
  }
  if (!(await kdcPid(p))) {
    await must(p, 'krb5kdc', ['-r', a.realm, '-P', `${d}/krb5kdc.pid`], { env: { ...env, ...p.daemonEnv } }).catch(async (e: Error) => {
      // krb5kdc says why it stopped in its log, not on stderr
      const log = (await p.readFile(`${d}/kdc.log`))?.toString();
      throw log ? new Error(`${e.message} ${d}/kdc.log ends: ${lastLines(log, 3)}`) : e;
    });
    await until(`krb5kdc pid file on ${a.guest}`, 10_000, async () => (await kdcPid(p)) !== undefined, 25);
  }
  return {
    ip: p.ip(), pid: (await kdcPid(p)) ?? 0, role: a.role, realm: a.realm, database: `${d}/principal`,
    log: `${d}/kdc.log`, runs: 'MIT krb5kdc 1.20 (Debian)',
    ...(standIn ? { stand_in: standIn } : {}), ...(propagation ? { propagation } : {}),
  };
}

/** A command that must succeed: the error names it (secrets masked) with its last lines. */
export async function must(p: Placement, cmd: string, args: string[], o: Parameters<Placement['run']>[2] = {}) {
  const r = await p.run(cmd, args, o);
  if (r.code !== 0) throw new Error(`${[cmd, ...args].join(' ')} on ${p.guest} failed (exit ${r.code}): ${r.out.trim().split('\n').slice(-6).join(' | ')}`);
  return r;
}

/** Copies the master's database to one replica: dump, load, and the same stash (what kprop/kpropd would carry). */
async function propagateTo(x: Services, replica: string): Promise<void> {
  const m = x.place(masterOf(x));
  const p = x.place(replica);
  const d = p.paths.kdc;
  await p.mkdir([d], 0o700);
  const dump = `${m.paths.kdc}/datatrans.${replica}`;
  await must(m, 'kdb5_util', ['-r', x.realm, 'dump', dump], { env: kdcEnv(m) });
  const [data, stash] = [await m.readFile(dump), await m.readFile(`${m.paths.kdc}/stash`)];
  if (!data || !stash) throw new Error(`the master's dump or stash is missing on ${m.guest}`);
  const loaded = `${d}/datatrans.from-master`;
  await p.writeFiles([
    { path: p.paths.krb5Conf, data: krb5ConfText(x) }, ...kdcProfile(x, p),
    { path: `${d}/stash`, data: stash, mode: 0o600 }, { path: loaded, data, mode: 0o600 },
  ]);
  await must(p, 'kdb5_util', ['-r', x.realm, 'load', loaded], { env: kdcEnv(p) });
}

export async function propagate(x: Services): Promise<void> {
  for (const [g, k] of Object.entries(x.reg.kdcs)) if (k.role === 'replica' && x.has(g)) await propagateTo(x, g);
}

export function deleteKdc(x: Services, guest: string): Promise<void> {
  return x.krbLock.run(async () => {
    if (x.has(guest)) {
      const p = x.place(guest);
      const pid = await kdcPid(p);
      if (pid) await p.stop(pid, 'process');
      await p.remove(p.paths.kdc);
    }
    delete x.reg.kdcs[guest];
    x.save();
    for (const g of Object.keys(x.reg.kdcs)) if (x.has(g)) await writeKrb5Conf(x, x.place(g));
  });
}

function kvnoOf(getprinc: string): number {
  const m = [...getprinc.matchAll(/vno (\d+)/g)].map((v) => Number(v[1]));
  return m.length ? Math.max(...m) : 0;
}

export function createPrincipal(x: Services, a: PrincipalAttrs, pw: string): Promise<Record<string, string | number>> {
  return x.krbLock.run(async () => {
    const input = `${pw}\n${pw}\n`;
    let res = await kadmin(x, `addprinc ${a.principal}`, input);
    if (res.failed && /already exists/.test(res.out)) res = await kadmin(x, `cpw ${a.principal}`, input); // converge on the stored password
    if (res.failed) throw new Error(`kadmin.local addprinc ${a.principal}: ${res.out.split('\n').slice(-2).join(' ')}`);
    if (!x.reg.principals.includes(a.principal)) x.reg.principals.push(a.principal);
    x.save();
    await propagate(x);
    const info = await kadmin(x, `getprinc ${a.principal}`);
    return { principal: `${a.principal}@${a.realm}`, kvno: kvnoOf(info.out) };
  });
}

export function deletePrincipal(x: Services, principal: string): Promise<void> {
  return x.krbLock.run(async () => {
    if (!Object.keys(x.reg.kdcs).length) return; // realm already gone
    const res = await kadmin(x, `delprinc -force ${principal}`);
    if (res.failed && !/does not exist/.test(res.out)) throw new Error(`kadmin.local delprinc ${principal}: ${res.out}`);
    x.reg.principals = x.reg.principals.filter((p) => p !== principal);
    x.save();
    await propagate(x);
  });
}

/** afs/<cell>@REALM with a random key, exported to a 0600 keytab on the master that asetkey reads on every AFS server. */
export function createServiceKey(x: Services, a: ServiceKeyAttrs): Promise<Record<string, string | number | string[]>> {
  return x.krbLock.run(async () => {
    const master = masterOf(x);
    const m = x.place(master);
    const kt = m.paths.keytab;
    const princ = a.principal.replace(/@.*$/, '');
    const exists = !(await kadmin(x, `getprinc ${princ}`)).failed;
    if (!exists) {
      const res = await kadmin(x, `addprinc -randkey ${princ}`);
      if (res.failed) throw new Error(`kadmin.local addprinc -randkey ${princ}: ${res.out}`);
    }
    if (!exists || !(await m.readFile(kt))) {
      await m.remove(kt);
      await m.mkdir([kt.slice(0, kt.lastIndexOf('/'))], 0o700);
      const e = a.enctypes.map((t) => `${t}:normal`).join(',');
      const res = await kadmin(x, `ktadd -k ${kt} -e ${e} ${princ}`); // ktadd re-randomizes: keytab and KDC agree
      if (res.failed) throw new Error(`kadmin.local ktadd ${princ}: ${res.out}`);
      await must(m, 'chmod', ['600', kt]);
      await propagate(x);
    }
    const kvno = kvnoOf((await kadmin(x, `getprinc ${princ}`)).out);
    x.reg.keytab = { file: kt, kvno, principal: `${princ}@${a.realm}`, guest: master };
    x.save();
    return { principal: `${princ}@${a.realm}`, keytab: kt, kvno, enctypes: a.enctypes };
  });
}

export function deleteServiceKey(x: Services, principal: string): Promise<void> {
  return x.krbLock.run(async () => {
    if (Object.keys(x.reg.kdcs).length) {
      const res = await kadmin(x, `delprinc -force ${principal.replace(/@.*$/, '')}`);
      if (res.failed && !/does not exist/.test(res.out)) throw new Error(`kadmin.local delprinc: ${res.out}`);
      await propagate(x);
    }
    const kt = x.reg.keytab;
    const on = kt?.guest ?? Object.keys(x.reg.kdcs).find((g) => x.reg.kdcs[g]!.role === 'master');
    if (kt && on && x.has(on)) await x.place(on).remove(kt.file);
    delete x.reg.keytab;
    x.save();
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
 * `ccache`; the realm's krb5.conf is written there first.
 */
export async function kinit(x: Services, p: Placement, principal: string, pw: string, ccache = `FILE:${p.paths.tmp}/krb5cc_${principal.replace(/[^A-Za-z0-9]/g, '_')}`) {
  await writeKrb5Conf(x, p);
  const env = { KRB5_CONFIG: p.paths.krb5Conf, KRB5CCNAME: ccache };
  // klist in the same request: what the cache holds once kinit is done
  const res = await p.run('sh', ['-c', 'kinit "$1" || exit; echo @@klist; klist', 'sh', `${principal}@${x.realm}`], { env, input: `${pw}\n`, timeoutMs: 20_000 });
  const [out = '', klist = ''] = res.out.split('@@klist\n');
  return { ok: res.code === 0, out, klist, env };
}
