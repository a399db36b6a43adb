// Smoke checks against the real daemons. Each one runs a real protocol exchange from the right
// namespace; a 'skip' always says why. Nothing here prints a password or key.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { CheckResult, Check } from '../driver.js';
import { lastLines, type Runner } from './exec.js';
import type { Layout } from './layout.js';
import { writeKrb5Conf, kdcPid } from './kerberos.js';
import { admin, bosPid } from './afs-servers.js';
import { dbGuest } from './afs-db.js';
import { clientPid, getToken, helperMissing, inClient, kinit, TOKEN_NOTE, uafs } from './client.js';
import { netnsExists } from './namespaces.js';
import { names } from '../../plan/addrs.js';

export interface CheckCtx {
  r: Runner;
  L: Layout;
  password(principal: string): string;
}

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
      const conf = writeKrb5Conf(L, [kdc]);
      const probe = `cellctl-probe-${randomBytes(3).toString('hex')}`;
      const res = await r.inNetns(L.guest(kdc).ns, 'kinit', [`${probe}@${L.realm}`], { env: { KRB5_CONFIG: conf, KRB5CCNAME: 'MEMORY:probe' }, input: 'x\n', timeoutMs: 15_000 });
      rmSync(conf, { force: true });
      if (/not found in Kerberos database/.test(res.out)) return pass(`KDC ${L.ipOf(kdc)} answers for ${L.realm} (AS-REQ for an unknown principal: "client not found")`, res.out);
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
    case 'bos-status': {
      const s = str(guest, 'guest');
      if (!bosPid(L, s)) return fail(`no bosserver on ${s}`);
      const st = await admin(r, L, s, 'bos', ['status', L.ipOf(s), '-long']);
      const inst = [...st.stdout.matchAll(/^Instance (\S+), \(type is \S+\) (.*)$/gm)];
      if (st.code !== 0 || !inst.length) return fail(`bos status ${s} failed`, st.out);
      const bad = inst.filter((m) => !/currently running normally/.test(m[2] ?? ''));
      return bad.length
        ? fail(`on ${s}: ${bad.map((m) => `${m[1]} ${m[2]}`).join('; ')}`, st.stdout)
        : pass(`on ${s}: ${inst.map((m) => m[1]).join(', ')} running normally`, st.stdout);
    }
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

/** /afs/<cell> through afsd.fuse: a real VLDB lookup of root.cell and a fileserver call. */
async function resolves(x: CheckCtx, guest: string, path: string): Promise<CheckResult> {
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  const res = await inClient(x.r, x.L, guest, 'ls', ['-la', path + '/'], { timeoutMs: 30_000 });
  if (res.code === 0) return pass(`${path} lists through afsd.fuse`, res.out);
  // EACCES comes from the fileserver's ACL check: the volume was found and its server answered.
  if (/Permission denied/.test(res.out)) return pass(`${path} resolves through the VLDB to root.cell; the fileserver refuses anonymous listing (ACL enforced)`, res.out);
  return fail(`${path} does not resolve through afsd.fuse`, res.out);
}

async function anonRefused(x: CheckCtx, guest: string, path: string): Promise<CheckResult> {
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  const res = await inClient(x.r, x.L, guest, 'sh', ['-c', 'echo cellctl-anonymous > "$1"', 'sh', path], { timeoutMs: 30_000 });
  if (res.code === 0) {
    await inClient(x.r, x.L, guest, 'rm', ['-f', path]);
    return fail(`anonymous write to ${path} was accepted`);
  }
  if (/Permission denied/.test(res.out)) return pass(`anonymous write to ${path} refused by the fileserver (EACCES)`, res.out);
  return fail(`anonymous write to ${path} failed, but not as a refusal`, res.out);
}

async function tokens(x: CheckCtx, guest: string, principal: string): Promise<CheckResult> {
  const missing = helperMissing();
  if (missing) return skip(`${TOKEN_NOTE}; not available here: ${missing}`);
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  const t = await getToken(x.r, x.L, guest, principal, x.password(principal));
  if (!t.ok) return fail(t.message, t.detail);
  try {
    const held = await uafs(x.r, x.L, guest, t.file, ['tokens']);
    const m = /AFS ID (-?\d+) tokens for afs@(\S+) kvno (\d+)/.exec(held.stdout);
    if (held.code !== 0 || !m) return fail(`the cache manager did not accept the token for ${principal}`, held.out);
    const user = names.ptsUser(principal);
    const ex = await admin(x.r, x.L, dbGuest(x.L), 'pts', ['examine', user]);
    const id = /id: (-?\d+)/.exec(ex.stdout)?.[1];
    if (id !== m[1]) return fail(`token AFS ID ${m[1]} does not match pts id ${id ?? '?'} of ${user}`, held.stdout);
    return pass(`${principal}: rxkad token for afs@${m[2]} (AFS ID ${m[1]}, kvno ${m[3]}) from aklog, held by a libuafs cache manager`, `${TOKEN_NOTE}.\n${held.stdout}`);
  } finally {
    if (t.file) rmSync(t.file, { force: true });
  }
}

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
    if (w.code !== 0 && /Permission denied/.test(w.out)) {
      // A non-admin user has no rights on a fresh root.cell: an administrator grants them, as one would by hand.
      const dir = path.replace(/\/[^/]+$/, '');
      const adminUser = Object.entries(x.L.reg.ptsUsers).find(([, u]) => u.admin);
      if (!adminUser) return fail(`${principal} may not write in ${dir} and the cell has no administrator to grant it`, w.out);
      const at = await getToken(x.r, x.L, guest, adminUser[1].principal, x.password(adminUser[1].principal));
      if (!at.ok) return fail(`administrator token: ${at.message}`, at.detail);
      files.push(at.file!);
      const user = names.ptsUser(principal);
      const set = await uafs(x.r, x.L, guest, at.file, ['setacl', dir, user, '63']); // rlidwk
      if (set.code !== 0) return fail(`${adminUser[0]} could not grant ${user} rlidwk on ${dir}`, set.out);
      notes.push(`${adminUser[0]} granted ${user} rlidwk on ${dir}`);
      w = await uafs(x.r, x.L, guest, t.file, ['write', path], content);
    }
    if (w.code !== 0) return fail(`authenticated write of ${path} as ${principal} failed`, w.out);
    const rd = await uafs(x.r, x.L, guest, t.file, ['read', path]);
    if (rd.code !== 0 || rd.stdout.trim() !== content.trim()) return fail(`read-back of ${path} differs or failed`, rd.out);
    // No anonymous libuafs run here: an anonymous client keeps its callbacks after exit, and the
    // fileserver then waits on the dead client at the next change of the directory.
    await uafs(x.r, x.L, guest, t.file, ['unlink', path]);
    return pass(`${principal} wrote and read back ${path} with an rxkad token${notes.length ? ` (${notes.join('; ')})` : ''}`, `${TOKEN_NOTE}.`);
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
}
