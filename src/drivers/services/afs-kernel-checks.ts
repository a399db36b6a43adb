// The cell file v2 checks through a guest's kernel cache manager, each user in a PAG of their own
// with real tokens (afs-client.ts's session): an ACL letting one user write and refusing another,
// a write over a quota refused (EDQUOT), a read-only clone serving what vos release gave it, a mount
// point reaching its volume. The files they write are removed afterwards.
import { randomBytes } from 'node:crypto';
import type { Check, CheckResult } from '../driver.js';
import { cmd, session, type Step } from './afs-client.js';
import { volPlace } from './afs-admin.js';
import { admin } from './afs-servers.js';
import { fail, pass, skip, str } from './checks.js';
import type { Placement, Services } from './placement.js';
import { lastLines, shq } from './util.js';

type Pw = (principal: string) => string;
const as = (pw: Pw, principal: string) => ({ principal, password: pw(principal) });
const denied = (s: Step, why: RegExp) => !s.ok && why.test(s.out);
const write = (path: string, text: string) => `printf '%s\\n' ${shq(text)} >${shq(path)}`;
const login = (parts: { login?: string }[]) => parts.find((q) => q.login)?.login;

/** A v2 check on the kernel client of the check's guest, or undefined when the kind is not one of these. */
export function kernelAccessCheck(x: Services, c: Check, pw: Pw): Promise<CheckResult> | undefined {
  const p = () => x.place(str(c.guest, 'guest'));
  switch (c.kind) {
    case 'acl-write': return aclWrite(x, p(), str(c.params.path, 'path'), str(c.params.allowed, 'allowed'), str(c.params.refused, 'refused'), pw);
    case 'quota-exceeded': return quotaExceeded(x, p(), str(c.params.path, 'path'), Number(c.params.quota_kb), str(c.params.principal, 'principal'), pw);
    case 'ro-release': return roRelease(x, p(), str(c.params.volume, 'volume'), str(c.params.rw_path, 'rw_path'), str(c.params.ro_path, 'ro_path'), str(c.params.principal, 'principal'), pw);
    case 'mount-point': return mountPoint(x, p(), str(c.params.path, 'path'), str(c.params.volume, 'volume'));
    default: return undefined;
  }
}

/** `allowed` writes and reads back after fs flush; `refused` is refused by the fileserver (EACCES); the file is removed. */
async function aclWrite(x: Services, p: Placement, dir: string, allowed: string, refused: string, pw: Pw): Promise<CheckResult> {
  const tag = randomBytes(3).toString('hex');
  const [mine, theirs] = [`${dir}/cellctl-acl-${p.guest}-${tag}.txt`, `${dir}/cellctl-acl-${p.guest}-${tag}-2.txt`];
  const s = await session(x, p, [
    { as: as(pw, allowed), steps: [write(mine, `written by ${allowed}`), cmd('fs', 'flush', mine), cmd('cat', mine), cmd('rm', '-f', mine)] },
    { as: as(pw, refused), steps: [cmd('fs', 'flush', dir), write(theirs, `written by ${refused}`), cmd('fs', 'getcalleraccess', dir), cmd('rm', '-f', theirs)] },
  ]);
  const why = login(s.parts);
  if (why) return fail(`kinit + aklog failed: ${why}`, s.all);
  const [w, , read] = s.parts[0]!.steps as [Step, Step, Step];
  const [, no, access] = s.parts[1]!.steps as [Step, Step, Step];
  if (!w.ok) return fail(`${allowed} may write in ${dir} by its ACL, but: ${lastLines(w.out, 1)}`, s.all);
  if (read.out !== `written by ${allowed}`) return fail(`${allowed}'s file in ${dir} did not read back after fs flush`, s.all);
  if (no.ok) return fail(`${refused} wrote in ${dir}, which its ACL should refuse`, s.all);
  if (!denied(no, /Permission denied/)) return fail(`${refused}'s write in ${dir} failed for another reason: ${lastLines(no.out, 1)}`, s.all);
  return pass(`in ${dir} the fileserver took ${allowed}'s write (read back after fs flush) and refused ${refused}'s: ${lastLines(no.out, 1)} (${lastLines(access.out, 1)})`, s.all);
}

/**
 * A 5-byte write, then a file written until the fileserver refuses it; fsync makes the kernel client
 * store it now. Passes when the refusal is EDQUOT after no more than the quota plus a margin
 * (the fileserver lets a volume overrun its quota by its -spare KB).
 */
