// The smoke checks of cell file v2 on the sim: each does what an administrator would type (aklog as
// two users and write, fill a volume past its quota, vos release and read the clone, kinit in another
// realm and aklog across the trust, cd through a mount point, kinit -k) and passes only on the answer
// that proves the feature.
import type { Check, CheckResult } from '../driver.js';
import type { Attrs } from '../../plan/resources.js';
import { requireDbRead } from './afs.js';
import { aklog, describeToken, tokenAccepted } from './afsclient.js';
import { afsRead, afsRemove, afsResolve, afsWrite, afsWriteSize } from './files.js';
import type { KrbEnv } from './kerberos.js';
import { kinitKeytab } from './realms.js';
import { release } from './volumes.js';
import { excerpt, own, syslogTime, type World } from './world.js';

const pass = (message: string, detail?: string): CheckResult => ({ status: 'pass', message, ...(detail ? { detail } : {}) });
const failed = (message: string, detail?: string): CheckResult => ({ status: 'fail', message, ...(detail ? { detail } : {}) });
const str = (p: Attrs, key: string): string => (typeof p[key] === 'string' ? (p[key] as string) : '');

type CheckFn = (w: World, env: KrbEnv, c: Check) => CheckResult;

/** A token for `principal` on the check's guest, or the failure to show. */
function token(w: World, env: KrbEnv, c: Check, principal: string): CheckResult | null {
  const t = aklog(w, env, c.guest!, principal);
  return t.ok ? null : failed(`no token for ${principal}: ${t.error}`, excerpt(w, c.guest!, 6));
}

