// What an AFS administrator does to a running cell with pts and vos, done with the real commands
// (-localauth on a server): groups and their members, quotas, read-only sites and releases, backup
// volumes, vos move. Written against the Placement: any driver with the service layer runs them.
import type { BackupAttrs, PtsGroupAttrs, QuotaAttrs, ReleaseAttrs, RoSiteAttrs, VolumeAttrs } from '../../plan/resources.js';
import { dbPlace } from './afs-db.js';
import { bosPid, mustAdmin } from './afs-servers.js';
import type { Placement, Services } from './placement.js';

/** Groups every prdb has: never created or deleted, only their members changed. */
const BUILT_IN = new Set(['system:administrators', 'system:anyuser', 'system:authuser', 'system:backup']);

async function members(x: Services, p: Placement, group: string): Promise<string[]> {
  const res = await mustAdmin(x, p, 'pts', ['membership', group]);
  return res.stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
}

/** pts creategroup (with its owner and id) and pts adduser/removeuser until the members are the file's. */
export async function createPtsGroup(x: Services, a: PtsGroupAttrs): Promise<Record<string, string | number | string[]>> {
  const p = await dbPlace(x);
  if (!BUILT_IN.has(a.group)) {
    const id = a.id !== undefined ? ['-id', String(a.id)] : [];
    await mustAdmin(x, p, 'pts', ['creategroup', '-name', a.group, '-owner', a.owner, ...id], /already exists/);
  }
  const now = await members(x, p, a.group);
  for (const m of a.members.filter((u) => !now.includes(u))) await mustAdmin(x, p, 'pts', ['adduser', '-user', m, '-group', a.group], /already exists/);
  for (const m of now.filter((u) => !a.members.includes(u))) await mustAdmin(x, p, 'pts', ['removeuser', '-user', m, '-group', a.group], /not a member|does not exist/i);
  const ex = await mustAdmin(x, p, 'pts', ['examine', a.group]);
  return { group: a.group, id: Number(/id: (-?\d+)/.exec(ex.stdout)?.[1] ?? 0), members: await members(x, p, a.group) };
}

export async function deletePtsGroup(x: Services, a: PtsGroupAttrs): Promise<void> {
  const p = await dbPlace(x).catch(() => undefined);
  if (!p) return; // the databases are gone already
  if (!BUILT_IN.has(a.group)) {
    await mustAdmin(x, p, 'pts', ['delete', a.group], /does not exist|no such/i);
    return;
  }
  for (const m of a.members) await mustAdmin(x, p, 'pts', ['removeuser', '-user', m, '-group', a.group], /not a member|does not exist/i);
}

/** A running fileserver's guest, where vos runs -localauth (vos finds the volume's sites in the VLDB). */
export async function volPlace(x: Services, volume: string): Promise<Placement> {
  for (const s of Object.keys(x.reg.afsFs)) {
    if (!x.has(s)) continue;
    const p = x.place(s);
    if (await bosPid(x, p)) return p;
  }
  throw new Error(`no fileserver is running for volume ${volume}`);
}

/** A server's placement when its bosserver runs (undefined: it and what it served are gone). */
async function running(x: Services, guest: string): Promise<Placement | undefined> {
  if (!x.has(guest)) return undefined;
  const p = x.place(guest);
  return (await bosPid(x, p)) ? p : undefined;
}

/** fs setquota, server side: vos setfields -maxquota (the same field the fileserver enforces). */
export async function setQuota(x: Services, a: QuotaAttrs, maxKb = a.max_kb): Promise<Record<string, string | number>> {
  const p = await volPlace(x, a.volume);
  await mustAdmin(x, p, 'vos', ['setfields', '-id', a.volume, '-maxquota', String(maxKb)]);
  const ex = await mustAdmin(x, p, 'vos', ['examine', a.volume]);
  const quota = /MaxQuota\s+(\d+)/.exec(ex.stdout)?.[1];
  return { volume: a.volume, max_kb: Number(quota ?? -1) };
}

/** vos move: the RW (its data, quota and ACLs) to another server or partition; its backup clone is deleted on the way. */
export async function moveVolume(x: Services, from: VolumeAttrs, to: VolumeAttrs): Promise<void> {
  const p = x.place(to.server);
  const ex = await mustAdmin(x, p, 'vos', ['examine', to.volume]);
  const rw = /server (\S+) partition (\S+) RW Site/.exec(ex.stdout);
  const here = rw && rw[2] === to.partition && [p.ip(), to.server, `${to.server}.${x.cell}`].includes(rw[1]!);
  if (here) return; // moved already (an earlier run stopped after the move)
  const fromIp = x.addressOf(from.server);
  if (!fromIp) throw new Error(`vos move ${to.volume}: its server ${from.server} is not up`);
  await mustAdmin(x, p, 'vos', ['move', '-id', to.volume, '-fromserver', fromIp, '-frompartition', from.partition, '-toserver', p.ip(), '-topartition', to.partition]);
}

/** vos addsite: the VLDB gets the RO site; its clone is made by the release. */
export async function addSite(x: Services, a: RoSiteAttrs): Promise<Record<string, string>> {
  const p = x.place(a.server);
  await mustAdmin(x, p, 'vos', ['addsite', p.ip(), a.partition, a.volume], /already exists|RO already/i);
  return { volume: a.volume, server: p.ip(), partition: a.partition };
}

/** vos remove of the site's clone (that also takes it out of the VLDB), or vos remsite when no clone was made. */
export async function removeSite(x: Services, a: RoSiteAttrs): Promise<void> {
  const p = await running(x, a.server);
  if (!p) return;
  const ip = p.ip();
  await mustAdmin(x, p, 'vos', ['remove', '-server', ip, '-partition', a.partition, '-id', `${a.volume}.readonly`], /does not exist|no such entry|not found/i);
  await mustAdmin(x, p, 'vos', ['remsite', ip, a.partition, a.volume], /not found|does not exist|no such|not a replication site/i);
}

/** vos release: every RO site gets a clone of the RW as it is now. */
export async function release(x: Services, a: ReleaseAttrs): Promise<Record<string, string | number>> {
  const p = await volPlace(x, a.volume);
  await mustAdmin(x, p, 'vos', ['release', a.volume]);
  const ex = await mustAdmin(x, p, 'vos', ['examine', `${a.volume}.readonly`]);
  return { volume: a.volume, ro_id: Number(/^\S+\s+(\d+)/.exec(ex.stdout)?.[1] ?? 0), sites: a.sites.length };
}

/** vos backup: NAME.backup, a clone of the RW as it is now, beside it. */
export async function backup(x: Services, a: BackupAttrs): Promise<Record<string, string | number>> {
  const p = x.place(a.server);
  await mustAdmin(x, p, 'vos', ['backup', a.volume]);
  const ex = await mustAdmin(x, p, 'vos', ['examine', `${a.volume}.backup`]);
  return { volume: `${a.volume}.backup`, id: Number(/^\S+\s+(\d+)/.exec(ex.stdout)?.[1] ?? 0) };
}

export async function removeBackup(x: Services, a: BackupAttrs): Promise<void> {
  const p = await running(x, a.server);
  if (!p) return;
  await mustAdmin(x, p, 'vos', ['remove', '-server', p.ip(), '-partition', a.partition, '-id', `${a.volume}.backup`], /does not exist|no such entry|not found/i);
}
