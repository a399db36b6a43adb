// Addresses: every server is named by its IP (krb5.conf's kdc lines, CellServDB, the VLDB's server
// entries), so a server needs one, and two interfaces must not share one.
import type { Role } from '../../catalog/types.js';
import type { Finding } from '../types.js';
import { assignments } from './software.js';
import type { Rule } from './util.js';

const ROLE_WORDS: Record<Role, string> = {
  kdc: 'a KDC (krb5.conf names it by address)',
  'afs-db': 'an AFS database server (CellServDB lists it by address; ubik votes by address)',
  'afs-fs': 'an AFS fileserver (it registers its addresses in the VLDB)',
  'afs-client': 'an AFS client (it reaches the servers over the network)',
};

/** A guest with a Kerberos or AFS role and no vif with an `ip`: nothing can reach it, and it can reach nothing. */
export const serviceWithoutAddress: Rule = (spec) => {
  const roles = new Map<string, Role[]>();
  for (const a of assignments(spec)) {
    const list = roles.get(a.guest);
    if (list) {
      if (!list.includes(a.role)) list.push(a.role);
    } else roles.set(a.guest, [a.role]);
  }
  const out: Finding[] = [];
  for (const [guest, rs] of roles) {
    const g = spec.guests[guest];
    if (!g || g.vifs.some((v) => v.ip !== undefined)) continue;
    out.push({
      code: 'service-without-address',
      severity: 'error',
      subject: `guest.${guest}`,
      message: `${guest} runs ${rs.map((r) => ROLE_WORDS[r]).join(', ')}, but has ${g.vifs.length ? 'no vif with an ip' : 'no vif'}`,
      fix: `give ${guest} a vif with an address, e.g. vifs: [{ mac: "00:16:3e:xx:xx:xx", bridge: ${spec.hosts[g.host]?.bridges[0] ?? 'xenbr0'}, ip: 10.0.0.x }]`,
      pos: spec.posOf(g.vifs.length ? ['guests', guest, 'vifs'] : ['guests', guest]),
    });
  }
  return out;
};

/**
 * One IPv4 address on two interfaces of the cell. The cell is one network (the simulator routes all
 * bridges to each other; the netns driver joins same-named bridges), so the two would answer ARP for it
 * in turn; three db servers on one address are one server to ubik.
 */
export const duplicateIp: Rule = (spec) => {
  const out: Finding[] = [];
  const first = new Map<string, { guest: string; vif: number }>();
  const dbs = new Set(spec.afs?.dbservers ?? []);
  for (const g of Object.values(spec.guests)) {
    g.vifs.forEach((v, i) => {
      if (v.ip === undefined) return;
      const prior = first.get(v.ip);
      if (!prior) {
        first.set(v.ip, { guest: g.name, vif: i });
        return;
      }
      const ubik = dbs.has(g.name) && dbs.has(prior.guest) && prior.guest !== g.name
        ? `; ${prior.guest} and ${g.name} are both database servers, and ubik would count one server where the CellServDB lists two`
        : '';
      out.push({
        code: 'duplicate-ip',
        severity: 'error',
        subject: `guest.${g.name}`,
        message: `${g.name} vif ${i}: address ${v.ip} is already ${prior.guest} vif ${prior.vif}'s${ubik}`,
        fix: `give ${g.name} vif ${i} an address of its own`,
        pos: spec.posOf(['guests', g.name, 'vifs', i, 'ip']),
      });
    });
  }
  return out;
};
