// Smoke checks on the netns driver: the services' own (services/checks.ts), the guest's namespace,
// and the AFS client's through afsd.fuse and a libuafs helper (a fresh cache manager per run: the
// only way here to ask a fileserver with nothing cached). A 'skip' always says why. Nothing here
// prints a password or key.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult, Check } from '../driver.js';
import { dbPlace } from '../services/afs-db.js';
import { admin } from '../services/afs-servers.js';
import { checkGuest, fail, pass, serviceCheck, skip, str } from '../services/checks.js';
import type { Services } from '../services/placement.js';
import type { Runner } from './exec.js';
import type { Layout } from './layout.js';
import { keytabPath } from './keytabs.js';
import { aclWrite, mountPoint, quotaExceeded, roRelease } from './access-checks.js';
import { clientPid, getToken, helperMissing, inClient, TOKEN_NOTE, uafs } from './client.js';
import { netnsExists } from './namespaces.js';
import { fsCheck } from './fs-checks.js';
import { names } from '../../plan/addrs.js';

export interface CheckCtx {
  r: Runner;
  L: Layout;
  s: Services;
  password(principal: string): string;
  /** KB the fileserver lets a volume go past its quota (catalog: quota_spare of the OpenAFS it runs). */
  quotaSpareKb: number;
}

const CLIENT_MS = 30_000; // a fileserver that does not answer within this is down for the check

export async function runCheck(x: CheckCtx, c: Check): Promise<CheckResult> {
  try {
    return await dispatch(x, c);
  } catch (e) {
    return fail(x.r.masker.mask((e as Error).message));
  }
}

async function dispatch(x: CheckCtx, c: Check): Promise<CheckResult> {
  const { r, L } = x;
  const guest = checkGuest(c);
  const service = await serviceCheck(x.s, c, x.password);
  if (service) return service;
  switch (c.kind) {
    case 'guest-running': {
      const g = L.reg.guests[str(guest, 'guest')];
      if (!g || !netnsExists(g.ns)) return fail(`guest ${guest}: no network namespace`);
      const link = await r.run('ip', ['-n', g.ns, '-br', 'addr', 'show', 'dev', 'eth0']);
      if (link.code !== 0 || !/\bUP\b/.test(link.stdout)) return fail(`guest ${guest}: eth0 is not up`, link.out);
      return pass(`guest ${guest} up: netns ${g.ns}, eth0 ${g.ips.join(', ')}`, link.stdout);
    }
    // cell file v2 through libuafs (netns only: qemu's kernel client does not run these yet)
    case 'acl-write':
      return aclWrite(x, str(guest, 'guest'), str(c.params.path, 'path'), str(c.params.allowed, 'allowed'), str(c.params.refused, 'refused'));
    case 'quota-exceeded':
      return quotaExceeded(x, str(guest, 'guest'), str(c.params.path, 'path'), Number(c.params.quota_kb), x.quotaSpareKb, str(c.params.principal, 'principal'));
    case 'ro-release':
      return roRelease(x, str(guest, 'guest'), str(c.params.volume, 'volume'), str(c.params.rw_path, 'rw_path'), str(c.params.ro_path, 'ro_path'), str(c.params.principal, 'principal'));
    case 'mount-point':
      return mountPoint(x, str(guest, 'guest'), str(c.params.path, 'path'), str(c.params.volume, 'volume'));
    case 'keytab-kinit':
      return keytabKinit(x, str(guest, 'guest'), str(c.params.principal, 'principal'));
    case 'client-module': {
      const mod = c.params.module;
      return skip(`userspace cache manager afsd.fuse, no kernel module${mod ? `: ${String(mod)} is not loaded (the netns driver boots no guest kernel)` : ''}`);
    }
    case 'afs-resolves':
      return resolves(x, str(guest, 'guest'), str(c.params.path, 'path'));
    case 'client-anon-refused':
      return anonRefused(x, str(guest, 'guest'), str(c.params.path, 'path'));
    case 'client-tokens':
      return tokens(x, str(guest, 'guest'), str(c.params.principal, 'principal'));
    case 'cross-realm-token': { // another realm's user: a TGT from its KDC, krbtgt/<cell realm>@<its realm> from it, afs/<cell> from the cell's
      const principal = str(c.params.principal, 'principal');
      const theirs = principal.slice(principal.lastIndexOf('@') + 1);
      return tokens(x, str(guest, 'guest'), principal, ` through krbtgt/${L.realm}@${theirs} (${theirs}'s KDC issued it, ${L.realm}'s took it)`);
    }
    case 'client-file-rw':
      return fileRw(x, str(guest, 'guest'), str(c.params.principal, 'principal'), str(c.params.path, 'path'));
    case 'client-acl-list':
    case 'client-acl-write':
    case 'client-quota':
    case 'client-servers':
      return fsCheck(x, c, str(guest, 'guest'));
    default:
      return skip(`check kind ${c.kind} is not run by a driver`);
  }
}

