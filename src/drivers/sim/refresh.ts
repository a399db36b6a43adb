// Refresh on the sim: what the simulated hypervisor really holds of a recorded resource, in the
// words `xm list` and the guests' own tools would use. Pure: reading changes nothing.
import type { AppliedResource, Observed } from '../driver.js';
import { PRESENT } from '../driver.js';
import { qualify } from './kerberos.js';
import { contentOf, idOf } from './volumes.js';
import { domainOf, own, type SimVolume, type World } from './world.js';

const absent = (reason: string): Observed => ({ state: 'absent', reason });
const stopped = (what: string): Observed => ({ state: 'degraded', reason: `found ${what} not running: will be restarted`, repair: 'update' });
const differs = (what: string, fix: string): Observed => ({ state: 'degraded', reason: `found ${what}: ${fix}`, repair: 'update' });

/** A volume instance the sim holds (RW, or a clone by type), wherever the VLDB puts it. */
function instance(w: World, volume: string, type: 'rw' | 'ro' | 'bk' = 'rw', at?: { server: string; partition: string }): SimVolume | undefined {
  const entry = w.afs ? own(w.afs.vldb.entries, volume) : undefined;
  if (!entry) return undefined;
  const where = at ?? entry;
  return own(own(w.fileservers, where.server)?.attached ?? {}, where.partition)?.[String(idOf(entry, type))];
}

const same = (a: Record<string, string> | undefined, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b).sort());

export function readSim(w: World, prior: AppliedResource): Observed {
  switch (prior.type) {
    case 'host':
      return own(w.hosts, prior.name) ? PRESENT : absent(`host ${prior.name} is not in the simulated hypervisor`);
    case 'guest': {
      const d = domainOf(w, prior.name);
      if (!d) return absent(`domain ${prior.name} does not exist (xm list shows no such domain)`);
      switch (d.state) {
        case 'crashed': return { state: 'degraded', reason: `domain crashed (id ${d.domid})`, repair: 'replace' };
        case 'paused': return { state: 'degraded', reason: 'domain paused: will be unpaused', repair: 'update' };
        case 'shutdown': return { state: 'degraded', reason: 'domain shut down: will be started', repair: 'update' };
        default: return PRESENT;
      }
    }
    case 'kdc': {
      const k = own(w.kdcs, prior.attrs.guest);
      if (!k) return absent(`no KDC on ${prior.attrs.guest}`);
      return k.running ? PRESENT : stopped(`the KDC (pid ${k.pid})`);
    }
    case 'afs-db': {
      const db = own(w.afsdbs, prior.attrs.guest);
      if (!db) return absent(`no ptserver/vlserver on ${prior.attrs.guest}`);
      return db.running ? PRESENT : stopped('ptserver and vlserver');
    }
    case 'afs-fs': {
      const fs = own(w.fileservers, prior.attrs.guest);
      if (!fs) return absent(`no fileserver on ${prior.attrs.guest}`);
      return fs.running ? PRESENT : stopped(`the fileserver (pid ${fs.pid})`);
    }
    case 'afs-client': {
      const c = own(w.clients, prior.attrs.guest);
      if (!c) return absent(`no AFS client on ${prior.attrs.guest}`);
      return c.running ? PRESENT : stopped(`the AFS client (pid ${c.pid})`);
    }
    case 'principal': {
      const k = own(w.kdcs, prior.attrs.kdc);
      const full = qualify(prior.attrs.principal, prior.attrs.realm);
      // With the KDC gone, the kdc resource says so (and what depends on it is re-made).
      return !k || Object.hasOwn(k.db, full) ? PRESENT : absent(`${full} is not in the KDC database`);
    }
    default:
      return readAfsContents(w, prior);
  }
}

