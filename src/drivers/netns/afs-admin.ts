// What an AFS administrator does to a running cell with pts and vos, done with the real commands
// (-localauth on a server): groups and their members, quotas, read-only sites and releases, backup
// volumes; and service keytabs with kadmin.local ktadd. ACLs and mount points need a client (cellctl-uafs).
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupAttrs, KeytabAttrs, PtsGroupAttrs, QuotaAttrs, ReleaseAttrs, RoSiteAttrs, VolumeAttrs } from '../../plan/resources.js';
import type { Runner } from './exec.js';
import type { Layout } from './layout.js';
import { bosPid, mustAdmin } from './afs-servers.js';
import { dbGuest } from './afs-db.js';
import { kadmin, propagate } from './kerberos.js';

/** Groups every prdb has: never created or deleted, only their members changed. */
const BUILT_IN = new Set(['system:administrators', 'system:anyuser', 'system:authuser', 'system:backup']);

async function members(r: Runner, L: Layout, g: string, group: string): Promise<string[]> {
  const res = await mustAdmin(r, L, g, 'pts', ['membership', group]);
  return res.stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
}

/** pts creategroup (with its owner and id) and pts adduser/removeuser until the members are the file's. */
export async function createPtsGroup(r: Runner, L: Layout, a: PtsGroupAttrs): Promise<Record<string, string | number | string[]>> {
  const g = dbGuest(L);
  if (!BUILT_IN.has(a.group)) {
    const id = a.id !== undefined ? ['-id', String(a.id)] : [];
    await mustAdmin(r, L, g, 'pts', ['creategroup', '-name', a.group, '-owner', a.owner, ...id], /already exists/);
  }
  const now = await members(r, L, g, a.group);
  for (const m of a.members.filter((x) => !now.includes(x))) await mustAdmin(r, L, g, 'pts', ['adduser', '-user', m, '-group', a.group], /already exists/);
  for (const m of now.filter((x) => !a.members.includes(x))) await mustAdmin(r, L, g, 'pts', ['removeuser', '-user', m, '-group', a.group], /not a member|does not exist/i);
  const ex = await mustAdmin(r, L, g, 'pts', ['examine', a.group]);
  return { group: a.group, id: Number(/id: (-?\d+)/.exec(ex.stdout)?.[1] ?? 0), members: await members(r, L, g, a.group) };
}

export async function deletePtsGroup(r: Runner, L: Layout, a: PtsGroupAttrs): Promise<void> {
  const g = L.reg.afsDb.find((d) => bosPid(L, d));
  if (!g) return; // the databases are gone already
  if (!BUILT_IN.has(a.group)) {
    await mustAdmin(r, L, g, 'pts', ['delete', a.group], /does not exist|no such/i);
    return;
  }
  for (const m of a.members) await mustAdmin(r, L, g, 'pts', ['removeuser', '-user', m, '-group', a.group], /not a member|does not exist/i);
}

/** A running fileserver, where vos runs -localauth (vos finds the volume's sites in the VLDB). */
function volServer(L: Layout, volume: string): string {
  const site = Object.keys(L.reg.afsFs).find((s) => bosPid(L, s));
  if (!site) throw new Error(`no fileserver is running for volume ${volume}`);
  return site;
}

/** fs setquota, server side: vos setfields -maxquota (the same field the fileserver enforces). */
export async function setQuota(r: Runner, L: Layout, a: QuotaAttrs, maxKb = a.max_kb): Promise<Record<string, string | number>> {
  const s = volServer(L, a.volume);
  await mustAdmin(r, L, s, 'vos', ['setfields', '-id', a.volume, '-maxquota', String(maxKb)]);
  const ex = await mustAdmin(r, L, s, 'vos', ['examine', a.volume]);
  const quota = /MaxQuota\s+(\d+)/.exec(ex.stdout)?.[1];
  return { volume: a.volume, max_kb: Number(quota ?? -1) };
}

/** vos move: the RW (its data, quota and ACLs) to another server or partition; its backup clone is deleted on the way. */
export async function moveVolume(r: Runner, L: Layout, from: VolumeAttrs, to: VolumeAttrs): Promise<void> {
  const ex = await mustAdmin(r, L, to.server, 'vos', ['examine', to.volume]);
  const rw = /server (\S+) partition (\S+) RW Site/.exec(ex.stdout);
  const here = rw && rw[2] === to.partition && [L.ipOf(to.server), to.server, `${to.server}.${L.cell}`].includes(rw[1]!);
  if (here) return; // moved already (an earlier run stopped after the move)
  await mustAdmin(r, L, to.server, 'vos', ['move', '-id', to.volume, '-fromserver', L.ipOf(from.server), '-frompartition', from.partition,
    '-toserver', L.ipOf(to.server), '-topartition', to.partition]);
}

