// The fs commands of a smoke on the simulator: fs listacl, fs setacl then a write allowed to one
// user and refused to another, fs listquota, fs checkservers. Each goes the way the real one does:
// tokens from aklog, the fileserver's ACL of the directory and the caller's CPS (files.ts: members of
// system:administrators hold l and a implicitly, as on a real fileserver), the volume's quota.
import type { CheckResult, Check } from '../driver.js';
import { names } from '../../plan/addrs.js';
import { fsUp } from './afs.js';
import { aklog } from './afsclient.js';
import { afsDir, afsMkdir, afsRead, afsRemove, afsWrite, liveClient, type Outcome } from './files.js';
import type { KrbEnv } from './kerberos.js';
import { suffix, usageKb } from './volumes.js';
import { advance, guestIp, reachable, SECONDS, type World } from './world.js';

const pass = (message: string, detail?: string): CheckResult => (detail ? { status: 'pass', message, detail } : { status: 'pass', message });
const failed = (message: string, detail?: string): CheckResult => (detail ? { status: 'fail', message, detail } : { status: 'fail', message });
const fail = <T>(error: string): Outcome<T> => ({ ok: false, error });

function param(c: Check, key: string): string {
  const v = c.params[key];
  return typeof v === 'string' ? v : '';
}

export function afsListAcl(w: World, guest: string, path: string, principal: string | null): Outcome<Record<string, string>> {
  const d = afsDir(w, guest, path, principal);
  if (!d.ok) return d;
  if (!d.value.rights.includes('l')) return fail(`fs: You don't have the required access rights on '${path}'`);
  return { ok: true, value: { ...d.value.at.vol.acls[d.value.dir] } };
}

export function afsSetAcl(w: World, guest: string, path: string, principal: string | null, acl: Record<string, string>, clear: boolean): Outcome<void> {
  const d = afsDir(w, guest, path, principal);
  if (!d.ok) return d;
  const { vol } = d.value.at;
  if (vol.type !== 'rw') return fail(`fs: You can not change a backup or readonly volume (${path})`);
  if (!d.value.rights.includes('a')) return fail(`fs: You don't have the required access rights on '${path}'`);
  const next = clear ? {} : { ...vol.acls[d.value.dir] };
  for (const [name, rights] of Object.entries(acl)) {
    if (rights) next[name] = rights;
    else delete next[name];
  }
  vol.acls[d.value.dir] = next;
  if (clear) vol.negative[d.value.dir] = {};
  advance(w, SECONDS.admin);
  return { ok: true, value: undefined };
}

/** rm -rf of a directory the caller may delete in (its files, then itself). */
export function afsRemoveDir(w: World, guest: string, path: string, principal: string | null): Outcome<void> {
  const d = afsDir(w, guest, path, principal);
  if (!d.ok) return d;
  const { vol } = d.value.at;
  const { dir } = d.value;
  if (!d.value.rights.includes('d')) return fail(`rm: cannot remove '${path}': Permission denied`);
  for (const f of Object.keys(vol.files)) {
    if (!f.startsWith(`${dir}/`)) continue;
    const r = afsRemove(w, guest, `${path}${f.slice(dir.length)}`, principal);
    if (!r.ok) return r;
  }
  delete vol.acls[dir];
  delete vol.negative[dir];
  return { ok: true, value: undefined };
}

const show = (acl: Record<string, string>) => Object.entries(acl).map(([n, r]) => `${n} ${r}`).join(', ');

type CheckFn = (w: World, env: KrbEnv, c: Check) => CheckResult;