/** kinit -k with the guest's keytab, in the guest's network namespace: the keytab holds the key the KDC has. */
async function keytabKinit(x: CheckCtx, guest: string, full: string): Promise<CheckResult> {
  const principal = full.replace(/@[^@]*$/, '');
  const file = keytabPath(x.L, guest, principal);
  if (!existsSync(file)) return fail(`no keytab for ${full} on ${guest} (${file})`);
  const env = { KRB5_CONFIG: x.L.krb5Conf, KRB5CCNAME: `FILE:${join(x.L.tmpDir(guest), `krb5cc_kt_${principal.replace(/[^A-Za-z0-9]/g, '_')}`)}` };
  const k = await x.r.inNetns(x.L.guest(guest).ns, 'kinit', ['-k', '-t', file, full], { env, timeoutMs: 20_000 });
  if (k.code !== 0) return fail(`kinit -k -t ${file} ${full} on ${guest} failed`, k.out);
  const list = await x.r.run('klist', [], { env });
  const keys = await x.r.run('klist', ['-k', '-e', '-t', file]);
  rmSync(env.KRB5CCNAME.slice(5), { force: true });
  if (!list.stdout.includes(`krbtgt/${x.L.realm}@${x.L.realm}`)) return fail('kinit -k succeeded but no TGT in the cache', list.out);
  const enctypes = [...new Set([...keys.stdout.matchAll(/\(([a-z0-9-]+)\)\s*$/gm)].map((m) => m[1]!))];
  return pass(`kinit -k -t ${file} ${full} on ${guest}: TGT issued (keytab keys: ${enctypes.join(', ')})`, `${list.stdout}\n${keys.stdout}`);
}

/** Needs the libuafs client (a fresh cache manager per run): the only way here to ask a fileserver with nothing cached. */
function freshClientMissing(what: string): CheckResult | undefined {
  const missing = helperMissing();
  return missing ? skip(`${what} needs a cache manager with nothing cached (the libuafs helper); not available here: ${missing}`) : undefined;
}

/**
 * /afs/<cell> on the client: afsd.fuse lists it (the mount works), and a fresh libuafs client with an
 * empty cache looks root.cell up in the VLDB and gets its root directory's status from the
 * fileserver (afsd.fuse alone could answer from its cache with the fileserver down).
 */
