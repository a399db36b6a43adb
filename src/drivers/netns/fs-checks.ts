// The fs commands of a smoke on the netns driver. afsd.fuse implements no pioctl, so `fs` does not
// work there; each check makes the same pioctl through a fresh libuafs cache manager (the library
// afsd.fuse is built on) holding a real aklog token: VIOCGETAL/VIOCSETAL (fs listacl/setacl),
// VIOCGETVOLSTAT (fs listquota), VIOCCKSERV (fs checkservers).
import { rmSync } from 'node:fs';
import type { Check, CheckResult } from '../driver.js';
import { names } from '../../plan/addrs.js';
import { fail, pass, skip, str } from '../services/checks.js';
import { lastLines } from '../services/util.js';
import type { CheckCtx } from './checks.js';
import { clientPid, getToken, helperMissing, uafs } from './client.js';

const VIA = 'through a fresh libuafs cache manager (afsd.fuse has no pioctl for fs)';
const RIGHTS = 'rlidwka'; // PRSFS_READ 1, LOOKUP 8 ... as fs prints them, in fs's order
const BITS: Record<string, number> = { r: 1, w: 2, i: 4, l: 8, d: 16, k: 32, a: 64 };

const letters = (n: number) => [...RIGHTS].filter((ch) => n & BITS[ch]!).join('');
const bits = (s: string) => [...s].reduce((n, ch) => n | (BITS[ch] ?? 0), 0);

/** VIOCGETAL's text ("npos\nnneg\nname\trights\n..."): the positive entries. */
function parseAcl(out: string): { name: string; rights: string }[] {
  const lines = out.split('\n');
  const npos = Number(lines[0]);
  return lines.slice(2, 2 + (Number.isFinite(npos) ? npos : 0)).map((l) => l.split('\t')).map(([name = '', r = '0']) => ({ name, rights: letters(Number(r)) }));
}