export const ACCESS_CHECKS: Partial<Record<Check['kind'], CheckFn>> = {
  'pts-group': (w, _env, c) => {
    const group = str(c.params, 'group');
    let cell: ReturnType<typeof requireDbRead>;
    try {
      cell = requireDbRead(w, `pts membership ${group}`);
    } catch (e) {
      return failed((e as Error).message);
    }
    const g = own(cell.prdb.entries, group);
    if (g?.kind !== 'group') return failed(`pts: User or group doesn't exist so couldn't look up id for ${group}`);
    const want = Array.isArray(c.params.members) ? c.params.members.map(String) : [];
    const missing = want.filter((m) => !g.members.includes(m));
    if (missing.length) return failed(`${group} lacks ${missing.join(', ')} (pts membership: ${g.members.join(', ') || 'no members'})`);
    return pass(`${group} (id ${g.id}, owner ${g.owner ?? 'system:administrators'}): ${g.members.join(', ') || 'no members'}`);
  },

  'acl-write': (w, env, c) => {
    const dir = str(c.params, 'path');
    const allowed = str(c.params, 'allowed');
    const refused = str(c.params, 'refused');
    const file = `${dir}/cellctl-acl-${c.guest}.txt`;
    for (const p of [allowed, refused]) {
      const t = token(w, env, c, p);
      if (t) return t;
    }
    const ok = afsWrite(w, c.guest!, file, `written by ${allowed}\n`, allowed);
    if (!ok.ok) return failed(`${allowed} may write in ${dir} by its ACL, but: ${ok.error}`);
    const no = afsWrite(w, c.guest!, `${dir}/cellctl-acl-${c.guest}-2.txt`, `written by ${refused}\n`, refused);
    afsRemove(w, c.guest!, file, allowed);
    if (no.ok) return failed(`${refused} wrote in ${dir}, which its ACL should refuse`);
    if (!no.error.endsWith('Permission denied')) return failed(`${refused}'s write in ${dir} failed for another reason: ${no.error}`);
    return pass(`in ${dir} the fileserver took ${allowed}'s write and refused ${refused}'s: ${no.error}`);
  },

  'quota-exceeded': (w, env, c) => {
    const dir = str(c.params, 'path');
    const principal = str(c.params, 'principal');
    const quota = Number(c.params.quota_kb);
    const t = token(w, env, c, principal);
    if (t) return t;
    const small = `${dir}/cellctl-quota-${c.guest}.txt`;
    const ok = afsWrite(w, c.guest!, small, 'fits\n', principal);
    if (!ok.ok) return failed(`a 5-byte write in ${dir} as ${principal} failed: ${ok.error}`);
    const big = `${dir}/cellctl-quota-${c.guest}-big`;
    const probe = afsWriteSize(w, c.guest!, big, (quota + 1) * 1024, principal);
    afsRemove(w, c.guest!, small, principal);
    if (probe.ok) return failed(`a ${quota + 1} KB write in ${dir} was accepted: the ${quota} KB quota is not enforced`);
    if (!/quota exceeded$/.test(probe.error)) return failed(`the ${quota + 1} KB write failed for another reason: ${probe.error}`);
    return pass(`${principal} wrote 5 bytes in ${dir}; a ${quota + 1} KB file over the ${quota} KB quota was refused: ${probe.error}`);
  },

  'ro-release': (w, env, c) => {
    const volume = str(c.params, 'volume');
    const rw = str(c.params, 'rw_path');
    const ro = str(c.params, 'ro_path');
    const admin = str(c.params, 'principal');
    const t = token(w, env, c, admin);
    if (t) return t;
    const name = `cellctl-release-${c.guest}.txt`;
    const data = `released ${syslogTime(w.clock)}\n`;
    const wr = afsWrite(w, c.guest!, `${rw}/${name}`, data, admin);
    if (!wr.ok) return failed(`write in ${volume}'s RW (${rw}) as ${admin}: ${wr.error}`);
    const before = afsRead(w, c.guest!, `${ro}/${name}`, admin);
    if (before.ok) return failed(`${ro}/${name} was readable before vos release: ${ro} does not reach a read-only clone`);
    try {
      release(w, volume);
    } catch (e) {
      return failed((e as Error).message);
    }
    const after = afsRead(w, c.guest!, `${ro}/${name}`, admin);
    if (!after.ok || after.value !== data) return failed(`after vos release ${volume}, ${ro}/${name}: ${after.ok ? 'other content' : after.error}`);
    const later = afsWrite(w, c.guest!, `${rw}/${name}`, 'a later write\n', admin);
    const still = afsRead(w, c.guest!, `${ro}/${name}`, admin);
    const roWrite = afsWrite(w, c.guest!, `${ro}/${name}`, 'x', admin);
    if (!later.ok || !still.ok || still.value !== data) return failed(`the RO clone changed after a later write to the RW (${still.ok ? 'shows the new content' : still.error})`);
    if (roWrite.ok || !roWrite.error.endsWith('Read-only file system')) return failed(`a write to ${ro} was not refused as read-only: ${roWrite.ok ? 'accepted' : roWrite.error}`);
    return pass(`${ro} serves ${volume}.readonly: not the new file before vos release, the released content after it, not a later write to the RW; writes there: Read-only file system`);
  },

  'mount-point': (w, _env, c) => {
    const path = str(c.params, 'path');
    const want = str(c.params, 'volume');
    const r = afsResolve(w, c.guest!, path);
    if (!r.ok) return failed(r.error, excerpt(w, c.guest!, 6));
    const v = r.value;
    const lsmount = v.mount ? `'${path}' is a mount point for volume '${v.mount.rw ? '%' : '#'}${v.mount.volume}'` : 'not a mount point';
    if (v.volume !== want) return failed(`${path} reaches ${v.volume}, expected ${want} (${lsmount})`);
    if (v.type !== 'rw') {
      const wr = afsWrite(w, c.guest!, `${path}/cellctl-ro-test`, 'x', null);
      if (wr.ok || !wr.error.endsWith('Read-only file system')) return failed(`${path} is ${v.volume}, but a write there was not refused as read-only: ${wr.ok ? 'accepted' : wr.error}`);
    }
    return pass(`${lsmount}; it reaches ${v.volume} (${v.volid}) on ${v.server} ${v.partition}${v.type !== 'rw' ? ', read-only' : ''}`);
  },

  'cross-realm-token': (w, env, c) => {
    const principal = str(c.params, 'principal');
    const user = str(c.params, 'user');
    const t = tokenAccepted(w, env, c.guest!, principal);
    if (!t.ok) return failed(t.error, excerpt(w, c.guest!, 6));
    const id = w.afs ? own(w.afs.prdb.entries, user)?.id : undefined;
    if (id === undefined || t.value.token.viceid !== id) return failed(`${principal}'s token carries AFS id ${t.value.token.viceid ?? 'none'}, pts says ${user} is ${id ?? 'unknown'}`);
    const realm = principal.slice(principal.lastIndexOf('@') + 1);
    return pass(`${principal} got a token through krbtgt/${env.realm}@${realm}: ${describeToken(w.clients[c.guest!]!.cell, t.value.token)}; the fileserver on ${t.value.server} accepted it`);
  },

  'keytab-kinit': (w, env, c) => {
    const principal = str(c.params, 'principal');
    const r = kinitKeytab(w, env, c.guest!, principal);
    if (!r.ok) return failed(r.error);
    return pass(`kinit -k -t /etc/krb5.keytab ${r.full} on ${c.guest}: TGT from the KDC on ${r.kdc} (key version ${r.kvno})`);
  },
};