export const FS_CHECKS: Record<'client-acl-list' | 'client-acl-write' | 'client-quota' | 'client-servers', CheckFn> = {
  'client-acl-list': (w, env, c) => {
    const principal = param(c, 'principal');
    const t = aklog(w, env, c.guest!, principal);
    if (!t.ok) return failed(`no tokens for ${principal}: ${t.error}`);
    const acl = afsListAcl(w, c.guest!, param(c, 'path'), principal);
    return acl.ok ? pass(`fs listacl ${param(c, 'path')}: ${show(acl.value)}`) : failed(acl.error);
  },

  'client-acl-write': (w, env, c) => {
    const [admin, allowed, refused, dir] = ['admin', 'allowed', 'refused', 'dir'].map((k) => param(c, k)) as [string, string, string, string];
    for (const p of new Set([admin, allowed, refused])) {
      const t = aklog(w, env, c.guest!, p);
      if (!t.ok) return failed(`no tokens for ${p}: ${t.error}`);
    }
    const parent = dir.replace(/\/[^/]+$/, '');
    const who = names.ptsUser(allowed);
    const before = afsListAcl(w, c.guest!, parent, admin);
    if (!before.ok) return failed(before.error);
    const had = before.value[who] ?? '';
    const steps: Outcome<unknown>[] = [
      had.includes('l') ? { ok: true, value: undefined } : afsSetAcl(w, c.guest!, parent, admin, { [who]: `${had}l` }, false),
      afsMkdir(w, c.guest!, dir, admin),
      afsSetAcl(w, c.guest!, dir, admin, { [who]: 'rlidwk', 'system:administrators': 'rl' }, true),
    ];
    const broken = steps.find((s): s is { ok: false; error: string } => !s.ok);
    try {
      if (broken) return failed(`setting up ${dir} as ${admin} failed: ${broken.error}`);
      const file = (u: string) => `${dir}/by-${names.ptsUser(u)}.txt`;
      const wrote = afsWrite(w, c.guest!, file(allowed), `cellctl ${allowed}\n`, allowed);
      if (!wrote.ok) return failed(`${allowed} (rlidwk on ${dir}) could not write there: ${wrote.error}`);
      const read = afsRead(w, c.guest!, file(allowed), allowed);
      if (!read.ok || read.value !== `cellctl ${allowed}\n`) return failed(`${allowed}'s file in ${dir} did not read back`);
      const no = afsWrite(w, c.guest!, file(refused), `cellctl ${refused}\n`, refused);
      if (no.ok) return failed(`${refused} wrote in ${dir} although the ACL gives system:administrators only rl`);
      if (!no.error.endsWith('Permission denied')) return failed(`${refused}'s write in ${dir} failed, but not as a refusal: ${no.error}`);
      return pass(`fs setacl ${dir} ${who} rlidwk system:administrators rl: ${allowed} wrote and read back, ${refused} was refused (${no.error})`);
    } finally {
      afsSetAcl(w, c.guest!, dir, admin, { 'system:administrators': 'rlidwka' }, false);
      afsRemoveDir(w, c.guest!, dir, admin);
      afsSetAcl(w, c.guest!, parent, admin, { [who]: had }, false);
    }
  },

  'client-quota': (w, _env, c) => {
    const path = param(c, 'path');
    const d = afsDir(w, c.guest!, path, null);
    if (!d.ok) return failed(d.error);
    const v = d.value.at.vol;
    const name = v.name + suffix(v.type);
    const want = param(c, 'volume');
    if (want && name !== want) return failed(`fs listquota ${path}: volume ${name}, expected ${want}`);
    const used = usageKb(v);
    return pass(`fs listquota ${path}: ${name} quota ${v.maxquota ? `${v.maxquota} KB` : 'no limit'}, ${used} KB used`);
  },

  'client-servers': (w, _env, c) => {
    const live = liveClient(w, c.guest!);
    if (!live.ok) return failed(live.error);
    const fileservers = Array.isArray(c.params.fileservers) ? c.params.fileservers.map(String) : [];
    const down = fileservers.filter((f) => !fsUp(w, f) || !reachable(w, c.guest!, f));
    const ips = fileservers.map((f) => guestIp(w, f) ?? f);
    if (down.length) return failed(`These servers unavailable due to network or server problems: ${down.map((f) => guestIp(w, f) ?? f).join(' ')}.`);
    return pass(`fs checkservers: all servers are running (${ips.join(', ') || 'none known'})`);
  },
};
