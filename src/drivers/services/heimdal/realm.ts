// A Heimdal realm in a directory of the caller's: config, database, master key stash, logs, all inside it.
// Administration is `kadmin -l` (local database access, no kadmind); passwords go on stdin only.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import type { HeimdalInstall } from './install.js';
import { must, run } from './run.js';

export const DEFAULT_ENCTYPES = ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96'];

export interface RealmOptions {
  dir: string; // absolute, no whitespace (Heimdal's config values end at a space)
  realm: string;
  /** Addresses Heimdal's own client tools use for this realm (default 127.0.0.1). */
  kdcAddresses?: string[];
  maxTicketLife?: string; // Heimdal time syntax, e.g. "1 day"
  maxRenewableLife?: string;
  /** Key types every new principal gets (kadmin default_keys). */
  enctypes?: string[];
}

export interface PrincipalInfo {
  principal: string;
  kvno: number;
  enctypes: string[];
}

export interface RealmFiles {
  krb5Conf: string; // [libdefaults] and [realms]: KRB5_CONFIG for every Heimdal tool
  kdcConf: string; // [kdc] database, [kadmin], [logging]: given with -c to kdc and kadmin
  database: string;
  stash: string;
  acl: string;
  kdcLog: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._\/-]*(@[A-Za-z0-9._-]+)?$/;

function checkName(what: string, v: string): void {
  if (!NAME.test(v)) throw new Error(`invalid ${what} ${JSON.stringify(v)}`);
}

function checkPassword(pw: string): void {
  if (!pw || /[\r\n]/.test(pw)) throw new Error('a password must be non-empty and a single line (it is fed on stdin)');
}

export function realmFiles(dir: string): RealmFiles {
  return {
    krb5Conf: join(dir, 'krb5.conf'), kdcConf: join(dir, 'kdc.conf'), database: join(dir, 'heimdal.db'),
    stash: join(dir, 'm-key'), acl: join(dir, 'kadmind.acl'), kdcLog: join(dir, 'kdc.log'),
  };
}

/** Writes the realm's krb5.conf and kdc.conf (KDC on port 88 tcp+udp, everything under dir). */
export function writeRealmConfig(o: RealmOptions): RealmFiles {
  if (!isAbsolute(o.dir) || /\s/.test(o.dir)) throw new Error(`realm dir must be an absolute path without whitespace: ${o.dir}`);
  if (!/^[A-Za-z0-9._-]+$/.test(o.realm)) throw new Error(`invalid realm name ${JSON.stringify(o.realm)}`);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  chmodSync(o.dir, 0o700); // holds the stash and extracted keytabs before they move
  const f = realmFiles(o.dir);
  const d = o.dir;
  const kdcs = o.kdcAddresses?.length ? o.kdcAddresses : ['127.0.0.1'];
  writeFileSync(f.krb5Conf, [
    '[libdefaults]',
    `\tdefault_realm = ${o.realm}`,
    '\tdns_lookup_kdc = false',
    '\tdns_lookup_realm = false',
    '\tallow_weak_crypto = false',
    '[realms]',
    `\t${o.realm} = {`,
    ...kdcs.map((a) => `\t\tkdc = ${a}`),
    `\t\tadmin_server = ${kdcs[0]}`,
    '\t}',
    '',
  ].join('\n'));
  const enctypes = o.enctypes ?? DEFAULT_ENCTYPES;
  writeFileSync(f.kdcConf, [
    '[kdc]',
    '\tdatabase = {',
    `\t\tdbname = db:${d}/heimdal`, // the db backend appends .db
    `\t\trealm = ${o.realm}`,
    `\t\tmkey_file = ${f.stash}`,
    `\t\tacl_file = ${f.acl}`,
    `\t\tlog_file = ${d}/iprop.log`,
    '\t}',
    '\tports = 88',
    '\trequire-preauth = true',
    `\tlogging = FILE:${f.kdcLog}`,
    '[kadmin]',
    `\tdefault_keys = ${enctypes.map((e) => `${e}:pw-salt`).join(' ')}`,
    '[logging]',
    `\tkdc = FILE:${f.kdcLog}`,
    `\tkadmin = FILE:${d}/kadmin.log`,
    `\tdefault = FILE:${d}/heimdal.log`,
    '',
  ].join('\n'));
  if (!existsSync(f.acl)) writeFileSync(f.acl, `*/admin@${o.realm} all\n`);
  return f;
}

