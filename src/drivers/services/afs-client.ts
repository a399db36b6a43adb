// The AFS client side through a guest's kernel cache manager (openafs.ko + afsd): each user's work
// runs in a fresh PAG (pagsh), after a real kinit and aklog, so the tokens are the kernel's own and
// two principals never share them. fs commands are Debian's own (real pioctls). Used by the qemu
// driver's checks; a per-feature addition (fs setacl, a write as some user) is one session here.
import { randomBytes } from 'node:crypto';
import type { Check, CheckResult } from '../driver.js';
import { names } from '../../plan/addrs.js';
import { fail, pass, skip, str } from './checks.js';
import { writeKrb5Conf } from './kerberos.js';
import type { Placement, Services } from './placement.js';
import { lastLines, shq } from './util.js';

export interface Step { ok: boolean; code: number; out: string }
export interface Part { login?: string; steps: Step[] }
export interface Session { parts: Part[]; all: string }
type Who = { principal: string; password: string } | undefined;

const MARK = '@@cellctl-step';
const SESSION_MS = 90_000;

/** A command line for a session step (each word quoted). */
export const cmd = (...args: string[]) => args.map(shq).join(' ');

/**
 * Runs parts one after the other on the guest, in one request, each in a fresh PAG: as `as` (kinit
 * with the password on stdin, then aklog) or anonymously (no principal: no tokens at all). Every
 * step of a part runs (a shell command line); each one's output and exit status are returned. A
 * part whose login failed has `login` set and runs no step.
 */
export async function session(x: Services, p: Placement, parts: { as?: Who; steps: string[] }[]): Promise<Session> {
  const tag = randomBytes(4).toString('hex');
  const scripts = parts.map((part, i) => {
    const who = part.as;
    return [
      `step() { printf '\\n${MARK} %s begin\\n' "$1"; eval "$2" 2>&1; rc=$?; printf '\\n${MARK} %s end %s\\n' "$1" "$rc"; return $rc; }`,
      ...(who ? [
        `export KRB5CCNAME=FILE:${p.paths.tmp}/krb5cc_cellctl_${tag}_${i}`,
        `step ${i}.login ${shq(`kinit ${shq(who.principal.includes('@') ? who.principal : `${who.principal}@${x.realm}`)} >/dev/null && aklog -c ${shq(x.cell)} -k ${shq(x.realm)}`)} || exit 3`,
      ] : []),
      ...part.steps.map((c, j) => `step ${i}.${j} ${shq(c)}`),
      ...(who ? ['kdestroy -q 2>/dev/null; true'] : []),
    ].join('\n');
  });
  if (parts.some((q) => q.as)) await writeKrb5Conf(x, p);
  const input = parts.flatMap((q) => (q.as ? [`${q.as.password}\n`] : [])).join('');
  const o = { env: { KRB5_CONFIG: p.paths.krb5Conf }, input, timeoutMs: SESSION_MS };
  // one part: pagsh runs it; more: a shell runs one pagsh per part (the passwords follow on stdin)
  const r = scripts.length === 1
    ? await p.run('pagsh', ['-c', scripts[0]!], o)
    : await p.run('sh', ['-c', scripts.map((_, i) => `pagsh -c "$${i + 1}"`).join('; '), 'sh', ...scripts], o);
  const all = r.out;
  const out: Part[] = parts.map(() => ({ steps: [] }));
  const re = new RegExp(`${MARK} (\\d+)\\.(\\w+) begin\\n([\\s\\S]*?)\\n${MARK} \\1\\.\\2 end (\\d+)`, 'g');
  for (const m of all.matchAll(re)) {
    const part = out[Number(m[1])];
    if (!part) continue;
    const [text, code] = [m[3]!.trim(), Number(m[4])];
    if (m[2] === 'login') { if (code !== 0) part.login = text || `exit ${code}`; continue; }
    part.steps[Number(m[2])] = { ok: code === 0, code, out: text };
  }
  const failedEarly = r.code === 124 ? `the session did not finish within ${SESSION_MS / 1000} s` : /setpag|pagsh:/.test(all.split(MARK)[0] ?? '') ? `pagsh could not make a PAG: ${lastLines(all.split(MARK)[0]!, 2)}` : undefined;
  parts.forEach((q, i) => {
    const part = out[i]!;
    if (failedEarly && q.as && !part.login && !part.steps.length) part.login = failedEarly;
    for (let j = 0; j < q.steps.length; j++) part.steps[j] ??= { ok: false, code: -1, out: part.login ? 'not run' : failedEarly ?? `no output (${lastLines(all, 2)})` };
  });
  return { parts: out, all };
}

