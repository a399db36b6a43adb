// Smoke checks against the real daemons. Each one runs a real protocol exchange from the right
// namespace; a 'skip' always says why. Nothing here prints a password or key.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult, Check } from '../driver.js';
import { lastLines, type Runner } from './exec.js';
import type { Layout } from './layout.js';
import { kdcAnswers, kdcPid } from './kerberos.js';
import { probeInstance } from './health.js';
import { admin, bosPid } from './afs-servers.js';
import { dbGuest } from './afs-db.js';
import { keytabPath } from './afs-admin.js';
import { aclWrite, mountPoint, quotaExceeded, roRelease } from './access-checks.js';
import { clientPid, getToken, helperMissing, inClient, kinit, TOKEN_NOTE, uafs } from './client.js';
import { netnsExists } from './namespaces.js';
import { names } from '../../plan/addrs.js';

export interface CheckCtx {
  r: Runner;
  L: Layout;
  password(principal: string): string;
  /** KB the fileserver lets a volume go past its quota (catalog: quota_spare of the OpenAFS it runs). */
  quotaSpareKb: number;
}

const CLIENT_MS = 30_000; // a fileserver that does not answer within this is down for the check

const pass = (message: string, detail?: string): CheckResult => ({ status: 'pass', message, ...(detail ? { detail } : {}) });
const fail = (message: string, detail?: string): CheckResult => ({ status: 'fail', message, ...(detail ? { detail } : {}) });
const skip = (message: string, detail?: string): CheckResult => ({ status: 'skip', message, ...(detail ? { detail } : {}) });

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !v) throw new Error(`check parameter ${what} missing`);
  return v;
};

export async function runCheck(x: CheckCtx, c: Check): Promise<CheckResult> {
  try {
    return await dispatch(x, c);
  } catch (e) {
    return fail(x.r.masker.mask((e as Error).message));
  }
}