/** MIT krb5.conf text naming the KDC addresses (TCP only when tcp is set: udp_preference_limit = 1). */
export function mitClientConf(realm: string, kdcs: string[], o: { tcp?: boolean } = {}): string {
  return [
    '[libdefaults]',
    `\tdefault_realm = ${realm}`,
    '\tdns_lookup_kdc = false',
    '\tdns_lookup_realm = false',
    '\tdns_canonicalize_hostname = false',
    '\trdns = false',
    ...(o.tcp ? ['\tudp_preference_limit = 1'] : []),
    '[realms]',
    `\t${realm} = {`,
    ...kdcs.map((a) => `\t\tkdc = ${a}`),
    '\t}',
    '',
  ].join('\n');
}

export class HeimdalRealm {
  readonly files: RealmFiles;

  private constructor(readonly heimdal: HeimdalInstall, readonly options: RealmOptions) {
    this.files = realmFiles(options.dir);
  }

  get realm(): string {
    return this.options.realm;
  }

  /** Environment for any Heimdal tool working on this realm. */
  get env(): Record<string, string> {
    return { ...this.heimdal.env, KRB5_CONFIG: this.files.krb5Conf };
  }

  /**
   * Writes the config, stashes the master key derived from masterPassword (stdin, via --master-key-fd=0)
   * and creates the database with `kadmin -l init`. An existing realm in dir is reused as it is.
   */
  static async create(heimdal: HeimdalInstall, o: RealmOptions, masterPassword: string): Promise<HeimdalRealm> {
    checkPassword(masterPassword);
    const r = new HeimdalRealm(heimdal, o);
    writeRealmConfig(o);
    if (!existsSync(r.files.stash)) {
      await must(heimdal.bin.kstash, ['--enctype=aes256-cts-hmac-sha1-96', `--key-file=${r.files.stash}`, '--master-key-fd=0'],
        { env: r.env, input: `${masterPassword}\n`, secrets: [masterPassword] });
      chmodSync(r.files.stash, 0o600);
    }
    if (!existsSync(r.files.database)) {
      await r.kadmin(['init', `--realm-max-ticket-life=${o.maxTicketLife ?? '1 day'}`,
        `--realm-max-renewable-life=${o.maxRenewableLife ?? '1 week'}`, o.realm], { secrets: [masterPassword] });
    }
    return r;
  }

  /** A realm some earlier create() set up in dir. */
  static open(heimdal: HeimdalInstall, o: RealmOptions): HeimdalRealm {
    const r = new HeimdalRealm(heimdal, o);
    if (!existsSync(r.files.database)) throw new Error(`no Heimdal database in ${o.dir}`);
    return r;
  }

  /** `kadmin -l` with one command; throws on failure (its exit code is reliable). */
  async kadmin(args: string[], o: { input?: string; secrets?: string[] } = {}): Promise<string> {
    const res = await must(this.heimdal.bin.kadmin, ['-l', `--config-file=${this.files.kdcConf}`, `--realm=${this.realm}`, ...args],
      { env: this.env, input: o.input, secrets: o.secrets });
    return res.stdout;
  }