/** One part's session: its steps, and why its login failed. */
async function one(x: Services, p: Placement, as: Who, steps: string[]): Promise<Part & { all: string }> {
  const s = await session(x, p, [{ as, steps }]);
  return { ...s.parts[0]!, all: s.all };
}

const user = (x: Services, pw: (p: string) => string, principal: string) => ({ principal, password: pw(principal) });
const denied = (s: Step) => /Permission denied/.test(s.out);

/** The token line of `tokens` for the cell: AFS ID and the cell, or undefined. */
function tokenLine(out: string, cell: string): { id: string; line: string } | undefined {
  const line = out.split('\n').find((l) => new RegExp(`tokens for (afs@)?${cell.replace(/\./g, '\\.')}\\b`).test(l));
  const id = line ? /AFS ID (-?\d+)/.exec(line)?.[1] : undefined;
  return line && id ? { id, line: line.trim() } : undefined;
}

/** A check of the AFS client in a guest with the kernel client, or undefined when the kind is not one of these. */
export async function kernelClientCheck(x: Services, c: Check, pw: (principal: string) => string): Promise<CheckResult | undefined> {
  const p = () => x.place(str(c.guest, 'guest'));
  const at = `/afs/${x.cell}`;
  const as = (key: string) => user(x, pw, str(c.params[key], key));
  switch (c.kind) {
    case 'client-tokens':
    case 'cross-realm-token': { // another realm's user: its KDC's TGT, the trust's krbtgt, then afs/<cell> from the cell's KDC
      const principal = str(c.params.principal, 'principal');
      const pu = names.ptsUser(principal);
      // fs examine asks the fileserver (GetVolumeStatus) over a connection with the new token
      const s = await one(x, p(), as('principal'), [cmd('fs', 'examine', at), 'tokens', cmd('pts', 'examine', pu)]);
      if (s.login) return fail(`kinit + aklog as ${principal} failed: ${s.login}`, s.all);
      const [examine, after, ex] = s.steps as [Step, Step, Step];
      const kept = tokenLine(after.out, x.cell);
      if (!kept) return fail(`${principal}'s token is not listed after an authenticated call to the fileserver (fs examine ${at}): refused and discarded, or never set`, `${examine.out}\n${after.out}`);
      const id = /id: (-?\d+)/.exec(ex.out)?.[1];
      if (id !== kept.id) return fail(`token AFS ID ${kept.id} does not match pts id ${id ?? '?'} of ${pu}`, after.out);
      return pass(`${principal}: the kernel client holds an rxkad token from aklog (AFS ID ${kept.id}, as pts says) and kept it after an authenticated call to the fileserver (fs examine ${at})`, `${after.out}\n${examine.out}`);
    }
    case 'afs-resolves': {
      const path = str(c.params.path, 'path');
      // checkvolumes drops the volume locations: the examine that follows asks the VLDB, then the fileserver.
      const s = await one(x, p(), undefined, [cmd('fs', 'checkvolumes'), cmd('fs', 'examine', path), cmd('fs', 'whereis', path)]);
      const [, examine, whereis] = s.steps as [Step, Step, Step];
      const vol = /Volume status for vid = (\d+) named (\S+)/.exec(examine.out);
      if (!examine.ok || !vol) return fail(`fs examine ${path}: ${lastLines(examine.out, 2) || 'no answer'}`, s.all);
      const host = /is on hosts? (.*)$/m.exec(whereis.out)?.[1]?.trim();
      return pass(`${path} is volume ${vol[2]} (${vol[1]}) per the VLDB, on ${host ?? '?'}, whose fileserver answered GetVolumeStatus`, `${examine.out}\n${whereis.out}`);
    }
    case 'client-anon-refused': {
      const path = str(c.params.path, 'path');
      const dir = path.replace(/\/[^/]+$/, '');
      // flushvolume first: the rights the client goes by are then the fileserver's answer, fetched now.
      const s = await one(x, p(), undefined, [cmd('fs', 'flushvolume', dir), `echo cellctl-anonymous >${shq(path)}`, cmd('fs', 'getcalleraccess', dir)]);
      const [, write, access] = s.steps as [Step, Step, Step];
      if (write.ok) return fail(`anonymous write to ${path} was accepted: system:anyuser may insert in ${dir}`, s.all);
      const rights = access.ok ? lastLines(access.out, 1) : `anonymous has no rights on ${dir}`;
      if (denied(write)) return pass(`anonymous write to ${path} refused (EACCES) by the fileserver's ACL, fetched afresh: ${rights}`, s.all);
      return fail(`anonymous write to ${path} failed, but not as a refusal: ${lastLines(write.out, 1)}`, s.all);
    }
    case 'client-file-rw': {
      const principal = str(c.params.principal, 'principal');
      const path = str(c.params.path, 'path');
      const content = `cellctl ${principal} ${new Date().toISOString()} ${randomBytes(4).toString('hex')}`;
      // fs flush drops the cached copy: cat reads it back from the fileserver
      const s = await one(x, p(), as('principal'), [`printf '%s\\n' ${shq(content)} >${shq(path)}`, cmd('fs', 'flush', path), cmd('cat', path), cmd('rm', '-f', path)]);
      if (s.login) return fail(`kinit + aklog as ${principal} failed: ${s.login}`, s.all);
      const [write, , read] = s.steps as [Step, Step, Step];
      if (!write.ok) return fail(`write of ${path} as ${principal} failed: ${lastLines(write.out, 1)}`, s.all);
      if (!read.ok || read.out !== content) return fail(`read-back of ${path} after fs flush differs or failed`, s.all);
      return pass(`${principal} wrote ${path} and read it back after fs flush (from the fileserver), with the kernel client's token`, s.all);
    }
    case 'client-acl-list': {
      const principal = str(c.params.principal, 'principal');
      const path = str(c.params.path, 'path');
      const s = await one(x, p(), as('principal'), [cmd('fs', 'listacl', path)]);
      if (s.login) return fail(`kinit + aklog as ${principal} failed: ${s.login}`, s.all);
      const la = s.steps[0]!;
      const entries = aclEntries(la.out);
      if (!la.ok || !entries.length) return fail(`fs listacl ${path} as ${principal}: ${lastLines(la.out, 2)}`, s.all);
      return pass(`fs listacl ${path} as ${principal}: ${entries.map((e) => `${e.name} ${e.rights}`).join(', ')} (the fileserver's ACL: FetchACL)`, la.out);
    }
    case 'client-acl-write':
      return aclWrite(x, p(), c, pw);
    case 'client-quota': {
      const path = str(c.params.path, 'path');
      const s = await one(x, p(), undefined, [cmd('fs', 'listquota', path)]);
      const q = s.steps[0]!;
      const m = /^(\S+)\s+(\d+|no limit)\s+(\d+)\s+(\d+%)\s+(\d+%)/m.exec(q.out);
      if (!q.ok || !m) return fail(`fs listquota ${path}: ${lastLines(q.out, 2)}`, q.out);
      const want = typeof c.params.volume === 'string' ? c.params.volume : undefined;
      if (want && m[1] !== want) return fail(`fs listquota ${path} names volume ${m[1]}, expected ${want}`, q.out);
      return pass(`fs listquota ${path}: volume ${m[1]}, quota ${m[2]} KB, ${m[3]} KB used (${m[4]}), partition ${m[5]} full (GetVolumeStatus)`, q.out);
    }
    case 'client-servers': {
      const s = await one(x, p(), undefined, [cmd('fs', 'checkservers'), cmd('fs', 'getserverprefs', '-numeric')]);
      const [check, prefs] = s.steps as [Step, Step];
      const known = prefs.out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((h): h is string => !!h && /^[\d.]+$/.test(h));
      if (!check.ok || !/All servers are running/.test(check.out)) return fail(`fs checkservers: ${lastLines(check.out, 2)}`, s.all);
      const fileservers = Array.isArray(c.params.fileservers) ? c.params.fileservers.map(String) : [];
      const unknown = fileservers.filter((f) => { const ip = x.addressOf(f); return !ip || !known.includes(ip); });
      const also = unknown.length ? `; not contacted yet, so not probed: ${unknown.join(', ')}` : '';
      return pass(`fs checkservers: all servers are running (the client knows ${known.length}: ${known.join(', ') || 'none'})${also}`, s.all);
    }
    default:
      return undefined;
  }
}

