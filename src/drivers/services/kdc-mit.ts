// The MIT implementation of the KDC service: Debian's krb5kdc in the KDC guest, configured only
// through KRB5_CONFIG / KRB5_KDC_PROFILE files in the placement's KDC directory (nothing looked up
// in DNS). Replicas are loaded from a dump of the master (krb5-kpropd is not installed: no kprop).
import type { KdcAttrs } from '../../plan/resources.js';
import { masterOf, type KdcBackend, type PrincipalKeys } from './kdc-backend.js';
import type { Placement, Services } from './placement.js';
import { lastLines, until } from './util.js';

export const PROPAGATION = 'kdb5_util dump on the master, carried to the replica with its stash, kdb5_util load there (krb5-kpropd is not installed: no kprop)';

/** What the cell's krb5.conf says; written by kerberos.ts (it knows every realm). */
type Conf = (x: Services) => string;

function kdcProfile(p: Placement, realm: string): { path: string; data: string }[] {
  const d = p.paths.kdc;
  return [{
    path: `${d}/kdc.conf`,
    data: [
      '[kdcdefaults]',
      ' kdc_ports = 88',
      ' kdc_tcp_ports = 88',
      '[realms]',
      ` ${realm} = {`,
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
  }, { path: `${d}/kadm5.acl`, data: `*/admin@${realm} *\n` }];
}

export function kdcEnv(p: Placement): Record<string, string> {
  return { KRB5_CONFIG: p.paths.krb5Conf, KRB5_KDC_PROFILE: `${p.paths.kdc}/kdc.conf` };
}

/** A command that must succeed: the error names it (secrets masked) with its last lines. */
export async function must(p: Placement, cmd: string, args: string[], o: Parameters<Placement['run']>[2] = {}) {
  const r = await p.run(cmd, args, o);
  if (r.code !== 0) throw new Error(`${[cmd, ...args].join(' ')} on ${p.guest} failed (exit ${r.code}): ${r.out.trim().split('\n').slice(-6).join(' | ')}`);
  return r;
}

/** kadmin.local against the realm master's database (local file access: no kadmind needed). */
export async function kadmin(x: Services, query: string, input?: string, realm = x.realm) {
  const p = x.place(masterOf(x, realm));
  const res = await p.run('kadmin.local', ['-r', realm, '-q', query], { env: kdcEnv(p), input });
  // kadmin.local exits 0 even when the query failed: errors are in its output.
  const failed = res.code !== 0 || /(error|while |failed|not found|Principal or policy)/i.test(res.stderr);
  return { ...res, failed };
}

function keysOf(getprinc: string): PrincipalKeys {
  const kvnos = [...getprinc.matchAll(/vno (\d+)/g)].map((v) => Number(v[1]));
  const enctypes = [...getprinc.matchAll(/^Key: vno \d+, (\S+?)(?:,|$)/gm)].map((m) => m[1]!);
  return { kvno: kvnos.length ? Math.max(...kvnos) : 0, enctypes };
}

async function pidOf(p: Placement): Promise<number | undefined> {
  const f = await p.readFile(`${p.paths.kdc}/krb5kdc.pid`);
  const pid = Number(f?.toString().trim());
  return pid > 0 && (await p.alive(pid)) ? pid : undefined;
}

/** Copies the master's database to one replica: dump, load, and the same stash (what kprop/kpropd would carry). */
async function propagateTo(x: Services, conf: Conf, realm: string, replica: string): Promise<void> {
  const m = x.place(masterOf(x, realm));
  const p = x.place(replica);
  const d = p.paths.kdc;
  await p.mkdir([d], 0o700);
  const dump = `${m.paths.kdc}/datatrans.${replica}`;
  await must(m, 'kdb5_util', ['-r', realm, 'dump', dump], { env: kdcEnv(m) });
  const [data, stash] = [await m.readFile(dump), await m.readFile(`${m.paths.kdc}/stash`)];
  if (!data || !stash) throw new Error(`the master's dump or stash is missing on ${m.guest}`);
  const loaded = `${d}/datatrans.from-master`;
  await p.writeFiles([
    { path: p.paths.krb5Conf, data: conf(x) }, ...kdcProfile(p, realm),
    { path: `${d}/stash`, data: stash, mode: 0o600 }, { path: loaded, data, mode: 0o600 },
  ]);
  await must(p, 'kdb5_util', ['-r', realm, 'load', loaded], { env: kdcEnv(p) });
}

export function mitKdc(conf: Conf): KdcBackend {
  const propagate = async (x: Services, realm: string) => {
    for (const [g, k] of Object.entries(x.reg.kdcs)) if (k.role === 'replica' && k.realm === realm && x.has(g)) await propagateTo(x, conf, realm, g);
  };
  const get = async (x: Services, realm: string, principal: string) => {
    const res = await kadmin(x, `getprinc ${principal}`, undefined, realm);
    return res.failed ? undefined : keysOf(res.out);
  };
  return {
    product: 'mit-krb5',
    async start(x: Services, p: Placement, a: KdcAttrs, masterPw: string) {
      const d = p.paths.kdc;
      await p.mkdir([d], 0o700);
      await p.writeFiles([{ path: p.paths.krb5Conf, data: conf(x) }, ...kdcProfile(p, a.realm)]);
      const env = kdcEnv(p);
      if (a.role === 'master') {
        if (!(await p.readFile(`${d}/principal`))) {
          // The master password goes on stdin (kdb5_util prompts twice), never on a command line.
          await must(p, 'kdb5_util', ['create', '-s', '-r', a.realm], { env, input: `${masterPw}\n${masterPw}\n` });
        }
      } else {
        await propagateTo(x, conf, a.realm, a.guest);
      }
      if (!(await pidOf(p))) {
        await must(p, 'krb5kdc', ['-r', a.realm, '-P', `${d}/krb5kdc.pid`], { env: { ...env, ...p.daemonEnv } }).catch(async (e: Error) => {
          // krb5kdc says why it stopped in its log, not on stderr
          const log = (await p.readFile(`${d}/kdc.log`))?.toString();
          throw log ? new Error(`${e.message} ${d}/kdc.log ends: ${lastLines(log, 3)}`) : e;
        });
        await until(`krb5kdc pid file on ${a.guest}`, 10_000, async () => (await pidOf(p)) !== undefined, 25);
      }
      return { runs: 'MIT krb5kdc 1.20 (Debian)', database: `${d}/principal`, log: `${d}/kdc.log`, ...(a.role === 'replica' ? { propagation: PROPAGATION } : {}) };
    },
    pid: pidOf,
    async remove(p: Placement) {
      const pid = await pidOf(p);
      if (pid) await p.stop(pid, 'process');
      await p.remove(p.paths.kdc);
    },
    propagate,
    get,
    async setPassword(x, realm, principal, pw, enctypes) {
      const input = `${pw}\n${pw}\n`;
      const e = enctypes?.length ? ` -e ${enctypes.map((t) => `${t}:normal`).join(',')}` : '';
      let res = await kadmin(x, `addprinc${e} ${principal}`, input, realm);
      if (res.failed && /already exists/.test(res.out)) res = await kadmin(x, `cpw${e} ${principal}`, input, realm); // converge on the stored password
      if (res.failed) throw new Error(`kadmin.local addprinc ${principal}: ${res.out.split('\n').slice(-2).join(' ')}`);
      await propagate(x, realm);
    },
    async addRandom(x, realm, principal) {
      if (await get(x, realm, principal)) return;
      const res = await kadmin(x, `addprinc -randkey ${principal}`, undefined, realm);
      if (res.failed) throw new Error(`kadmin.local addprinc -randkey ${principal}: ${res.out}`);
      await propagate(x, realm);
    },
    async extract(x, realm, principal, file, enctypes) {
      const m = x.place(masterOf(x, realm));
      await m.remove(file);
      await m.mkdir([file.slice(0, file.lastIndexOf('/'))], 0o700);
      const e = enctypes.length ? ` -e ${enctypes.map((t) => `${t}:normal`).join(',')}` : '';
      const res = await kadmin(x, `ktadd -k ${file}${e} ${principal}`, undefined, realm); // ktadd re-randomizes: keytab and KDC agree
      if (res.failed) throw new Error(`kadmin.local ktadd ${principal}: ${res.out}`);
      await must(m, 'chmod', ['600', file]);
      await propagate(x, realm);
      const keys = await get(x, realm, principal);
      if (!keys) throw new Error(`${principal} vanished after ktadd`);
      return keys;
    },
    async delete(x, realm, principal) {
      const res = await kadmin(x, `delprinc -force ${principal}`, undefined, realm);
      if (res.failed && !/does not exist/.test(res.out)) throw new Error(`kadmin.local delprinc ${principal}: ${res.out}`);
      await propagate(x, realm);
    },
  };
}
