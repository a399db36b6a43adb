// `cellctl migrate` on real Xen: the real `xl migrate` from one dom0 to the other over the cell's
// own bridge (the Xen kit's xlMigrate), after the checks xm/xl would fail on late (the target has
// the guest's bridges, its disks are on storage both hosts reach). Where this Xen build cannot
// live-migrate a PV domain, xl's own error is passed on with the reason (catalog data); the cold
// move (xl save + xl restore through the cell's storage: the guest stops meanwhile) runs only
// when asked for.
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { Catalog } from '../../../catalog/types.js';
import type { Attrs } from '../../../plan/resources.js';
import type { GuestAgent } from '../../vm/agent.js';
import { closeDomuAgent, openDomuAgent, waitDomuReady } from '../domu-agent.js';
import { pvLiveMigration, xlMigrate, xlMoveCold } from '../migrate.js';
import { XlError, xlList } from '../xl.js';
import type { HostOf } from './domains.js';
import { linkDisks, unlinkDisks } from './storage.js';
import type { Places } from './world.js';

const READY_AFTER_MOVE_MS = 120_000;

/** Is `path` one of the prefixes or below one of them? */
function under(path: string, prefixes: string[]): boolean {
  return prefixes.some((p) => {
    const base = p.replace(/\/+$/, '');
    return path === base || path.startsWith(`${base}/`);
  });
}

/** Why the domain cannot run on `to` as it is (empty: it can). */
export function moveBlockers(P: Places, guest: string, to: string): string[] {
  const g = P.guest(guest);
  const src = P.w.hosts[g.host]!;
  const dst = P.w.hosts[to]!;
  const out: string[] = [];
  for (const [i, b] of g.bridges.entries()) {
    if (!dst.bridges.includes(b)) out.push(`vif ${i} (${g.macs[i]}) is on bridge ${b}, which ${to} does not have: the hosts are not on the same network`);
  }
  const both = `shared_storage of ${g.host}: ${src.sharedStorage.join(', ') || 'none'}; of ${to}: ${dst.sharedStorage.join(', ') || 'none'}`;
  for (const d of g.disks) {
    if (d.device) out.push(`disk ${d.raw}: ${d.dom0Path} is a device of ${g.host}`);
    else if (!under(d.dom0Path, src.sharedStorage) || !under(d.dom0Path, dst.sharedStorage)) out.push(`disk ${d.raw}: ${d.dom0Path} is not on storage both hosts reach (${both})`);
  }
  if (!src.bridges.some((b) => dst.bridges.includes(b))) out.push(`${g.host} and ${to} share no bridge for xl to send the domain over`);
  return out;
}

export interface Agents {
  drop(guest: string): void;
  set(guest: string, agent: GuestAgent): void;
}

export async function migrateDomu(P: Places, hostOf: HostOf, agents: Agents, catalog: Catalog, guest: string, to: string, o: { cold?: boolean }, log: (l: string) => void): Promise<Attrs> {
  const g = P.guest(guest);
  const fromName = g.host;
  if (fromName === to) throw new Error(`${guest} already runs on ${to}`);
  const from = hostOf(fromName);
  const dst = hostOf(to);
  if (!from) throw new Error(`the Xen host ${fromName} of ${guest} is not running`);
  if (!dst || P.w.hosts[to]?.state !== 'running') throw new Error(`host ${to} is not up in this cell (create host.${to} first)`);
  const blockers = moveBlockers(P, guest, to);
  if (blockers.length) throw new Error(`migrate ${guest} to ${to}: refused: ${blockers.join('; ')}`);
  const bridge = g.bridges.find((b) => P.w.hosts[to]!.bridges.includes(b)) ?? P.w.hosts[fromName]!.bridges.find((b) => P.w.hosts[to]!.bridges.includes(b))!;
  const files = g.disks.filter((d) => !d.device);

  g.movingTo = to;
  P.save(); // write-ahead: until the move is recorded, destroy looks for the domain on both hosts
  await linkDisks(dst, files); // the receiving dom0 finds the disks at the same paths
  const t0 = Date.now();
  let how: string;
  try {
    if (o.cold) {
      log(`guest ${guest}: cold move: xl save on ${fromName} (the guest stops), xl restore on ${to}`);
      agents.drop(guest);
      const save = P.stored('moves', `${guest}.${randomBytes(4).toString('hex')}.save`);
      // xl save makes the file, not its directory: dom0 makes it (its 9p cache then knows it)
      const made = await from.dom0.agent.exec('mkdir', ['-p', dirname(save.dom0)], { timeoutMs: 60_000 });
      if (made.code !== 0) throw new Error(`Xen host ${fromName}: mkdir ${dirname(save.dom0)}: ${made.stderr.trim()}`);
      await xlMoveCold(from, dst, guest, { stateFile: save.dom0 });
      how = `cold: xl save on ${fromName}, xl restore on ${to}; the guest was stopped for ${((Date.now() - t0) / 1000).toFixed(1)} s`;
    } else {
      await xlMigrate(from, dst, guest, { bridge });
      how = `live: xl migrate ${fromName} -> ${to} over ${bridge}`;
    }
  } catch (e) {
    if ((await xlList(from)).some((d) => d.name === guest)) {
      // still on the sender: the receiving side is put back as it was
      await unlinkDisks(dst, files).catch(() => undefined);
      delete g.movingTo;
      P.save();
    }
    if (e instanceof XlError && !o.cold && pvLiveMigration(from) === false) {
      // the reason first: xl's own lines follow (an error screen shows its first lines)
      throw new Error(`xl migrate ${guest}: this Xen cannot move a PV domain live: ${catalog.standIns.xen_host.pv_live_migration}\n${e.message}`);
    }
    throw e;
  }
  const domid = (await xlList(dst)).find((d) => d.name === guest)?.id;
  if (domid === undefined) throw new Error(`${guest} left ${fromName} but is not in xl list on ${to}`);
  await closeDomuAgent(from, guest);
  await unlinkDisks(from, files);
  g.ranOn = [...(g.ranOn ?? []), fromName];
  g.host = to;
  g.domid = domid;
  delete g.movingTo;
  P.save();
  const agent = await openDomuAgent(dst, guest);
  await waitDomuReady(dst, guest, agent, READY_AFTER_MOVE_MS);
  agents.set(guest, agent);
  log(`guest ${guest}: now domain ${domid} on ${to} (${how})`);
  return { domid, host: to, moved: how };
}
