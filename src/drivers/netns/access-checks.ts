// The cell file v2 checks against the real fileserver, through cellctl-uafs with real tokens: ACLs
// (a write allowed, one refused), quotas (EDQUOT), read-only clones and vos release, mount points.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { CheckResult } from '../driver.js';
import type { Runner } from './exec.js';
import type { Layout } from './layout.js';
import { admin } from './afs-servers.js';
import { getToken, helperMissing, uafs } from './client.js';

export interface AccessCtx { r: Runner; L: Layout; password(principal: string): string }

const pass = (message: string, detail?: string): CheckResult => ({ status: 'pass', message, ...(detail ? { detail } : {}) });
const fail = (message: string, detail?: string): CheckResult => ({ status: 'fail', message, ...(detail ? { detail } : {}) });
const skip = (message: string): CheckResult => ({ status: 'skip', message });
const noHelper = () => {
  const why = helperMissing();
  return why ? skip(`the fileserver is reached through cellctl-uafs (libuafs), which cannot be built here: ${why}`) : undefined;
};
/** libuafs's own start-up and shutdown lines: never the operation's answer. */
const CHATTER = /^(afs: WARM shutting down|Starting AFS cache scan|afsd: All AFS daemons started|Memory cache)/;
/** The last line the operation printed (its error, when it failed). */
export const last = (out: string) => out.split('\n').filter((l) => l.trim() && !CHATTER.test(l)).slice(-1)[0] ?? '';

/** Runs `fn` with a token file for each principal; the files are removed afterwards. */
async function withTokens(x: AccessCtx, guest: string, principals: string[], fn: (tok: Record<string, string>) => Promise<CheckResult>): Promise<CheckResult> {
  const missing = noHelper();
  if (missing) return missing;
  const tok: Record<string, string> = {};
  try {
    for (const p of principals) {
      const t = await getToken(x.r, x.L, guest, p, x.password(p));
      if (!t.ok || !t.file) return fail(`${p}: ${t.message}`, t.detail);
      tok[p] = t.file;
    }
    return await fn(tok);
  } finally {
    for (const f of Object.values(tok)) rmSync(f, { force: true });
  }
}

export function aclWrite(x: AccessCtx, guest: string, dir: string, allowed: string, refused: string): Promise<CheckResult> {
  return withTokens(x, guest, [allowed, refused], async (tok) => {
    const file = `${dir}/cellctl-acl-${guest}.txt`;
    const ok = await uafs(x.r, x.L, guest, tok[allowed], ['write', file], `written by ${allowed}\n`);
    if (ok.code !== 0) return fail(`${allowed} may write in ${dir} by its ACL, but: ${last(ok.out)}`, ok.out);
    const no = await uafs(x.r, x.L, guest, tok[refused], ['write', `${dir}/cellctl-acl-${guest}-2.txt`], `written by ${refused}\n`);
    await uafs(x.r, x.L, guest, tok[allowed], ['unlink', file]);
    if (no.code === 0) {
      await uafs(x.r, x.L, guest, tok[refused], ['unlink', `${dir}/cellctl-acl-${guest}-2.txt`]);
      return fail(`${refused} wrote in ${dir}, which its ACL should refuse`);
    }
    if (!/Permission denied/.test(no.out)) return fail(`${refused}'s write in ${dir} failed for another reason: ${last(no.out)}`, no.out);
    return pass(`in ${dir} the fileserver took ${allowed}'s write and refused ${refused}'s: ${last(no.out)}`, no.out);
  });
}

/** A small write, then one past the quota and the fileserver's spare (the -spare KB it lets a volume overrun by). */
export function quotaExceeded(x: AccessCtx, guest: string, dir: string, quotaKb: number, spareKb: number, principal: string): Promise<CheckResult> {
  return withTokens(x, guest, [principal], async (tok) => {
    const t = tok[principal];
    const small = `${dir}/cellctl-quota-${guest}.txt`;
    const big = `${dir}/cellctl-quota-${guest}-big`;
    const over = quotaKb + spareKb + 1;
    const ok = await uafs(x.r, x.L, guest, t, ['write', small], 'fits\n');
    if (ok.code !== 0) return fail(`a 5-byte write in ${dir} as ${principal} failed: ${last(ok.out)}`, ok.out);
    const probe = await uafs(x.r, x.L, guest, t, ['fill', big, String(over * 1024)]);
    for (const f of [small, big]) await uafs(x.r, x.L, guest, t, ['unlink', f]);
    if (probe.code === 0) return fail(`a ${over} KB write in ${dir} was accepted: the ${quotaKb} KB quota (${spareKb} KB spare) is not enforced`);
    if (!/Disk quota exceeded/.test(probe.out)) return fail(`the ${over} KB write failed for another reason: ${last(probe.out)}`, probe.out);
    return pass(`${principal} wrote 5 bytes in ${dir}; a ${over} KB file, past the ${quotaKb} KB quota and the fileserver's ${spareKb} KB spare, was refused: ${last(probe.out)}`, probe.out);
  });
}

