// The fs commands of a smoke on the simulator: fs listacl, fs setacl then a write allowed to one
// user and refused to another, fs checkservers. Each goes the way the real one does: tokens from
// aklog, the fileserver's ACL of the directory (members of system:administrators hold l and a
// implicitly, as on a real fileserver). Volume quotas are not modelled: that check skips.
import type { CheckResult, Check } from '../driver.js';
import { names } from '../../plan/addrs.js';
import { fsUp, groupsOf } from './afs.js';
import { afsRead, afsWrite, aklog, callerRights, liveClient, locate, type Outcome, tokenFor } from './afsclient.js';
import type { KrbEnv } from './kerberos.js';
import { advance, guestIp, own, reachable, SECONDS, type World } from './world.js';

const pass = (message: string, detail?: string): CheckResult => (detail ? { status: 'pass', message, detail } : { status: 'pass', message });
const failed = (message: string, detail?: string): CheckResult => (detail ? { status: 'fail', message, detail } : { status: 'fail', message });
const fail = <T>(error: string): Outcome<T> => ({ ok: false, error });

function param(c: Check, key: string): string {
  const v = c.params[key];
  return typeof v === 'string' ? v : '';
}

/** The caller's rights on a directory as the fileserver computes them (implicit l and a for administrators). */
function rightsOn(w: World, guest: string, path: string, principal: string | null) {
  const live = liveClient(w, guest);
  if (!live.ok) return live;
  const loc = locate(w, live.value, path);
  if (!loc.ok) return loc;
  const { fs, vol, rel } = loc.value;
  const dir = rel === '/' ? '/' : rel.replace(/\/$/, '');
  if (!own(vol.acls, dir)) return fail<never>(`${path}: No such file or directory`);
  const token = tokenFor(live.value, principal);
  const r = callerRights(w, live.value, fs, vol, dir, token);
  const user = token?.viceid != null && w.afs ? Object.entries(w.afs.prdb.entries).find(([, e]) => e.id === token.viceid)?.[0] : undefined;
  const admin = !!user && !!w.afs && groupsOf(w.afs, user).includes('system:administrators');
  return { ok: true as const, value: { vol, dir, rights: admin ? `${r.rights}la` : r.rights } };
}

export function afsListAcl(w: World, guest: string, path: string, principal: string | null): Outcome<Record<string, string>> {
  const r = rightsOn(w, guest, path, principal);
  if (!r.ok) return r;
  if (!r.value.rights.includes('l')) return fail(`fs: You don't have the required access rights on '${path}'`);
  return { ok: true, value: { ...r.value.vol.acls[r.value.dir] } };
}

export function afsSetAcl(w: World, guest: string, path: string, principal: string | null, acl: Record<string, string>, clear: boolean): Outcome<void> {
  const r = rightsOn(w, guest, path, principal);
  if (!r.ok) return r;
  if (!r.value.rights.includes('a')) return fail(`fs: You don't have the required access rights on '${path}'`);
  const next = clear ? {} : { ...r.value.vol.acls[r.value.dir] };
  for (const [name, rights] of Object.entries(acl)) {
    if (rights) next[name] = rights;
    else delete next[name];
  }
  r.value.vol.acls[r.value.dir] = next;
  advance(w, SECONDS.admin);
  return { ok: true, value: undefined };
}

export function afsMkdir(w: World, guest: string, path: string, principal: string | null): Outcome<void> {
  const parent = path.replace(/\/[^/]+$/, '');
  const r = rightsOn(w, guest, parent, principal);
  if (!r.ok) return r;
  if (!r.value.rights.includes('i')) return fail(`mkdir: cannot create directory '${path}': Permission denied`);
  const rel = `${r.value.dir === '/' ? '' : r.value.dir}/${path.slice(parent.length + 1)}`;
  r.value.vol.acls[rel] ??= { ...r.value.vol.acls[r.value.dir] }; // a new directory inherits its parent's ACL
  return { ok: true, value: undefined };
}

/** rm -rf of a directory the caller administers (its files and itself). */
export function afsRemoveDir(w: World, guest: string, path: string, principal: string | null): Outcome<void> {
  const r = rightsOn(w, guest, path, principal);
  if (!r.ok) return r;
  if (!r.value.rights.includes('d')) return fail(`rm: cannot remove '${path}': Permission denied`);
  const { vol, dir } = r.value;
  for (const f of Object.keys(vol.files)) if (f.startsWith(`${dir}/`)) delete vol.files[f];
  delete vol.acls[dir];
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

  'client-quota': () => ({ status: 'skip', message: 'the simulator models no volume quotas' }),

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
