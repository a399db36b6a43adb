// Keys: what a KDC release can make (keytabs, the afs/<cell> key) and what AFS servers take, and the
// trust a user of another realm needs to get AFS tokens (catalog data: kdc_enctypes, service_key).
import { serviceKeyEnctypes } from '../../catalog/keys.js';
import { foreignRealm } from '../../config/afs.js';
import type { CellSpec } from '../../config/types.js';
import { addr, names } from '../../plan/addrs.js';
import type { CodeDoc, Finding } from '../types.js';
import type { Rule } from './util.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: 'keytab-enctype-unsupported', severity: 'error', title: "a keytab asks for a key type the realm's KDC does not make",
    explanation: "kadmin makes a principal's keys in the enctypes its release supports: MIT krb5 1.4 and Heimdal 0.7 still make single-DES keys; MIT krb5 dropped them in 1.18 (a request for des-cbc-crc quietly gives AES keys), camellia is MIT's only. A service that needs the key type it asked for (an old AFS or NFS server wants single DES) then cannot use the keytab.",
    fix: "Ask for enctypes the KDC software makes (`cellctl catalog software ID` lists them), or use KDC software that makes the ones the service needs.",
  },
  {
    code: 'afs-service-key-enctype', severity: 'error', title: "the KDC cannot make an afs/<cell> key the AFS servers take",
    explanation: "OpenAFS before 1.6.5 (rxkad without rxkad-k5) takes only single-DES service keys; a KDC that makes no DES keys (MIT krb5 1.18 and later) leaves the servers without a key they can use, and every token is refused.",
    fix: "Use KDC software that makes single-DES keys for an OpenAFS 1.4 cell (heimdal-0.72, mit-krb5-1.4.4), or AFS server software with rxkad-k5 (openafs-1.8.9).",
  },
  {
    code: 'afs-foreign-realm-untrusted', severity: 'error', title: "a user of another realm is in the cell, but that realm is not trusted",
    explanation: "aklog gets a user of realm B a token for a cell of realm A by asking B's KDC for krbtgt/A@B, then A's KDC for afs/<cell>@A. Without that cross-realm key the user has Kerberos tickets of B only, and no AFS identity in the cell: the pts entry, group memberships and ACL entries are never used.",
    fix: "Add the realm to kerberos.trusts (cellctl makes krbtgt/A@B and krbtgt/B@A).",
  },
];

/** Keytab enctypes the realm's KDC software does not make. */
export const keytabEnctypeUnsupported: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  const realms = [
    ...(spec.kerberos ? [{ realm: spec.realm, software: spec.kerberos.software, keytabs: spec.kerberos.keytabs, at: ['kerberos'] }] : []),
    ...Object.values(spec.realms).map((r) => ({ realm: r.realm, software: r.software, keytabs: r.keytabs, at: ['realms', r.realm] })),
  ];
  for (const r of realms) {
    const kdc = catalog.software.get(r.software)?.kdc_enctypes;
    if (!kdc) continue;
    r.keytabs.forEach((k, i) => {
      const bad = k.enctypes.filter((e) => !(kdc.supported as string[]).includes(e));
      if (!bad.length) return;
      const ignored = bad.filter((e) => (kdc.ignored as string[] | undefined)?.includes(e));
      out.push({
        code: 'keytab-enctype-unsupported',
        severity: 'error',
        subject: addr.keytab(names.principal(k.principal, r.realm, spec.realm)),
        message: `${r.software} does not make ${bad.join(', ')} keys for ${k.principal}@${r.realm}` +
          (ignored.length ? ` (kadmin accepts the name and quietly makes ${kdc.supported.filter((e) => e.startsWith('aes')).slice(0, 2).join(', ')} keys instead)` : ''),
        fix: `use enctypes ${r.software} makes: ${kdc.supported.join(', ')}`,
        pos: spec.posOf([...r.at, 'keytabs', i, 'enctypes']),
      });
    });
  }
  return out;
};

/** No enctype both the AFS servers take and the KDC makes. */
export const afsServiceKeyEnctype: Rule = (spec, catalog) => {
  if (!spec.afs || !spec.kerberos) return [];
  if (serviceKeyEnctypes(catalog, spec.afs.software, spec.kerberos.software, 'catalog').length) return [];
  const takes = catalog.software.get(spec.afs.software)?.service_key?.enctypes ?? [];
  return [{
    code: 'afs-service-key-enctype',
    severity: 'error',
    subject: addr.serviceKey(spec.cell),
    message: `${spec.afs.software} servers take ${takes.join(', ')} keys for afs/${spec.cell}; ${spec.kerberos.software} makes none of them`,
    fix: `use KDC software that makes ${takes[0] ?? 'those'} keys, or AFS server software that takes the KDC's`,
    pos: spec.posOf(['kerberos', 'software']),
  }];
};

/** Users of a realm the cell's realm does not trust, wherever the AFS part names them. */
export const afsForeignRealmUntrusted: Rule = (spec: CellSpec) => {
  const afs = spec.afs;
  if (!afs) return [];
  const trusted = new Set(spec.kerberos?.trusts ?? []);
  const out: Finding[] = [];
  const seen = new Set<string>();
  const check = (user: string, path: (string | number)[]) => {
    const realm = foreignRealm(user);
    if (!realm || trusted.has(realm) || user.startsWith('system:') || seen.has(user)) return;
    seen.add(user);
    out.push({
      code: 'afs-foreign-realm-untrusted',
      severity: 'error',
      subject: addr.ptsName(user),
      message: `${user} is a user of ${realm}, which ${spec.realm} does not trust: aklog cannot get krbtgt/${spec.realm}@${realm}, so ${user} gets no token for ${spec.cell}`,
      fix: `add ${realm} to kerberos.trusts`,
      pos: spec.posOf(path),
    });
  };
  for (const u of Object.keys(afs.users)) check(u, ['afs', 'users', u]);
  for (const g of afs.groups) g.members.forEach((m, i) => check(m, ['afs', 'groups', g.name, 'members', i]));
  for (const a of afs.acls) for (const who of [...Object.keys(a.normal), ...Object.keys(a.negative)]) check(who, ['afs', 'acls', a.path, who]);
  return out;
};