/** pts entries, and what volumes hold: read as pts examine, fs la, fs lq, fs lsmount and vos examine would. */
function readAfsContents(w: World, prior: AppliedResource): Observed {
  const prdb = w.afs?.prdb.entries ?? {};
  switch (prior.type) {
    case 'pts-user': {
      const e = own(prdb, prior.attrs.user);
      if (!e) return absent(`pts examine ${prior.attrs.user}: User or group doesn't exist`);
      const admin = own(prdb, 'system:administrators')?.members.includes(prior.attrs.user) ?? false;
      return admin === prior.attrs.admin ? PRESENT : differs(`${prior.attrs.user} ${admin ? 'in' : 'not in'} system:administrators`, 'will be set');
    }
    case 'pts-group': {
      const g = own(prdb, prior.attrs.group);
      if (g?.kind !== 'group') return absent(`pts examine ${prior.attrs.group}: User or group doesn't exist`);
      const members = [...g.members].sort().join(', ');
      return members === [...prior.attrs.members].sort().join(', ') ? PRESENT : differs(`members ${members || '(none)'}`, 'will be set');
    }
    case 'volume':
      return instance(w, prior.attrs.volume) ? PRESENT : absent(`vos examine ${prior.attrs.volume}: no such volume on ${prior.attrs.server} ${prior.attrs.partition}`);
    case 'quota': {
      const v = instance(w, prior.attrs.volume);
      if (!v) return PRESENT; // the volume says it is gone
      return v.maxquota === prior.attrs.max_kb ? PRESENT : differs(`quota ${v.maxquota} KB`, `will be set to ${prior.attrs.max_kb} KB`);
    }
    case 'mount': {
      const v = instance(w, prior.attrs.in_volume);
      if (!v) return PRESENT;
      const m = own(v.mounts, prior.attrs.dir);
      if (!m) return absent(`fs lsmount ${prior.attrs.path}: not a mount point`);
      return m.volume === prior.attrs.volume && m.rw === prior.attrs.rw ? PRESENT : differs(`${prior.attrs.path} mounting ${m.rw ? '%' : '#'}${m.volume}`, 'will be made again');
    }
    case 'acl': {
      const v = instance(w, prior.attrs.volume);
      if (!v) return PRESENT;
      return same(v.acls['/'], prior.attrs.normal) && same(v.negative['/'], prior.attrs.negative) ? PRESENT : differs(`another ACL on ${prior.attrs.path}`, 'will be set');
    }
    case 'ro-site': {
      const entry = w.afs ? own(w.afs.vldb.entries, prior.attrs.volume) : undefined;
      const site = entry?.sites?.find((x) => x.server === prior.attrs.server && x.partition === prior.attrs.partition);
      return site ? PRESENT : absent(`vos listvldb ${prior.attrs.volume}: no RO site on ${prior.attrs.server} ${prior.attrs.partition}`);
    }
    case 'release': {
      const rw = instance(w, prior.attrs.volume);
      const entry = w.afs ? own(w.afs.vldb.entries, prior.attrs.volume) : undefined;
      if (!rw || !entry) return PRESENT;
      const stale = (entry.sites ?? []).filter((site) => {
        const ro = instance(w, prior.attrs.volume, 'ro', site);
        return !site.released || !ro || contentOf(ro).join('|') !== contentOf(rw).join('|');
      });
      return stale.length ? differs(`read-only clones on ${stale.map((x) => `${x.server} ${x.partition}`).join(', ')} not released or older than the RW's mount points and ACL`, 'vos release') : PRESENT;
    }
    case 'backup':
      return instance(w, prior.attrs.volume, 'bk') ? PRESENT : absent(`vos examine ${prior.attrs.volume}.backup: no such volume`);
    case 'keytab': {
      const full = qualify(prior.attrs.principal, prior.attrs.realm);
      const kt = own(w.keytabs, full);
      const entry = own(w.kdcs, prior.attrs.kdc)?.db[full];
      if (!own(w.kdcs, prior.attrs.kdc)) return PRESENT; // the KDC says it is gone
      if (!kt || !entry) return absent(`no ${!entry ? `principal ${full} in the KDC` : `keytab for ${full}`}`);
      return kt.kvno === entry.kvno && kt.key_check === entry.key_check ? PRESENT : differs(`the keytab's key (kvno ${kt.kvno}) is not the KDC's (kvno ${entry.kvno})`, 'ktadd again');
    }
    case 'cross-realm': {
      const keys = prior.attrs.kdcs.map((g) => own(w.kdcs, g)?.db[prior.attrs.principal]);
      if (prior.attrs.kdcs.some((g) => !own(w.kdcs, g))) return PRESENT; // a KDC gone says so itself
      if (keys.some((k) => !k)) return absent(`${prior.attrs.principal} is missing from a realm's KDC`);
      return keys[0]!.key_check === keys[1]!.key_check && keys[0]!.kvno === keys[1]!.kvno
        ? PRESENT : { state: 'degraded', reason: `found ${prior.attrs.principal} with different keys in ${prior.attrs.client_realm} and ${prior.attrs.service_realm}: will be made again`, repair: 'replace' };
    }
    default:
      return PRESENT;
  }
}