/** Writes in the RW, reads the RO before and after a real vos release; leaves both as they were (removed, released again). */
export function roRelease(x: AccessCtx, guest: string, volume: string, rw: string, ro: string, principal: string, vosOn: string): Promise<CheckResult> {
  return withTokens(x, guest, [principal], async (tok) => {
    const t = tok[principal];
    const name = `cellctl-release-${guest}-${randomBytes(3).toString('hex')}.txt`;
    const data = `released ${new Date().toISOString()}\n`;
    const release = async () => admin(x.r, x.L, vosOn, 'vos', ['release', volume], 120_000);
    try {
      const wr = await uafs(x.r, x.L, guest, t, ['write', `${rw}/${name}`], data);
      if (wr.code !== 0) return fail(`write in ${volume}'s RW (${rw}) as ${principal}: ${last(wr.out)}`, wr.out);
      const before = await uafs(x.r, x.L, guest, t, ['read', `${ro}/${name}`]);
      if (before.code === 0) return fail(`${ro}/${name} was readable before vos release: ${ro} does not reach a read-only clone`);
      const rel = await release();
      if (rel.code !== 0) return fail(`vos release ${volume} failed`, rel.out);
      const after = await uafs(x.r, x.L, guest, t, ['read', `${ro}/${name}`]);
      if (after.code !== 0 || after.stdout.trim() !== data.trim()) return fail(`after vos release ${volume}, ${ro}/${name}: ${after.code === 0 ? 'other content' : last(after.out)}`, after.out);
      const later = await uafs(x.r, x.L, guest, t, ['write', `${rw}/${name}`], 'a later write\n');
      const still = await uafs(x.r, x.L, guest, t, ['read', `${ro}/${name}`]);
      if (later.code !== 0 || still.code !== 0 || still.stdout !== after.stdout) return fail(`the RO clone changed after a later write to the RW (${still.code === 0 ? 'shows the new content' : last(still.out)})`, `${later.out}\n${still.out}`);
      const roWrite = await uafs(x.r, x.L, guest, t, ['write', `${ro}/${name}`], 'x');
      if (roWrite.code === 0 || !/Read-only file system/.test(roWrite.out)) return fail(`a write to ${ro} was not refused as read-only: ${roWrite.code === 0 ? 'accepted' : last(roWrite.out)}`, roWrite.out);
      return pass(`${ro} serves ${volume}.readonly: not the new file before vos release, the released content after it, not a later write to the RW; writes there: ${last(roWrite.out)}`);
    } finally {
      await uafs(x.r, x.L, guest, t, ['unlink', `${rw}/${name}`]);
      await release();
    }
  });
}

/** fs lsmount on the entry, then the volume a lookup through it reaches (VIOCGETVOLSTAT), anonymously. */
export async function mountPoint(x: AccessCtx, guest: string, path: string, want: string): Promise<CheckResult> {
  const missing = noHelper();
  if (missing) return missing;
  const dir = path.slice(0, path.lastIndexOf('/'));
  const name = path.slice(path.lastIndexOf('/') + 1);
  const ls = await uafs(x.r, x.L, guest, undefined, ['lsmount', dir, name]);
  if (ls.code !== 0) return fail(`'${path}' is not a mount point: ${last(ls.out)}`, ls.out);
  const st = await uafs(x.r, x.L, guest, undefined, ['volstat', path]);
  const reached = /^volume (\S+) id (\d+)/m.exec(st.stdout);
  const lsmount = `'${path}' is a mount point for volume '${ls.stdout.trim().replace(/\.$/, '')}'`;
  if (st.code !== 0 || !reached) return fail(`${lsmount}, but it reaches no volume: ${last(st.out)}`, st.out);
  if (reached[1] !== want) return fail(`${path} reaches ${reached[1]}, expected ${want} (${lsmount})`, st.out);
  return pass(`${lsmount}; it reaches ${reached[1]} (${reached[2]})`, st.stdout);
}