const QUOTA_PROBE_EXTRA_KB = 4096;
/** Past this the probe is more than a guest's session writes through its cache in time (90 s; a TCG guest on a busy host). */
const QUOTA_PROBE_MAX_KB = 16 * 1024;
async function quotaExceeded(x: Services, p: Placement, dir: string, quotaKb: number, principal: string, pw: Pw): Promise<CheckResult> {
  if (quotaKb > QUOTA_PROBE_MAX_KB) return skip(`a ${quotaKb} KB quota is more than the kernel client's probe writes in one session (up to ${QUOTA_PROBE_MAX_KB} KB here); apply read its MaxQuota back with vos examine`);
  const small = `${dir}/cellctl-quota-${p.guest}.txt`;
  const big = `${dir}/cellctl-quota-${p.guest}-big`;
  const count = quotaKb + QUOTA_PROBE_EXTRA_KB;
  const s = await session(x, p, [{ as: as(pw, principal), steps: [
    write(small, 'fits'), cmd('dd', 'if=/dev/zero', `of=${big}`, 'bs=1024', `count=${count}`, 'conv=fsync'), cmd('rm', '-f', small, big),
  ] }]);
  const part = s.parts[0]!;
  if (part.login) return fail(`kinit + aklog as ${principal} failed: ${part.login}`, s.all);
  const [ok, dd] = part.steps as [Step, Step];
  if (!ok.ok) return fail(`a 5-byte write in ${dir} as ${principal} failed: ${lastLines(ok.out, 1)}`, s.all);
  if (dd.ok) return fail(`a ${count} KB write in ${dir} was accepted: the ${quotaKb} KB quota is not enforced`, s.all);
  if (!/Disk quota exceeded/.test(dd.out)) return fail(`the ${count} KB write failed for another reason: ${lastLines(dd.out, 1)}`, s.all);
  const copied = /^(\d+) bytes/m.exec(dd.out)?.[1];
  return pass(`${principal} wrote 5 bytes in ${dir}; a ${count} KB file past the ${quotaKb} KB quota was refused by the fileserver (${lastLines(dd.out.split('\n').filter((l) => /quota/.test(l)).join('\n'), 1)}${copied ? `; ${Math.round(Number(copied) / 1024)} KB taken before` : ''})`, s.all);
}

/** Writes in the RW, reads the RO before and after a real vos release; leaves both as they were (removed, released again). */
async function roRelease(x: Services, p: Placement, volume: string, rw: string, ro: string, principal: string, pw: Pw): Promise<CheckResult> {
  const name = `cellctl-release-${p.guest}-${randomBytes(3).toString('hex')}.txt`;
  const data = `released ${new Date().toISOString()}`;
  const release = async () => admin(x, await volPlace(x, volume), 'vos', ['release', volume], 120_000);
  // the client learns of a new RO version from the VLDB and the fileserver: its cached volume data dropped first
  const fresh = [cmd('fs', 'checkvolumes'), cmd('fs', 'flushvolume', ro)];
  const who = as(pw, principal);
  try {
    const a = await session(x, p, [{ as: who, steps: [write(`${rw}/${name}`, data), ...fresh, cmd('cat', `${ro}/${name}`)] }]);
    const pa = a.parts[0]!;
    if (pa.login) return fail(`kinit + aklog as ${principal} failed: ${pa.login}`, a.all);
    if (!pa.steps[0]!.ok) return fail(`write in ${volume}'s RW (${rw}) as ${principal}: ${lastLines(pa.steps[0]!.out, 1)}`, a.all);
    if (pa.steps[3]!.ok) return fail(`${ro}/${name} was readable before vos release: ${ro} does not reach a read-only clone`, a.all);
    const rel = await release();
    if (rel.code !== 0) return fail(`vos release ${volume} failed`, rel.out);
    const b = await session(x, p, [{ as: who, steps: [
      ...fresh, cmd('cat', `${ro}/${name}`), write(`${rw}/${name}`, 'a later write'), ...fresh, cmd('cat', `${ro}/${name}`), write(`${ro}/${name}`, 'x'),
    ] }]);
    const pb = b.parts[0]!;
    if (pb.login) return fail(`kinit + aklog as ${principal} failed: ${pb.login}`, b.all);
    const [after, later, still, roWrite] = [pb.steps[2]!, pb.steps[3]!, pb.steps[6]!, pb.steps[7]!];
    if (!after.ok || after.out !== data) return fail(`after vos release ${volume}, ${ro}/${name}: ${after.ok ? 'other content' : lastLines(after.out, 1)}`, b.all);
    if (!later.ok || !still.ok || still.out !== data) return fail(`the RO clone changed after a later write to the RW (${still.ok ? 'shows the new content' : lastLines(still.out, 1)})`, b.all);
    if (!denied(roWrite, /Read-only file system/)) return fail(`a write to ${ro} was not refused as read-only: ${roWrite.ok ? 'accepted' : lastLines(roWrite.out, 1)}`, b.all);
    return pass(`${ro} serves ${volume}.readonly: not the new file before vos release, the released content after it, not a later write to the RW; writes there: ${lastLines(roWrite.out, 1)}`, b.all);
  } finally {
    await session(x, p, [{ as: who, steps: [cmd('rm', '-f', `${rw}/${name}`)] }]);
    await release();
  }
}

/** fs lsmount on the entry, then the volume a lookup through it reaches (fs examine: GetVolumeStatus), anonymously. */
async function mountPoint(x: Services, p: Placement, path: string, want: string): Promise<CheckResult> {
  const s = await session(x, p, [{ steps: [cmd('fs', 'checkvolumes'), cmd('fs', 'lsmount', path), cmd('fs', 'examine', path)] }]);
  const [, ls, ex] = s.parts[0]!.steps as [Step, Step, Step];
  if (!ls.ok) return fail(`'${path}' is not a mount point: ${lastLines(ls.out, 1)}`, s.all);
  const reached = /Volume status for vid = (\d+) named (\S+)/.exec(ex.out);
  if (!ex.ok || !reached) return fail(`${lastLines(ls.out, 1)}, but it reaches no volume: ${lastLines(ex.out, 1)}`, s.all);
  if (reached[2] !== want) return fail(`${path} reaches ${reached[2]}, expected ${want} (${lastLines(ls.out, 1)})`, s.all);
  return pass(`${lastLines(ls.out, 1)}; it reaches ${reached[2]} (${reached[1]})`, s.all);
}
