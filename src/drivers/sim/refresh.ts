// Refresh on the sim: what the simulated hypervisor really holds of a recorded resource, in the
// words `xm list` and the guests' own tools would use. Pure: reading changes nothing.
import type { AppliedResource, Observed } from '../driver.js';
import { PRESENT } from '../driver.js';
import { qualify } from './kerberos.js';
import { domainOf, own, type World } from './world.js';

const absent = (reason: string): Observed => ({ state: 'absent', reason });
const stopped = (what: string): Observed => ({ state: 'degraded', reason: `found ${what} not running: will be restarted`, repair: 'update' });

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
      return PRESENT;
  }
}
