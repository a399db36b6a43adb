// Refresh of what an administrator set up in a running cell, read back from the real servers (pts
// and vos -localauth): pts users' administrator membership, group members, quotas, volumes, RO sites
// and backup volumes. A change made by hand shows in plan as drift. When the databases or the
// fileserver do not answer, their own resources say so; these read as present.
import type { AppliedResource, Observed } from '../driver.js';
import { PRESENT } from '../driver.js';
import { dbPlace } from './afs-db.js';
import { admin } from './afs-servers.js';
import { volPlace } from './afs-admin.js';
import type { Placement, Services } from './placement.js';

const absent = (reason: string): Observed => ({ state: 'absent', reason });
const differs = (what: string, fix: string): Observed => ({ state: 'degraded', reason: `found ${what}: ${fix}`, repair: 'update' });
const NO_ENTRY = /doesn't exist|does not exist|no such entry|VLDB: no such entry|not found/i;

/** One read; undefined when the server gave no clear answer (not running, electing). */
async function ask(x: Services, where: () => Promise<Placement>, cmd: string, args: string[]): Promise<{ ok: boolean; out: string } | undefined> {
  const p = await where().catch(() => undefined);
  if (!p) return undefined;
  const r = await admin(x, p, cmd, args, 10_000).catch(() => undefined);
  if (!r) return undefined;
  if (r.code === 0) return { ok: true, out: r.stdout };
  return NO_ENTRY.test(r.out) ? { ok: false, out: r.out } : undefined;
}

const membersOf = (out: string) => out.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
const list = (xs: string[]) => [...xs].sort().join(', ') || '(none)';

/** What the servers hold of a cell file v2 resource; undefined for types it does not read. */
export async function readAfsContents(x: Services, prior: AppliedResource): Promise<Observed | undefined> {
  const db = () => dbPlace(x);
  switch (prior.type) {
    case 'pts-user': {
      const a = prior.attrs;
      const ex = await ask(x, db, 'pts', ['examine', a.user]);
      if (!ex) return PRESENT;
      if (!ex.ok) return absent(`pts examine ${a.user}: User or group doesn't exist`);
      const admins = await ask(x, db, 'pts', ['membership', 'system:administrators']);
      if (!admins?.ok) return PRESENT;
      const isAdmin = membersOf(admins.out).includes(a.user);
      return isAdmin === a.admin ? PRESENT : differs(`${a.user} ${isAdmin ? 'in' : 'not in'} system:administrators`, 'will be set');
    }
    case 'pts-group': {
      const a = prior.attrs;
      const m = await ask(x, db, 'pts', ['membership', a.group]);
      if (!m) return PRESENT;
      if (!m.ok) return absent(`pts membership ${a.group}: User or group doesn't exist`);
      // The ptserver itself makes every user of a foreign realm a member of system:authuser@<realm>.
      if (a.group.startsWith('system:authuser@')) return PRESENT;
      const have = membersOf(m.out);
      return list(have) === list(a.members) ? PRESENT : differs(`members of ${a.group}: ${list(have)}`, `will be set to ${list(a.members)}`);
    }
    case 'volume':
    case 'quota': {
      const vol = prior.attrs.volume;
      const ex = await ask(x, () => volPlace(x, vol), 'vos', ['examine', vol]);
      if (!ex) return PRESENT;
      if (!ex.ok) return prior.type === 'volume' ? absent(`vos examine ${vol}: no such volume`) : PRESENT; // the volume says it is gone
      if (prior.type === 'volume') return PRESENT;
      const max = Number(/MaxQuota\s+(\d+) K/.exec(ex.out)?.[1] ?? Number.NaN);
      return Number.isNaN(max) || max === prior.attrs.max_kb ? PRESENT : differs(`quota ${max} KB on ${vol}`, `will be set to ${prior.attrs.max_kb} KB`);
    }
    case 'ro-site': {
      const a = prior.attrs;
      const ip = x.addressOf(a.server);
      const l = await ask(x, db, 'vos', ['listvldb', '-name', a.volume, '-noresolve']);
      if (!l || !ip) return PRESENT;
      if (!l.ok) return PRESENT; // no VLDB entry: the volume says it is gone
      const site = new RegExp(`server ${ip.replaceAll('.', '\\.')} partition ${a.partition} RO Site`);
      return site.test(l.out) ? PRESENT : absent(`vos listvldb ${a.volume}: no RO site on ${a.server} ${a.partition}`);
    }
    case 'backup': {
      const vol = `${prior.attrs.volume}.backup`;
      const ex = await ask(x, () => volPlace(x, prior.attrs.volume), 'vos', ['examine', vol]);
      return ex && !ex.ok ? absent(`vos examine ${vol}: no such volume`) : PRESENT;
    }
    default:
      return undefined;
  }
}