async function resolves(x: CheckCtx, guest: string, path: string): Promise<CheckResult> {
  const why = freshClientMissing(`checking that ${path} reaches its fileserver`);
  if (why) return why;
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  // EACCES comes from the fileserver's ACL check: the volume was found and its server answered.
  const st = await uafs(x.r, x.L, guest, undefined, ['stat', `${path}/.`]);
  if (st.code !== 0 && !/Permission denied/.test(st.out)) return fail(`${path}: ${noAnswer(st.out) ?? 'the fileserver of root.cell does not answer a fresh client'}`, st.out);
  const ls = await inClient(x.r, x.L, guest, 'ls', ['-la', path + '/'], { timeoutMs: CLIENT_MS });
  if (ls.code !== 0 && !/Permission denied/.test(ls.out)) return fail(`${path} does not resolve through afsd.fuse (a fresh client reached its fileserver)`, `${st.out}\n${ls.out}`);
  return pass(`${path} resolves through the VLDB to root.cell, and its fileserver answers a fresh client (FetchStatus)`, `${ls.out}\n${st.out}`);
}

/** An anonymous store from a fresh client (nothing cached, so no access rights the cache manager could refuse on its own). */
async function anonRefused(x: CheckCtx, guest: string, path: string): Promise<CheckResult> {
  const why = freshClientMissing('an anonymous write that reaches the fileserver');
  if (why) return why;
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  const res = await uafs(x.r, x.L, guest, undefined, ['write', path], 'cellctl-anonymous\n');
  if (res.code === 0) {
    const admin = await adminToken(x, guest);
    if (admin.ok) await uafs(x.r, x.L, guest, admin.file, ['unlink', path]);
    if (admin.file) rmSync(admin.file, { force: true });
    return fail(`anonymous write to ${path} was accepted by the fileserver`);
  }
  if (/Permission denied/.test(res.out)) return pass(`anonymous write to ${path} refused by the fileserver (EACCES)`, res.out);
  return fail(`anonymous write to ${path} failed, but not as a refusal${noAnswer(res.out) ? `: ${noAnswer(res.out)}` : ''}`, res.out);
}

/** A token for the cell's first administrator (to grant rights, or clean up). */
async function adminToken(x: CheckCtx, guest: string): Promise<{ ok: boolean; file?: string; name?: string; message: string; detail: string }> {
  const adminUser = Object.entries(x.L.reg.ptsUsers).find(([, u]) => u.admin);
  if (!adminUser) return { ok: false, message: 'the cell has no administrator', detail: '' };
  const t = await getToken(x.s, x.r, x.L, guest, adminUser[1].principal, x.password(adminUser[1].principal));
  return { ...t, name: adminUser[0] };
}

/**
 * The token is proved by a server accepting it: an authenticated FetchStatus at the fileserver of
 * root.cell. A fileserver that cannot decrypt the ticket (say, after `kadmin cpw -randkey afs/<cell>`)
 * refuses it with an rxkad error, and the cache manager discards the token.
 */
async function tokens(x: CheckCtx, guest: string, principal: string, via = ''): Promise<CheckResult> {
  const missing = helperMissing();
  if (missing) return skip(`${TOKEN_NOTE}; not available here: ${missing}`);
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  const t = await getToken(x.s, x.r, x.L, guest, principal, x.password(principal));
  if (!t.ok) return fail(t.message, t.detail);
  try {
    const at = `/afs/${x.L.cell}/.`;
    const held = await uafs(x.r, x.L, guest, t.file, ['tokens', at]);
    const refused = rxkadRefusal(held.out);
    if (refused) return fail(`the fileserver refused ${principal}'s token: ${refused}`, held.out);
    const m = /AFS ID (-?\d+) tokens for afs@(\S+) kvno (\d+)/.exec(held.stdout);
    if (held.code !== 0 || !m) return fail(`${principal}'s token: ${noAnswer(held.out) ?? 'not kept after a call to the fileserver'}`, held.out);
    const user = names.ptsUser(principal);
    const ex = await admin(x.s, await dbPlace(x.s), 'pts', ['examine', user]);
    const id = /id: (-?\d+)/.exec(ex.stdout)?.[1];
    if (id !== m[1]) return fail(`token AFS ID ${m[1]} does not match pts id ${id ?? '?'} of ${user}`, held.stdout);
    return pass(`${principal}: the fileserver accepted the rxkad token from aklog${via} (AFS ID ${m[1]} = pts id of ${user}, an authenticated FetchStatus of ${at})`, `${TOKEN_NOTE}.\n${held.stdout}\n${t.detail}`);
  } finally {
    if (t.file) rmSync(t.file, { force: true });
  }
}

