// What a machine outside the cell needs to join it, from the recorded resources: CellServDB and
// ThisCell (OpenAFS's client configuration), krb5.conf (every realm with its KDCs' addresses, the
// cross-realm paths). Nothing secret: keytabs are written by the caller, 0600.
import type { GuestAttrs, KdcAttrs, ResourceType } from '../plan/resources.js';

export interface Recorded { type: ResourceType; attrs: object }

/** What the client files say, worked out once (cellctl output shows the same). */
export interface CellView {
  cell: string;
  realm: string;
  ips: Record<string, string[]>; // guest -> addresses
  realms: Record<string, { kdcs: { guest: string; ip: string | null; role: string }[]; software: string }>;
  dbservers: { guest: string; ip: string | null }[];
  trusts: [string, string][]; // [client realm, service realm]
}

export function cellView(cell: string, realm: string, resources: Record<string, Recorded>): CellView {
  const ips: Record<string, string[]> = {};
  for (const [a, r] of Object.entries(resources)) {
    if (r.type !== 'guest') continue;
    ips[a.slice('guest.'.length)] = (r.attrs as GuestAttrs).vifs.flatMap((v) => (v.ip ? [v.ip] : []));
  }
  const ip = (g: string) => ips[g]?.[0] ?? null;
  const realms: CellView['realms'] = {};
  const kdcs = Object.values(resources).filter((r) => r.type === 'kdc').map((r) => r.attrs as KdcAttrs);
  for (const k of kdcs.sort((a, b) => Number(a.role === 'replica') - Number(b.role === 'replica'))) {
    const r = (realms[k.realm] ??= { kdcs: [], software: k.software });
    r.kdcs.push({ guest: k.guest, ip: ip(k.guest), role: k.role });
  }
  const dbservers = Object.values(resources).filter((r) => r.type === 'afs-db').map((r) => (r.attrs as { guest: string }).guest)
    .map((g) => ({ guest: g, ip: ip(g) }));
  const trusts = Object.values(resources).filter((r) => r.type === 'cross-realm')
    .map((r) => [(r.attrs as { client_realm: string }).client_realm, (r.attrs as { service_realm: string }).service_realm] as [string, string]);
  return { cell, realm, ips, realms, dbservers, trusts };
}

export function cellServDB(v: CellView): string {
  return [`>${v.cell}    #Cell name`, ...v.dbservers.filter((d) => d.ip).map((d) => `${d.ip}           #${d.guest}.${v.cell}`), ''].join('\n');
}

export function krb5Conf(v: CellView): string {
  const lines = [
    '# The Kerberos realms of AFS cell ' + v.cell + ' (cellctl export --format client); point KRB5_CONFIG here.',
    '[libdefaults]',
    `\tdefault_realm = ${v.realm}`,
    '\tdns_lookup_kdc = false',
    '\tdns_lookup_realm = false',
    '\trdns = false',
    '',
    '[realms]',
  ];
  for (const [realm, r] of Object.entries(v.realms)) {
    lines.push(`\t${realm} = {`, ...r.kdcs.filter((k) => k.ip).map((k) => `\t\tkdc = ${k.ip}`));
    const master = r.kdcs.find((k) => k.role === 'master');
    if (master?.ip) lines.push(`\t\tadmin_server = ${master.ip}`);
    lines.push('\t}');
  }
  lines.push('', '[domain_realm]', `\t.${v.cell} = ${v.realm}`, `\t${v.cell} = ${v.realm}`);
  if (v.trusts.length) {
    // Direct paths: each trusted realm shares a key with the cell's realm (krbtgt/B@A).
    lines.push('', '[capaths]');
    const from = new Map<string, string[]>();
    for (const [c, s] of v.trusts) (from.get(c) ?? from.set(c, []).get(c)!).push(s);
    for (const [c, ss] of from) lines.push(`\t${c} = {`, ...ss.map((s) => `\t\t${s} = .`), '\t}');
  }
  return lines.join('\n') + '\n';
}