/** "Normal rights:" entries of `fs listacl` output. */
export function aclEntries(out: string): { name: string; rights: string }[] {
  const normal = out.split(/Negative rights:/)[0] ?? '';
  return [...normal.matchAll(/^ {2}(\S+) ([rlidwkaABCDEFGH]+)$/gm)].map((m) => ({ name: m[1]!, rights: m[2]! }));
}

/**
 * fs setacl as the administrator on a new directory: `allowed` gets rlidwk (and l on its parent if it
 * had none there), system:administrators only rl. Then `refused` (the administrator) is refused by the
 * fileserver's ACL, `allowed` writes and reads back, and the administrator undoes it all: one
 * request, three PAGs.
 */
async function aclWrite(x: Services, p: Placement, c: Check, pw: (principal: string) => string): Promise<CheckResult> {
  const [adminP, allowed, refused, dir] = [str(c.params.admin, 'admin'), str(c.params.allowed, 'allowed'), str(c.params.refused, 'refused'), str(c.params.dir, 'dir')];
  const parent = dir.replace(/\/[^/]+$/, '');
  const who = names.ptsUser(allowed);
  const had = `${p.paths.tmp}/cellctl-acl-had`;
  // The allowed user needs l on the parent to reach the directory: what it had there is kept, and put back.
  const grant = `r=$(fs listacl ${shq(parent)} | awk -v u=${shq(who)} '$1 == u { print $2 }'); echo "$r" >${shq(had)}; case "$r" in *l*) ;; *) fs setacl -dir ${shq(parent)} -acl ${shq(who)} "\${r}l" ;; esac; echo "${who} had '$r' on ${parent}"`;
  const restore = `r=$(cat ${shq(had)}); rm -f ${shq(had)}; fs setacl -dir ${shq(parent)} -acl ${shq(who)} "\${r:-none}"`;
  const file = (u: string) => `${dir}/by-${names.ptsUser(u)}.txt`;
  const write = (u: string) => `printf '%s\\n' ${shq(`cellctl ${u}`)} >${shq(file(u))}`;
  const adminRefused = adminP === refused;
  const s = await session(x, p, [
    { as: user(x, pw, adminP), steps: [grant, cmd('mkdir', '-p', dir), cmd('fs', 'setacl', '-dir', dir, '-acl', who, 'rlidwk', 'system:administrators', 'rl', '-clear'), cmd('fs', 'listacl', dir),
      ...(adminRefused ? [cmd('fs', 'getcalleraccess', dir), write(refused)] : [])] },
    ...(adminRefused ? [] : [{ as: user(x, pw, refused), steps: [cmd('fs', 'getcalleraccess', dir), write(refused)] }]),
    { as: user(x, pw, allowed), steps: [write(allowed), cmd('fs', 'flush', file(allowed)), cmd('cat', file(allowed))] },
    { as: user(x, pw, adminP), steps: [cmd('fs', 'setacl', '-dir', dir, '-acl', 'system:administrators', 'all'), cmd('rm', '-rf', dir), restore] },
  ]);
  const [setup, ...rest] = s.parts as [Part, ...Part[]];
  const [no, yes, undo] = adminRefused ? [{ steps: setup.steps.slice(4), login: setup.login }, rest[0]!, rest[1]!] : [rest[0]!, rest[1]!, rest[2]!];
  if (undo.login || undo.steps.some((q) => !q.ok)) x.log(`${c.id}: undoing ${dir} as ${adminP} did not finish: ${undo.login ?? lastLines(undo.steps.find((q) => !q.ok)!.out, 2)}`);
  const login = [setup, no, yes].find((q) => q.login)?.login;
  if (login) return fail(`kinit + aklog failed: ${login}`, s.all);
  const bad = setup.steps.slice(0, 4).findIndex((q) => !q.ok);
  if (bad >= 0) return fail(`setting up ${dir} as ${adminP} failed: ${lastLines(setup.steps[bad]!.out, 2)}`, s.all);
  const [access, refusedWrite] = no.steps as [Step, Step];
  const [allowedWrite, , readBack] = yes.steps as [Step, Step, Step];
  if (!allowedWrite.ok) return fail(`${allowed} (rlidwk on ${dir}) could not write there: ${lastLines(allowedWrite.out, 1)}`, s.all);
  if (readBack.out !== `cellctl ${allowed}`) return fail(`${allowed}'s file in ${dir} did not read back after fs flush`, s.all);
  if (refusedWrite.ok) return fail(`${refused} wrote in ${dir} although the ACL gives it no write right there`, s.all);
  if (!denied(refusedWrite)) return fail(`${refused}'s write in ${dir} failed, but not as a refusal: ${lastLines(refusedWrite.out, 1)}`, s.all);
  return pass(`fs setacl ${dir} ${who} rlidwk system:administrators rl: ${allowed} wrote and read back, ${refused} was refused (EACCES; ${lastLines(access.out, 1)})`, s.all);
}

/** Why a client check cannot run on a client without pioctl (afsd.fuse): said by the netns driver. */
export const NO_PIOCTL = 'afsd.fuse implements no pioctl, so fs commands do not work there';
export const skipNoPioctl = (what: string): CheckResult => skip(`${what}: ${NO_PIOCTL}`);
