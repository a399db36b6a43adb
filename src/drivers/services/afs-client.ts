// The AFS client side through a guest's kernel cache manager (openafs.ko + afsd): each user's work
// runs in a fresh PAG (pagsh), after a real kinit and aklog, so the tokens are the kernel's own and
// two principals never share them. fs commands are Debian's own (real pioctls). Used by the qemu
// driver's checks; a per-feature addition (fs setacl, a write as some user) is one session here.
import { randomBytes } from 'node:crypto';
import type { Check, CheckResult } from '../driver.js';
import { names } from '../../plan/addrs.js';
import { dbPlace } from './afs-db.js';
import { admin } from './afs-servers.js';
import { fail, pass, skip, str } from './checks.js';
import { writeKrb5Conf } from './kerberos.js';
import type { Placement, Services } from './placement.js';
import { lastLines, shq } from './util.js';

export interface Step { ok: boolean; code: number; out: string }
export interface Session { login?: string; steps: Step[]; all: string }

const MARK = '@@cellctl-step';
const SESSION_MS = 90_000;

/**
 * Runs commands in a fresh PAG on the guest as `principal` (kinit with the password on stdin, then
 * aklog), or anonymously (no principal: no tokens at all). Every command runs, each one's output
 * and exit status are returned; a failed login is `login`, and then no command runs.
 */
