// Addresses: every server is named by its IP (krb5.conf's kdc lines, CellServDB, the VLDB's server
// entries), so a server needs one, and two interfaces must not share one.
import type { Role } from '../../catalog/types.js';
import type { CellSpec } from '../../config/types.js';
import { networkOf } from '../../config/net.js';
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
        subject: `guest.${g.name}`,
        message: `${g.name} vif ${i}: address ${v.ip} is already ${prior.guest} vif ${prior.vif}'s${ubik}`,
        fix: `give ${g.name} vif ${i} an address of its own`,
        pos: spec.posOf(['guests', g.name, 'vifs', i, 'ip']),
      });
    });
  }
  return out;
};

/** Where a guest can be reached: "bridge network" for each vif with an address. */
function segments(spec: CellSpec, guest: string): Set<string> {
  return new Set((spec.guests[guest]?.vifs ?? []).flatMap((v) => (v.ip === undefined ? [] : [`${v.bridge} ${networkOf(v.ip)}`])));
}

/**
 * Who must reach whom for the cell to come up and be used: replica KDCs their master (kprop), db
 * servers each other (ubik), fileservers the db servers (VLDB), clients the db servers, the
 * fileservers and the master KDC (kinit). Two guests reach each other on a bridge they share
 * (same-named bridges of different hosts are one LAN, as for live migration) with addresses in one
 * network; cellctl routes nothing between bridges or networks.
 */
export const serviceUnreachable: Rule = (spec) => {
  const krb = spec.kerberos;
  const afs = spec.afs;
  const master = krb?.kdcs[0];
  const needs: [string, string, string][] = []; // from, to, why
  if (krb && master) for (const k of krb.kdcs.slice(1)) needs.push([k, master, `replica KDC ${k} gets the database from the master ${master} (kprop)`]);
  if (afs) {
    afs.dbservers.forEach((a, i) => {
      for (const b of afs.dbservers.slice(i + 1)) needs.push([a, b, `database servers ${a} and ${b} vote with each other (ubik)`]);
    });
    const fileservers = Object.keys(afs.fileservers);
    for (const fs of fileservers) for (const db of afs.dbservers) needs.push([fs, db, `fileserver ${fs} registers with the VLDB on ${db}`]);
    for (const c of Object.keys(afs.clients)) {
      for (const db of afs.dbservers) needs.push([c, db, `AFS client ${c} asks the VLDB on ${db} where volumes are`]);
      for (const fs of fileservers) needs.push([c, fs, `AFS client ${c} reads volumes from fileserver ${fs}`]);
      if (master) needs.push([c, master, `AFS client ${c} gets tickets (kinit) from the KDC on ${master}`]);
    }
  }
  const seen = new Map<string, Set<string>>();
  const seg = (g: string) => seen.get(g) ?? (seen.set(g, segments(spec, g)), seen.get(g)!);
  const out: Finding[] = [];
  const reported = new Set<string>();
  for (const [from, to, why] of needs) {
    if (from === to || !spec.guests[from] || !spec.guests[to]) continue;
    const a = seg(from);
    const b = seg(to);
    // Guests without an address are the service-without-address rule's.
    if (a.size === 0 || b.size === 0 || [...a].some((s) => b.has(s))) continue;
    const key = [from, to].sort().join('\0');
    if (reported.has(key)) continue;
    reported.add(key);
    const show = (s: Set<string>) => [...s].map((x) => x.replace(' ', ' with ')).join(', ');
    out.push({
      code: 'service-unreachable',
      severity: 'error',
      subject: `guest.${from}`,
      message: `${from} cannot reach ${to}: ${why}, but they share no bridge and network (${from}: ${show(a)}; ${to}: ${show(b)})`,
      fix: `put a vif of ${from} and of ${to} on one bridge, with addresses in one network`,
      pos: spec.posOf(['guests', from, 'vifs']),
    });
  }
  return out;
};