/** vos addsite: the VLDB gets the RO site; its clone is made by the release. */
export async function addSite(r: Runner, L: Layout, a: RoSiteAttrs): Promise<Record<string, string>> {
  await mustAdmin(r, L, a.server, 'vos', ['addsite', L.ipOf(a.server), a.partition, a.volume], /already exists|RO already/i);
  return { volume: a.volume, server: L.ipOf(a.server), partition: a.partition };
}

/** vos remove of the site's clone (that also takes it out of the VLDB), or vos remsite when no clone was made. */
export async function removeSite(r: Runner, L: Layout, a: RoSiteAttrs): Promise<void> {
  if (!bosPid(L, a.server)) return;
  const ip = L.ipOf(a.server);
  await mustAdmin(r, L, a.server, 'vos', ['remove', '-server', ip, '-partition', a.partition, '-id', `${a.volume}.readonly`], /does not exist|no such entry|not found/i);
  await mustAdmin(r, L, a.server, 'vos', ['remsite', ip, a.partition, a.volume], /not found|does not exist|no such/i);
}

/** vos release: every RO site gets a clone of the RW as it is now. */
export async function release(r: Runner, L: Layout, a: ReleaseAttrs): Promise<Record<string, string | number>> {
  const s = volServer(L, a.volume);
  await mustAdmin(r, L, s, 'vos', ['release', a.volume]);
  const ex = await mustAdmin(r, L, s, 'vos', ['examine', `${a.volume}.readonly`]);
  return { volume: a.volume, ro_id: Number(/^\S+\s+(\d+)/.exec(ex.stdout)?.[1] ?? 0), sites: a.sites.length };
}

/** vos backup: NAME.backup, a clone of the RW as it is now, beside it. */
export async function backup(r: Runner, L: Layout, a: BackupAttrs): Promise<Record<string, string | number>> {
  await mustAdmin(r, L, a.server, 'vos', ['backup', a.volume]);
  const ex = await mustAdmin(r, L, a.server, 'vos', ['examine', `${a.volume}.backup`]);
  return { volume: `${a.volume}.backup`, id: Number(/^\S+\s+(\d+)/.exec(ex.stdout)?.[1] ?? 0) };
}

export async function removeBackup(r: Runner, L: Layout, a: BackupAttrs): Promise<void> {
  if (!bosPid(L, a.server)) return;
  await mustAdmin(r, L, a.server, 'vos', ['remove', '-server', L.ipOf(a.server), '-partition', a.partition, '-id', `${a.volume}.backup`], /does not exist|no such entry|not found/i);
}

/** Where a guest keeps a service keytab (the guest's own directory; 0600, in a 0700 directory). */
export function keytabPath(L: Layout, guest: string, principal: string): string {
  return join(L.guestDir(guest), 'keytabs', `${principal.replace(/[^A-Za-z0-9.@-]/g, '_')}.keytab`);
}

/**
 * The principal with a random key, extracted with kadmin.local ktadd (which re-randomizes: the
 * keytab and the KDC agree) into the guest's keytab. `enctypes`: those of the file the KDC makes
 * (notes.ts); none: the KDC's default key types. Returns the key types the keytab really holds.
 */
export function createKeytab(r: Runner, L: Layout, a: KeytabAttrs, enctypes: readonly string[]): Promise<Record<string, string | number | string[]>> {
  return L.krbLock.run(async () => {
    if (!a.guest) throw new Error(`keytab ${a.principal}: no guest to install it on`);
    const file = keytabPath(L, a.guest, a.principal);
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    if ((await kadmin(r, L, `getprinc ${a.principal}`)).failed) {
      const add = await kadmin(r, L, `addprinc -randkey ${a.principal}`);
      if (add.failed) throw new Error(`kadmin.local addprinc -randkey ${a.principal}: ${add.out}`);
    }
    rmSync(file, { force: true });
    const e = enctypes.length ? ` -e ${enctypes.map((t) => `${t}:normal`).join(',')}` : '';
    const res = await kadmin(r, L, `ktadd -k ${file}${e} ${a.principal}`);
    if (res.failed || !existsSync(file)) throw new Error(`kadmin.local ktadd ${a.principal}: ${res.out}`);
    chmodSync(file, 0o600);
    await propagate(r, L);
    const list = await r.run('klist', ['-k', '-e', '-t', file]);
    const held = [...new Set([...list.stdout.matchAll(/\(([a-z0-9-]+)\)\s*$/gm)].map((m) => m[1]!))];
    return { principal: `${a.principal}@${a.realm}`, keytab: file, enctypes: held };
  });
}

export function deleteKeytab(r: Runner, L: Layout, a: KeytabAttrs): Promise<void> {
  return L.krbLock.run(async () => {
    if (Object.keys(L.reg.kdcs).length) {
      const res = await kadmin(r, L, `delprinc -force ${a.principal}`);
      if (res.failed && !/does not exist/.test(res.out)) throw new Error(`kadmin.local delprinc ${a.principal}: ${res.out}`);
      await propagate(r, L);
    }
    if (a.guest) rmSync(keytabPath(L, a.guest, a.principal), { force: true });
  });
}