export async function session(x: Services, p: Placement, who: { principal: string; password: string } | undefined, cmds: string[][]): Promise<Session> {
  const cc = `FILE:${p.paths.tmp}/krb5cc_cellctl_${randomBytes(4).toString('hex')}`;
  const q = (args: string[]) => args.map(shq).join(' ');
  const lines = [
    `step() { n=$1; shift; printf '\\n${MARK} %s begin\\n' "$n"; "$@" 2>&1; rc=$?; printf '\\n${MARK} %s end %s\\n' "$n" "$rc"; return $rc; }`,
    ...(who ? [`step login sh -c ${shq(`kinit ${shq(`${who.principal}@${x.realm}`)} >/dev/null && aklog -c ${shq(x.cell)} -k ${shq(x.realm)}`)} || exit 3`] : []),
    ...cmds.map((c, i) => `step ${i} ${q(c)}`),
    ...(who ? ['unlog; kdestroy -q 2>/dev/null; true'] : []),
  ];
  if (who) await writeKrb5Conf(x, p);
  const r = await p.run('pagsh', ['-c', lines.join('\n')], {
    env: { KRB5CCNAME: cc, KRB5_CONFIG: p.paths.krb5Conf }, input: who ? `${who.password}\n` : '', timeoutMs: SESSION_MS,
  });
  const all = r.out;
  const steps: Step[] = [];
  let login: string | undefined;
  const re = new RegExp(`${MARK} (\\S+) begin\\n([\\s\\S]*?)\\n${MARK} \\1 end (\\d+)`, 'g');
  for (const m of all.matchAll(re)) {
    const out = m[2]!.trim();
    const code = Number(m[3]);
    if (m[1] === 'login') { if (code !== 0) login = out || `exit ${code}`; continue; }
    steps[Number(m[1])] = { ok: code === 0, code, out };
  }
  if (r.code === 124) login ??= `the session did not finish within ${SESSION_MS / 1000} s`;
  if (/setpag|pagsh:/.test(all.split(MARK)[0] ?? '')) login ??= `pagsh could not make a PAG: ${lastLines(all.split(MARK)[0]!, 2)}`;
  for (let i = 0; i < cmds.length; i++) steps[i] ??= { ok: false, code: -1, out: login ? 'not run' : `no output (${lastLines(all, 2)})` };
  return { ...(login ? { login } : {}), steps, all };
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
  switch (c.kind) {
    case 'client-tokens': {
      const principal = str(c.params.principal, 'principal');
      const s = await session(x, p(), user(x, pw, principal), [['tokens'], ['fs', 'flushvolume', at], ['fs', 'examine', at], ['tokens']]);
      if (s.login) return fail(`kinit + aklog as ${principal} failed: ${s.login}`, s.all);
      const [before, , examine, after] = s.steps as [Step, Step, Step, Step];
      const got = tokenLine(before.out, x.cell);
      if (!got) return fail(`aklog ran, but tokens lists no token for ${x.cell}`, before.out);
      const kept = tokenLine(after.out, x.cell);
      if (!kept) return fail(`the fileserver refused ${principal}'s token: the kernel client discarded it after an authenticated call (fs examine ${at})`, `${examine.out}\n${after.out}`);
      const pu = names.ptsUser(principal);
      const ex = await admin(x, await dbPlace(x), 'pts', ['examine', pu]);
      const id = /id: (-?\d+)/.exec(ex.stdout)?.[1];
      if (id !== kept.id) return fail(`token AFS ID ${kept.id} does not match pts id ${id ?? '?'} of ${pu}`, after.out);
      return pass(`${principal}: the kernel client holds an rxkad token from aklog (AFS ID ${kept.id}) and kept it after an authenticated call to the fileserver (fs examine ${at})`, `${after.out}\n${examine.out}`);
    }
    case 'afs-resolves': {
      const path = str(c.params.path, 'path');
      // checkvolumes drops the volume locations: the examine that follows asks the VLDB, then the fileserver.
      const s = await session(x, p(), undefined, [['fs', 'checkvolumes'], ['fs', 'examine', path], ['fs', 'whereis', path]]);
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
      const s = await session(x, p(), undefined, [['fs', 'flushvolume', dir], ['fs', 'getcalleraccess', dir], ['sh', '-c', 'echo cellctl-anonymous >"$1"', 'sh', path]]);
      const [, access, write] = s.steps as [Step, Step, Step];
      if (write.ok) {
        return fail(`anonymous write to ${path} was accepted: system:anyuser may insert in ${dir}`, s.all);
      }
      if (denied(write)) return pass(`anonymous write to ${path} refused (EACCES): ${lastLines(access.out, 1) || `no rights in ${dir}`}, per the fileserver's ACL fetched afresh`, s.all);
      return fail(`anonymous write to ${path} failed, but not as a refusal: ${lastLines(write.out, 1)}`, s.all);
    }
    case 'client-file-rw': {
      const principal = str(c.params.principal, 'principal');
      const path = str(c.params.path, 'path');
      const content = `cellctl ${principal} ${new Date().toISOString()} ${randomBytes(4).toString('hex')}`;
      const s = await session(x, p(), user(x, pw, principal), [
        ['sh', '-c', 'printf "%s\\n" "$1" >"$2"', 'sh', content, path], ['fs', 'flush', path], ['cat', path], ['rm', '-f', path],
      ]);
      if (s.login) return fail(`kinit + aklog as ${principal} failed: ${s.login}`, s.all);
      const [write, , read] = s.steps as [Step, Step, Step];
      if (!write.ok) return fail(`write of ${path} as ${principal} failed: ${lastLines(write.out, 1)}`, s.all);
      if (!read.ok || read.out !== content) return fail(`read-back of ${path} after fs flush differs or failed`, s.all);
      return pass(`${principal} wrote ${path} and read it back after fs flush (from the fileserver), with the kernel client's token`, s.all);
    }
    case 'client-acl-list': {
      const principal = str(c.params.principal, 'principal');
      const path = str(c.params.path, 'path');
      const s = await session(x, p(), user(x, pw, principal), [['fs', 'flushvolume', path], ['fs', 'listacl', path]]);
      if (s.login) return fail(`kinit + aklog as ${principal} failed: ${s.login}`, s.all);
      const la = s.steps[1]!;
      const entries = aclEntries(la.out);
      if (!la.ok || !entries.length) return fail(`fs listacl ${path} as ${principal}: ${lastLines(la.out, 2)}`, s.all);
      return pass(`fs listacl ${path}: ${entries.map((e) => `${e.name} ${e.rights}`).join(', ')} (the fileserver's ACL, fetched afresh)`, la.out);
    }
    case 'client-acl-write':
      return aclWrite(x, p(), c, pw);
    case 'client-quota': {
      const path = str(c.params.path, 'path');
      const s = await session(x, p(), undefined, [['fs', 'listquota', path]]);
      const q = s.steps[0]!;
      const m = /^(\S+)\s+(\d+|no limit)\s+(\d+)\s+(\d+%)\s+(\d+%)/m.exec(q.out);
      if (!q.ok || !m) return fail(`fs listquota ${path}: ${lastLines(q.out, 2)}`, q.out);
      const want = typeof c.params.volume === 'string' ? c.params.volume : undefined;
      if (want && m[1] !== want) return fail(`fs listquota ${path} names volume ${m[1]}, expected ${want}`, q.out);
      return pass(`fs listquota ${path}: volume ${m[1]}, quota ${m[2]} KB, ${m[3]} KB used (${m[4]}), partition ${m[5]} full`, q.out);
    }
    case 'client-servers': {
      const s = await session(x, p(), undefined, [['fs', 'checkservers'], ['fs', 'getserverprefs']]);
      const [check, prefs] = s.steps as [Step, Step];
      const known = prefs.out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((h): h is string => !!h);
      if (!check.ok || !/All servers are running/.test(check.out)) return fail(`fs checkservers: ${lastLines(check.out, 2)}`, s.all);
      const fileservers = Array.isArray(c.params.fileservers) ? c.params.fileservers.map(String) : [];
      const unknown = fileservers.filter((f) => { const ip = x.addressOf(f); return !ip || !known.includes(ip); });
      const also = unknown.length ? `; not contacted yet, so not asked: ${unknown.join(', ')}` : '';
      return pass(`fs checkservers: all servers are running (${known.length} known: ${known.join(', ') || 'none'})${also}`, s.all);
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
 * had none there), system:administrators only rl. Then `allowed` writes and reads back, `refused`
 * (the administrator) is refused by the fileserver's ACL. Everything is undone after, also on failure.
 */
async function aclWrite(x: Services, p: Placement, c: Check, pw: (principal: string) => string): Promise<CheckResult> {
  const [adminP, allowed, refused, dir] = [str(c.params.admin, 'admin'), str(c.params.allowed, 'allowed'), str(c.params.refused, 'refused'), str(c.params.dir, 'dir')];
  const parent = dir.replace(/\/[^/]+$/, '');
  const who = names.ptsUser(allowed);
  const had = `${p.paths.tmp}/cellctl-acl-had`;
  // The allowed user needs l on the parent to reach the directory: what it had is kept, to be put back.
  const grant = `r=$(fs listacl "$1" | awk -v u="$2" '$1 == u { print $2 }'); printf '%s\\n' "$r" >"$3"; case "$r" in *l*) ;; *) fs setacl -dir "$1" -acl "$2" "\${r}l" ;; esac; echo "$2 had '$r'"`;
  const restore = `r=$(cat "$3" 2>/dev/null); rm -f "$3"; fs setacl -dir "$1" -acl "$2" "\${r:-none}"`;
  const setup = await session(x, p, user(x, pw, adminP), [
    ['sh', '-c', grant, 'sh', parent, who, had],
    ['mkdir', '-p', dir],
    ['fs', 'setacl', '-dir', dir, '-acl', who, 'rlidwk', 'system:administrators', 'rl', '-clear'],
    ['fs', 'listacl', dir],
  ]);
  const detail = [setup.all];
  try {
    if (setup.login) return fail(`kinit + aklog as ${adminP} failed: ${setup.login}`, setup.all);
    const bad = setup.steps.findIndex((s) => !s.ok);
    if (bad >= 0) return fail(`setting up ${dir} as ${adminP} failed: ${lastLines(setup.steps[bad]!.out, 2)}`, setup.all);
    const file = (u: string) => `${dir}/by-${names.ptsUser(u)}.txt`;
    const write = (u: string) => ['sh', '-c', 'printf "%s\\n" "$1" >"$2"', 'sh', `cellctl ${u}`, file(u)];
    const a = await session(x, p, user(x, pw, allowed), [['fs', 'flushvolume', dir], write(allowed), ['fs', 'flush', file(allowed)], ['cat', file(allowed)]]);
    const r = await session(x, p, user(x, pw, refused), [['fs', 'flushvolume', dir], ['fs', 'getcalleraccess', dir], write(refused)]);
    detail.push(a.all, r.all);
    if (a.login || r.login) return fail(`kinit + aklog failed: ${a.login ?? r.login}`, detail.join('\n'));
    if (!a.steps[1]!.ok) return fail(`${allowed} (rlidwk on ${dir}) could not write there: ${lastLines(a.steps[1]!.out, 1)}`, detail.join('\n'));
    if (a.steps[3]!.out !== `cellctl ${allowed}`) return fail(`${allowed}'s file in ${dir} did not read back after fs flush`, detail.join('\n'));
    if (r.steps[2]!.ok) return fail(`${refused} wrote in ${dir} although the ACL gives system:administrators only rl`, detail.join('\n'));
    if (!denied(r.steps[2]!)) return fail(`${refused}'s write in ${dir} failed, but not as a refusal: ${lastLines(r.steps[2]!.out, 1)}`, detail.join('\n'));
    return pass(`fs setacl ${dir} ${who} rlidwk system:administrators rl: ${allowed} wrote and read back, ${refused} was refused (EACCES; ${lastLines(r.steps[1]!.out, 1)})`, detail.join('\n'));
  } finally {
    const undo = await session(x, p, user(x, pw, adminP), [
      ['fs', 'setacl', '-dir', dir, '-acl', 'system:administrators', 'all'], ['rm', '-rf', dir], ['sh', '-c', restore, 'sh', parent, who, had],
    ]);
    if (undo.login || undo.steps.some((s) => !s.ok)) x.log(`${c.id}: undoing ${dir} as ${adminP} did not finish: ${lastLines(undo.all, 3)}`);
  }
}

/** Why a client check cannot run on a client without pioctl (afsd.fuse): said by the netns driver. */
export const NO_PIOCTL = 'afsd.fuse implements no pioctl, so fs commands do not work there';
export const skipNoPioctl = (what: string): CheckResult => skip(`${what}: ${NO_PIOCTL}`);