  async getPrincipal(name: string): Promise<PrincipalInfo | undefined> {
    checkName('principal', name);
    const res = await run(this.heimdal.bin.kadmin, ['-l', `--config-file=${this.files.kdcConf}`, `--realm=${this.realm}`,
      'get', '-o', 'principal,kvno,keytypes', name], { env: this.env });
    if (res.code !== 0) {
      if (/Principal does not exist/.test(res.stderr)) return undefined;
      throw new Error(`kadmin -l get ${name} failed: ${res.stderr.trim()}`);
    }
    const field = (k: string) => new RegExp(`^\\s*${k}:\\s*(.*)$`, 'm').exec(res.stdout)?.[1]?.trim() ?? '';
    return {
      principal: field('Principal'),
      kvno: Number(field('Kvno')),
      enctypes: [...field('Keytypes').matchAll(/([a-z0-9-]+)\(/g)].map((m) => m[1]!),
    };
  }

  /** A principal with a password (stdin, twice: Heimdal asks to verify); an existing one gets the new password. */
  async addPrincipal(name: string, password: string): Promise<PrincipalInfo> {
    checkName('principal', name);
    checkPassword(password);
    const cmd = (await this.getPrincipal(name)) ? 'passwd' : 'add';
    await this.kadmin(cmd === 'add' ? ['add', '--use-defaults', name] : ['passwd', name],
      { input: `${password}\n${password}\n`, secrets: [password] });
    return (await this.getPrincipal(name))!;
  }

  /** A principal with random keys (service principals: afs/<cell>); an existing one is kept as it is. */
  async addRandomKey(name: string): Promise<PrincipalInfo> {
    checkName('principal', name);
    if (!(await this.getPrincipal(name))) await this.kadmin(['add', '--random-key', '--use-defaults', name]);
    return (await this.getPrincipal(name))!;
  }

  /**
   * Writes the principal's current keys of exactly `enctypes` to file, mode 0600 from the start. Keys
   * the principal lacks are added at random (add_enctype -r: only for random-key principals).
   */
  async extractKeytab(name: string, file: string, enctypes: string[] = DEFAULT_ENCTYPES): Promise<PrincipalInfo & { file: string }> {
    checkName('principal', name);
    const info = await this.getPrincipal(name);
    if (!info) throw new Error(`no principal ${name} in ${this.realm}`);
    const lacking = enctypes.filter((e) => !info.enctypes.includes(e));
    if (lacking.length) await this.kadmin(['add_enctype', '--random-key', name, ...lacking]);
    // Extracted inside the 0700 realm dir, trimmed, then copied 0600 next to file and renamed over it.
    const tmp = join(this.options.dir, `.kt-${randomBytes(6).toString('hex')}`);
    const part = `${file}.${randomBytes(6).toString('hex')}.part`;
    try {
      await this.kadmin(['ext_keytab', `--keytab=${tmp}`, name]);
      const full = info.principal || name;
      for (const e of this.keytabEntries(await this.ktutilList(tmp)).map((k) => k.enctype)) {
        if (!enctypes.includes(e)) await must(this.heimdal.bin.ktutil, [`--keytab=${tmp}`, 'remove', `--principal=${full}`, `--enctype=${e}`], { env: this.env });
      }
      const left = this.keytabEntries(await this.ktutilList(tmp));
      const got = [...new Set(left.map((k) => k.enctype))];
      if (got.length !== enctypes.length || enctypes.some((e) => !got.includes(e))) {
        throw new Error(`keytab for ${name} has ${got.join(', ') || 'no keys'}, wanted ${enctypes.join(', ')}`);
      }
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(part, readFileSync(tmp), { mode: 0o600, flag: 'wx' });
      renameSync(part, file);
      const kvno = Math.max(...left.map((k) => k.kvno));
      return { principal: full, kvno, enctypes: got, file };
    } finally {
      rmSync(tmp, { force: true });
      rmSync(part, { force: true });
    }
  }

  private async ktutilList(keytab: string): Promise<string> {
    return (await must(this.heimdal.bin.ktutil, [`--keytab=${keytab}`, 'list'], { env: this.env })).stdout;
  }

  /** Heimdal `ktutil list` rows: "  1  aes256-cts-hmac-sha1-96  afs/x@R". */
  private keytabEntries(listing: string): { kvno: number; enctype: string; principal: string }[] {
    return [...listing.matchAll(/^\s*(\d+)\s+(\S+)\s+(\S+)/gm)].map((m) => ({ kvno: Number(m[1]), enctype: m[2]!, principal: m[3]! }));
  }

  /** Every principal, fully qualified. */
  async listPrincipals(): Promise<string[]> {
    const out = await this.kadmin(['list', '*']);
    return out.split('\n').map((l) => l.trim()).filter(Boolean).map((p) => (p.includes('@') ? p : `${p}@${this.realm}`));
  }
}
