// Addresses: every server is named by its IP (krb5.conf's kdc lines, CellServDB, the VLDB's server
// entries), so a server needs one, and two interfaces must not share one.
import type { Role } from '../../catalog/types.js';
import type { CellSpec } from '../../config/types.js';
import { networkOf } from '../../config/net.js';
import type { CodeDoc, Finding } from '../types.js';
import { assignments } from './software.js';
import type { Rule } from './util.js';
import { addr } from '../../plan/addrs.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: "service-without-address", severity: "error", title: "a guest runs a KDC or an AFS server but has no address",
    explanation: "Kerberos clients find a KDC by the address in krb5.conf, AFS clients and servers find database servers by the addresses in CellServDB, and a fileserver registers its addresses in the VLDB: a service guest with no vif, or no ip on its vifs, cannot be reached by anyone.",
    fix: "Give the guest a vif with an ip on a bridge its clients can reach.",
  },
  {
    code: "duplicate-ip", severity: "error", title: "two vifs have the same IP address",
    explanation: "Two interfaces answering one address on a network split its traffic; for AFS database servers it is worse: ubik counts votes per address, so two db servers on one IP are one voter where the CellServDB lists two.",
    fix: "Give every vif its own address.",
  },
  {
    code: "service-unreachable", severity: "error", title: "a guest cannot reach a server it needs over the cell's networks",
    explanation: "Kerberos clients talk to every KDC, AFS clients and servers to every database server and the fileservers: each must share a network (a bridge with an ip in the same subnet) with the servers it uses. Bridges of different hosts with the same name are one broadcast domain (the seed's setup); separate names or subnets are not routed by cellctl.",
    fix: "Put the guest on a bridge and subnet the servers are on, or give it a second vif there.",
  },
];

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
      subject: addr.guest(guest),
      message: `${guest} runs ${rs.map((r) => ROLE_WORDS[r]).join(', ')}, but has ${g.vifs.length ? 'no vif with an ip' : 'no vif'}`,
      fix: `give ${guest} a vif with an address, e.g. vifs: [{ mac: "00:16:3e:xx:xx:xx", bridge: ${spec.hosts[g.host]?.bridges[0] ?? 'xenbr0'}, ip: 10.0.0.x }]`,
      pos: spec.posOf(['guests', guest, 'vifs']), // the guest itself when it has no vifs: key
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
        subject: addr.guest(g.name),
        message: `${g.name} vif ${i}: address ${v.ip} is already ${prior.guest} vif ${prior.vif}'s${ubik}`,
        fix: `give ${g.name} vif ${i} an address of its own`,
        pos: spec.posOf(['guests', g.name, 'vifs', i, 'ip']),
      });
    });
  }
  return out;
};

/** Where a guest can be reached: "bridge network" for each vif with an address. */
function segments(spec: CellSpec, guest: string): string[] {
  return [...new Set((spec.guests[guest]?.vifs ?? []).flatMap((v) => (v.ip === undefined ? [] : [`${v.bridge} ${networkOf(v.ip)}`])))].sort();
}

/**
 * Who must reach whom for the cell to come up and be used: replica KDCs their master (kprop), db
 * servers each other (ubik), fileservers the db servers (VLDB), clients the db servers, the
 * fileservers and the master KDC (kinit). Two guests reach each other on a bridge they share
 * (same-named bridges of different hosts are one LAN, as for live migration) with addresses in one
 * network; cellctl routes nothing between bridges or networks. Guests are grouped by where they
 * are, so a 10,000-guest cell costs one check per client and place, not per pair.
 */
export const serviceUnreachable: Rule = (spec) => {
  const krb = spec.kerberos;
  const afs = spec.afs;
  const master = krb?.kdcs[0];
  const needs: { from: string[]; to: string[]; why: string }[] = [];
  if (krb && master) needs.push({ from: krb.kdcs.slice(1), to: [master], why: 'a replica KDC gets its database from the master (kprop)' });
  if (afs) {
    const fileservers = Object.keys(afs.fileservers);
    needs.push({ from: afs.dbservers, to: afs.dbservers, why: 'database servers vote with each other (ubik)' });
    needs.push({ from: fileservers, to: afs.dbservers, why: 'a fileserver registers with the VLDB on the database servers' });
    needs.push({
      from: Object.keys(afs.clients), to: [...new Set([...afs.dbservers, ...fileservers, ...(master ? [master] : [])])],
      why: 'an AFS client asks the database servers, reads from the fileservers and gets tickets from the master KDC',
    });
  }
  const placeOf = new Map<string, string[]>();
  const place = (g: string) => placeOf.get(g) ?? (placeOf.set(g, segments(spec, g)), placeOf.get(g)!);
  const meet = new Map<string, boolean>();
  const reach = (a: string[], b: string[]) => {
    const key = `${a.join('|')}\0${b.join('|')}`;
    let ok = meet.get(key);
    if (ok === undefined) meet.set(key, (ok = a.some((s) => b.includes(s))));
    return ok;
  };
  const show = (s: string[]) => s.map((x) => x.replace(' ', ' with ')).join(', ');
  const out: Finding[] = [];
  for (const need of needs) {
    // Targets grouped by where they are; guests without an address are service-without-address's.
    const groups = new Map<string, { at: string[]; guests: string[] }>();
    for (const t of need.to) {
      if (!spec.guests[t] || place(t).length === 0) continue;
      const key = place(t).join('|');
      const grp = groups.get(key) ?? (groups.set(key, { at: place(t), guests: [] }), groups.get(key)!);
      grp.guests.push(t);
    }
    for (const from of new Set(need.from)) {
      if (!spec.guests[from] || place(from).length === 0) continue;
      const away = [...groups.values()].filter((grp) => !reach(place(from), grp.at));
      const targets = away.flatMap((grp) => grp.guests).filter((t) => t !== from);
      if (targets.length === 0) continue;
      const first = place(targets[0]!);
      out.push({
        code: 'service-unreachable',
        severity: 'error',
        subject: addr.guest(from),
        message: `${from} cannot reach ${targets.slice(0, 5).join(', ')}${targets.length > 5 ? ` and ${targets.length - 5} more` : ''}: ${need.why}, ` +
          `but they share no bridge and network (${from}: ${show(place(from))}; ${targets[0]}: ${show(first)})`,
        fix: `put a vif of ${from} on a bridge and network they are on (${show(first)})`,
        pos: spec.posOf(['guests', from, 'vifs']),
      });
    }
  }
  return out;
};