async function dispatch(x: CheckCtx, c: Check): Promise<CheckResult> {
  const { r, L } = x;
  const guest = c.guest ?? (typeof c.params.guest === 'string' ? c.params.guest : undefined);
  switch (c.kind) {
    case 'guest-running': {
      const g = L.reg.guests[str(guest, 'guest')];
      if (!g || !netnsExists(g.ns)) return fail(`guest ${guest}: no network namespace`);
      const link = await r.run('ip', ['-n', g.ns, '-br', 'addr', 'show', 'dev', 'eth0']);
      if (link.code !== 0 || !/\bUP\b/.test(link.stdout)) return fail(`guest ${guest}: eth0 is not up`, link.out);
      return pass(`guest ${guest} up: netns ${g.ns}, eth0 ${g.ips.join(', ')}`, link.stdout);
    }
    case 'kdc-answers': {
      const kdc = str(guest, 'guest');
      if (!kdcPid(L, kdc)) return fail(`krb5kdc is not running on ${kdc}`);
      // A real AS exchange against this KDC only: an unknown client must be refused by the KDC itself.
      const res = await kdcAnswers(r, L, kdc);
      if (res.ok) return pass(`KDC ${L.ipOf(kdc)} answers for ${L.realm} (AS-REQ for an unknown principal: "client not found")`, res.out);
      return fail(`KDC on ${kdc} did not answer an AS-REQ`, res.out);
    }
    case 'kinit': {
      const p = str(c.params.principal, 'principal');
      const k = await kinit(r, L, str(guest, 'guest'), p, x.password(p));
      if (!k.ok) return fail(`kinit ${p}@${L.realm} from ${guest} failed`, k.out);
      if (!k.klist.includes(`krbtgt/${L.realm}@${L.realm}`)) return fail('kinit succeeded but no TGT in the cache', k.klist);
      return pass(`kinit ${p}@${L.realm} from ${guest}: TGT issued`, k.klist);
    }
    case 'afs-quorum':
      return quorum(x, guest, (c.params.dbservers as string[] | undefined) ?? L.reg.dbPlanned);
    case 'volume-listed': {
      const server = str(c.params.server, 'server');
      const vol = str(c.params.volume, 'volume');
      const part = str(c.params.partition, 'partition');
      if (!bosPid(L, server)) return fail(`no bosserver on ${server}`);
      const list = await admin(r, L, server, 'vos', ['listvol', L.ipOf(server), part]);
      if (list.code !== 0 || !new RegExp(`^${vol.replace(/\./g, '\\.')}\\s+\\d+ RW .*On-line`, 'm').test(list.stdout)) {
        return fail(`volume ${vol} not listed on-line on ${server} ${part}`, list.out);
      }
      const ex = await admin(r, L, server, 'vos', ['examine', vol]);
      return ex.code === 0 ? pass(`${vol} on ${server} ${part}: ${lastLines(ex.stdout.split('\n')[0] ?? '', 1)}`, ex.stdout) : fail(`vos examine ${vol} failed`, ex.out);
    }
    case 'pts-user': {
      const u = str(c.params.user, 'user');
      const ex = await admin(r, L, dbGuest(L), 'pts', ['examine', u]);
      return ex.code === 0 ? pass(`pts: ${ex.stdout.split('\n')[0]}`, ex.stdout) : fail(`pts examine ${u} failed`, ex.out);
    }
    case 'pts-group': {
      const group = str(c.params.group, 'group');
      const want = Array.isArray(c.params.members) ? c.params.members.map(String) : [];
      const m = await admin(r, L, dbGuest(L), 'pts', ['membership', group]);
      if (m.code !== 0) return fail(`pts membership ${group} failed`, m.out);
      const has = m.stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
      const missing = want.filter((u) => !has.includes(u));
      return missing.length ? fail(`${group} lacks ${missing.join(', ')} (pts membership: ${has.join(', ') || 'no members'})`, m.out) : pass(`${group}: ${has.join(', ')}`, m.stdout);
    }
    case 'acl-write':
      return aclWrite(x, str(guest, 'guest'), str(c.params.path, 'path'), str(c.params.allowed, 'allowed'), str(c.params.refused, 'refused'));
    case 'quota-exceeded':
      return quotaExceeded(x, str(guest, 'guest'), str(c.params.path, 'path'), Number(c.params.quota_kb), x.quotaSpareKb, str(c.params.principal, 'principal'));
    case 'ro-release':
      return roRelease(x, str(guest, 'guest'), str(c.params.volume, 'volume'), str(c.params.rw_path, 'rw_path'), str(c.params.ro_path, 'ro_path'), str(c.params.principal, 'principal'), dbGuest(L));
    case 'mount-point':
      return mountPoint(x, str(guest, 'guest'), str(c.params.path, 'path'), str(c.params.volume, 'volume'));
    case 'keytab-kinit':
      return keytabKinit(x, str(guest, 'guest'), str(c.params.principal, 'principal'));
    case 'bos-status':
      return bosInstances(x, str(guest, 'guest'));
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
    case 'client-file-rw':
      return fileRw(x, str(guest, 'guest'), str(c.params.principal, 'principal'), str(c.params.path, 'path'));
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

// A majority answering but not exactly one sync site is an election in progress (a server just left
// or came back): probe again until it settles, within ubik's election time-scale.
const ELECTION_SETTLE_MS = 30_000;
const ELECTION_POLL_MS = 1_000;

/** udebug against every db server's ptserver (7002) and vlserver (7003): who answers, who is sync site. */
async function quorum(x: CheckCtx, from: string | undefined, dbservers: string[]): Promise<CheckResult> {
  const src = from && x.L.reg.guests[from] ? from : dbservers.find((d) => x.L.reg.guests[d]);
  if (!src) return fail('no db server guest is up');
  const t0 = Date.now();
  for (let probes = 1; ; probes++) {
    const { problems, detail } = await probeQuorum(x, src, dbservers);
    if (problems.length === 0) {
      const waited = probes > 1 ? ` (settled after ${probes} probes, ${((Date.now() - t0) / 1000).toFixed(1)} s)` : '';
      return pass(`ubik quorum for ptserver and vlserver: one sync site, ${dbservers.length} db server(s)${waited}`, detail);
    }
    const settling = problems.every((p) => !p.includes('quorum lost'));
    if (!settling || Date.now() - t0 > ELECTION_SETTLE_MS) return fail(problems.join('; '), detail);
    await new Promise((res) => setTimeout(res, ELECTION_POLL_MS));
  }
}

async function probeQuorum(x: CheckCtx, src: string, dbservers: string[]): Promise<{ problems: string[]; detail: string }> {
  const { r, L } = x;
  const need = Math.floor(dbservers.length / 2) + 1;
  const lines: string[] = [];
  const problems: string[] = [];
  for (const [port, svc] of [[7002, 'ptserver'], [7003, 'vlserver']] as const) {
    let answering = 0;
    const syncSites = new Set<string>();
    for (const d of dbservers) {
      const g = L.reg.guests[d];
      if (!g) { lines.push(`${svc} ${d}: guest is down`); continue; }
      const u = await r.inNetns(L.guest(src).ns, 'udebug', [g.ip, String(port)], { timeoutMs: 10_000 });
      if (u.code !== 0 || !/Local db version/.test(u.stdout)) { lines.push(`${svc} ${d} (${g.ip}): no answer`); continue; }
      answering++;
      if (/I am sync site/.test(u.stdout)) syncSites.add(g.ip);
      const sync = /I am sync site[^\n]*|I am not sync site/.exec(u.stdout)?.[0] ?? '';
      lines.push(`${svc} ${d} (${g.ip}): ${sync}${/Recovery state (\S+)/.exec(u.stdout)?.[0] ? `, ${/Recovery state (\S+)/.exec(u.stdout)![0]}` : ''}`);
    }
    if (answering < need) problems.push(`${svc}: quorum lost, ${answering} of ${dbservers.length} db servers answer (need ${need})`);
    else if (syncSites.size !== 1) problems.push(`${svc}: ${syncSites.size} sync sites (want exactly one)`);
  }
  return { problems, detail: lines.join('\n') };
}

/**
 * bos status says what bosserver believes; each instance then answers an RPC of its own (ubik's
 * debug call to ptserver and vlserver, Rx to the file and volume servers): a frozen or hung server
 * fails here even while bosserver still reports it "running normally".
 */
async function bosInstances(x: CheckCtx, s: string): Promise<CheckResult> {
  const { r, L } = x;
  if (!bosPid(L, s)) return fail(`no bosserver on ${s}`);
  const st = await admin(r, L, s, 'bos', ['status', L.ipOf(s), '-long']);
  const inst = [...st.stdout.matchAll(/^Instance (\S+), \(type is \S+\) (.*)$/gm)];
  if (st.code !== 0 || !inst.length) return fail(`bos status ${s} failed`, st.out);
  const bad = inst.filter((m) => !/currently running normally/.test(m[2] ?? ''));
  if (bad.length) return fail(`on ${s}: ${bad.map((m) => `${m[1]} ${m[2]}`).join('; ')}`, st.stdout);
  const probes = (await Promise.all(inst.map((m) => probeInstance(r, L, s, m[1]!)))).flat();
  const detail = [st.stdout, ...probes.map((p) => `${p.cmd} ${L.ipOf(s)} ${p.port} (${p.process}): ${p.ok ? 'answers' : `no answer: ${lastLines(p.out, 2)}`}`)].join('\n');
  const silent = probes.filter((p) => !p.ok);
  if (silent.length) return fail(`on ${s}: bos says running, but ${silent.map((p) => `${p.process} (port ${p.port})`).join(', ')} does not answer`, detail);
  return pass(`on ${s}: ${inst.map((m) => m[1]).join(', ')} running, and ${probes.map((p) => p.process).join(', ')} answer`, detail);
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
  const t = await getToken(x.r, x.L, guest, adminUser[1].principal, x.password(adminUser[1].principal));
  return { ...t, name: adminUser[0] };
}

/**
 * The token is proved by a server accepting it: an authenticated FetchStatus at the fileserver of
 * root.cell. A fileserver that cannot decrypt the ticket (say, after `kadmin cpw -randkey afs/<cell>`)
 * refuses it with an rxkad error, and the cache manager discards the token.
 */
async function tokens(x: CheckCtx, guest: string, principal: string): Promise<CheckResult> {
  const missing = helperMissing();
  if (missing) return skip(`${TOKEN_NOTE}; not available here: ${missing}`);
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  const t = await getToken(x.r, x.L, guest, principal, x.password(principal));
  if (!t.ok) return fail(t.message, t.detail);
  try {
    const at = `/afs/${x.L.cell}/.`;
    const held = await uafs(x.r, x.L, guest, t.file, ['tokens', at]);
    const refused = rxkadRefusal(held.out);
    if (refused) return fail(`the fileserver refused ${principal}'s token: ${refused}`, held.out);
    const m = /AFS ID (-?\d+) tokens for afs@(\S+) kvno (\d+)/.exec(held.stdout);
    if (held.code !== 0 || !m) return fail(`${principal}'s token: ${noAnswer(held.out) ?? 'not kept after a call to the fileserver'}`, held.out);
    const user = names.ptsUser(principal);
    const ex = await admin(x.r, x.L, dbGuest(x.L), 'pts', ['examine', user]);
    const id = /id: (-?\d+)/.exec(ex.stdout)?.[1];
    if (id !== m[1]) return fail(`token AFS ID ${m[1]} does not match pts id ${id ?? '?'} of ${user}`, held.stdout);
    return pass(`${principal}: the fileserver accepted the rxkad token from aklog (AFS ID ${m[1]}, an authenticated FetchStatus of ${at})`, `${TOKEN_NOTE}.\n${held.stdout}`);
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
  const t = await getToken(x.r, x.L, guest, principal, x.password(principal));
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