export async function fsCheck(x: CheckCtx, c: Check, guest: string): Promise<CheckResult> {
  const missing = helperMissing();
  if (missing) return skip(`fs commands need a cache manager with pioctl; afsd.fuse has none, and the libuafs helper is not available here: ${missing}`);
  if (!clientPid(x.L, guest)) return fail(`afsd.fuse is not running on ${guest}`);
  const files: string[] = [];
  const token = async (principal: string) => {
    const t = await getToken(x.s, x.r, x.L, guest, principal, x.password(principal));
    if (t.file) files.push(t.file);
    if (!t.ok) throw new Error(`${t.message}: ${lastLines(t.detail, 2)}`);
    return t.file!;
  };
  try {
    switch (c.kind) {
      case 'client-acl-list': {
        const path = str(c.params.path, 'path');
        const r = await uafs(x.r, x.L, guest, await token(str(c.params.principal, 'principal')), ['getacl', path]);
        const acl = parseAcl(r.stdout);
        if (r.code !== 0 || !acl.length) return fail(`fs listacl ${path} ${VIA}: ${lastLines(r.out, 2)}`, r.out);
        return pass(`fs listacl ${path}: ${acl.map((e) => `${e.name} ${e.rights}`).join(', ')} (the fileserver's ACL, ${VIA})`, r.stdout);
      }
      case 'client-acl-write':
        return await aclWrite(x, c, guest, token);
      case 'client-quota': {
        const path = str(c.params.path, 'path');
        const r = await uafs(x.r, x.L, guest, undefined, ['quota', path]);
        const [name, quota, used] = r.stdout.trim().split(/\s+/);
        if (r.code !== 0 || !name) return fail(`fs listquota ${path} ${VIA}: ${lastLines(r.out, 2)}`, r.out);
        const want = typeof c.params.volume === 'string' ? c.params.volume : undefined;
        if (want && name !== want) return fail(`fs listquota ${path} names volume ${name}, expected ${want}`, r.out);
        return pass(`fs listquota ${path}: volume ${name}, quota ${quota} KB, ${used} KB used (GetVolumeStatus ${VIA})`, r.stdout);
      }
      case 'client-servers': {
        const r = await uafs(x.r, x.L, guest, undefined, ['checkservers', `/afs/${x.L.cell}/.`]);
        if (r.code !== 0 || !/All servers are running/.test(r.stdout)) return fail(`fs checkservers ${VIA}: ${lastLines(r.out, 2)}`, r.out);
        return pass(`fs checkservers: all servers are running (the servers of /afs/${x.L.cell}, ${VIA})`, r.stdout);
      }
      default:
        return skip(`check kind ${c.kind} is not run by a driver`);
    }
  } catch (e) {
    return fail((e as Error).message);
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
}

/** fs setacl as the administrator: `allowed` gets rlidwk on a new directory, system:administrators rl; then the writes. */
async function aclWrite(x: CheckCtx, c: Check, guest: string, token: (p: string) => Promise<string>): Promise<CheckResult> {
  const [adminP, allowed, refused, dir] = [str(c.params.admin, 'admin'), str(c.params.allowed, 'allowed'), str(c.params.refused, 'refused'), str(c.params.dir, 'dir')];
  const parent = dir.replace(/\/[^/]+$/, '');
  const who = names.ptsUser(allowed);
  const [ta, tw, tr] = [await token(adminP), await token(allowed), await token(refused)];
  const run = (t: string | undefined, op: string[], input?: string) => uafs(x.r, x.L, guest, t, op, input);
  const log: string[] = [];
  const step = async (t: string | undefined, op: string[], input?: string) => {
    const r = await run(t, op, input);
    const said = r.out.split('\n').filter((l) => l.trim() && !/^(afs: WARM|Starting AFS|afsd: All AFS|Memory cache)/.test(l)).join(' | ');
    log.push(`${op.join(' ')}: exit ${r.code}${said ? `: ${said}` : ''}`);
    return r;
  };
  const before = await step(ta, ['getacl', parent]);
  if (before.code !== 0) return fail(`fs listacl ${parent} as ${adminP} ${VIA}: ${lastLines(before.out, 2)}`, log.join('\n'));
  const had = parseAcl(before.stdout).find((e) => e.name === who)?.rights;
  try {
    // the allowed user needs l on the parent to reach the directory
    if (!had?.includes('l')) await step(ta, ['setacl', parent, who, String(bits(`${had ?? ''}l`))]);
    for (const op of [['mkdir', dir], ['setacl', dir, who, String(bits('rlidwk'))], ['setacl', dir, 'system:administrators', String(bits('rl'))]]) {
      const r = await step(ta, op);
      if (r.code !== 0) return fail(`setting up ${dir} as ${adminP} failed (${op[0]}): ${lastLines(r.out, 2)}`, log.join('\n'));
    }
    const file = (u: string) => `${dir}/by-${names.ptsUser(u)}.txt`;
    const w = await step(tw, ['write', file(allowed)], `cellctl ${allowed}\n`);
    if (w.code !== 0) return fail(`${allowed} (rlidwk on ${dir}) could not write there: ${lastLines(w.out, 1)}`, log.join('\n'));
    const rd = await step(tw, ['read', file(allowed)]);
    if (rd.stdout.trim() !== `cellctl ${allowed}`) return fail(`${allowed}'s file in ${dir} did not read back`, log.join('\n'));
    const no = await step(tr, ['write', file(refused)], `cellctl ${refused}\n`);
    if (no.code === 0) return fail(`${refused} wrote in ${dir} although the ACL gives it no write right there`, log.join('\n'));
    if (!/Permission denied/.test(no.out)) return fail(`${refused}'s write in ${dir} failed, but not as a refusal: ${lastLines(no.out, 1)}`, log.join('\n'));
    return pass(`fs setacl ${dir} ${who} rlidwk system:administrators rl ${VIA}: ${allowed} wrote and read back, ${refused} was refused (EACCES)`, log.join('\n'));
  } finally {
    await run(ta, ['setacl', dir, 'system:administrators', String(bits(RIGHTS))]);
    for (const u of [allowed, refused]) await run(ta, ['unlink', `${dir}/by-${names.ptsUser(u)}.txt`]);
    await run(ta, ['rmdir', dir]);
    if (!had?.includes('l')) await run(ta, ['setacl', parent, who, had ? String(bits(had)) : '-1']);
  }
}