/** A check's helper killed for taking too long: the server it called did not answer. */
function noAnswer(out: string): string | undefined {
  const m = /\(timed out after (\d+) ms\)/.exec(out);
  return m ? `the fileserver did not answer within ${Number(m[1]) / 1000} s` : undefined;
}

/** "rxkad error 19270408 (RXKADUNKNOWNKEY: ...)" when the cache manager discarded a token a server refused. */
function rxkadRefusal(out: string): string | undefined {
  const code = /rxkad error=(-?\d+)/.exec(out)?.[1];
  return code ? `rxkad error ${code}${RXKAD[code] ? ` (${RXKAD[code]})` : ''}` : undefined;
}

/** rxkad's error codes a refused token shows (rxkad.h). */
const RXKAD: Record<string, string> = {
  '19270405': 'RXKADNOAUTH: no authentication', '19270406': 'RXKADBADKEY: the ticket was sealed with another key',
  '19270407': 'RXKADBADTICKET: the ticket is bad', '19270408': 'RXKADUNKNOWNKEY: the server has no key of the ticket\'s version',
  '19270409': 'RXKADEXPIRED: the ticket has expired',
};

async function fileRw(x: CheckCtx, guest: string, principal: string, path: string): Promise<CheckResult> {
  const missing = helperMissing();
  if (missing) return skip(`authenticated write/read needs tokens: ${TOKEN_NOTE}; not available here: ${missing}`);
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  const t = await getToken(x.s, x.r, x.L, guest, principal, x.password(principal));
  if (!t.ok) return fail(t.message, t.detail);
  const notes: string[] = [];
  const files = [t.file!];
  try {
    const content = `cellctl ${principal} ${new Date().toISOString()} ${randomBytes(4).toString('hex')}\n`;
    let w = await uafs(x.r, x.L, guest, t.file, ['write', path], content);
    const refused = rxkadRefusal(w.out);
    if (refused) return fail(`the fileserver refused ${principal}'s token: ${refused}`, w.out);
    if (w.code !== 0 && /Permission denied/.test(w.out)) {
      // A non-admin user has no rights on a fresh root.cell: an administrator grants them, as one would by hand.
      const dir = path.replace(/\/[^/]+$/, '');
      const at = await adminToken(x, guest);
      if (at.file) files.push(at.file);
      if (!at.ok) return fail(`${principal} may not write in ${dir}, and no administrator could grant it: ${at.message}`, `${w.out}\n${at.detail}`);
      const user = names.ptsUser(principal);
      const set = await uafs(x.r, x.L, guest, at.file, ['setacl', dir, user, '63']); // rlidwk
      if (set.code !== 0) return fail(`${at.name} could not grant ${user} rlidwk on ${dir}`, set.out);
      notes.push(`${at.name} granted ${user} rlidwk on ${dir}`);
      w = await uafs(x.r, x.L, guest, t.file, ['write', path], content);
    }
    if (w.code !== 0) return fail(`authenticated write of ${path} as ${principal} failed${noAnswer(w.out) ? `: ${noAnswer(w.out)}` : ''}`, w.out);
    const rd = await uafs(x.r, x.L, guest, t.file, ['read', path]);
    if (rd.code !== 0 || rd.stdout.trim() !== content.trim()) return fail(`read-back of ${path} differs or failed`, rd.out);
    await uafs(x.r, x.L, guest, t.file, ['unlink', path]);
    return pass(`${principal} wrote and read back ${path} with an rxkad token${notes.length ? ` (${notes.join('; ')})` : ''}`, `${TOKEN_NOTE}.`);
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
}
