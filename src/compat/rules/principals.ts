// The cell's principals: names the KDC database already holds, and what AFS makes of them. aklog and
// rxkad map a Kerberos 5 principal name/instance to the AFS name name.instance (only two components),
// and the ptserver lower-cases user names (OpenAFS src/aklog/aklog.c, src/rxkad/ticket5.c,
// src/ptserver/ptprocs.c).
import { addr, names } from '../../plan/addrs.js';
import type { CodeDoc, Finding } from '../types.js';
import type { Rule } from './util.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: "principal-reserved", severity: "error", title: "a principal the KDC's new database already holds",
    explanation: "kdb5_util create (MIT) or kadmin -l init (Heimdal) makes krbtgt/REALM, K/M, kadmin/admin and the like; the cell's afs/<cell> key is made by cellctl itself. Adding one of them again fails: 'Principal or policy already exists'.",
    fix: "Drop it from kerberos.principals: the KDC (or cellctl, for afs/<cell>) makes it.",
  },
  {
    code: "pts-name-collision", severity: "error", title: "two principals map to the same AFS user name",
    explanation: "aklog and the ptserver name a Kerberos principal name/instance as name.instance, lower-cased: kula/admin and kula.admin (or Kula and kula) are the same AFS user, and the second pts createuser fails with 'Entry for name already exists'.",
    fix: "Keep one of the two principals.",
  },
  {
    code: "pts-name-invalid", severity: "error", title: "a principal's AFS user name is too long for the ptserver",
    explanation: "The protection database keeps names shorter than PR_MAXNAMELEN (64 bytes): pts createuser refuses a longer name as 'Badly formed name'.",
    fix: "Use a shorter principal name.",
  },
  {
    code: "afs-principal-unusable", severity: "warning", title: "a principal that cannot get AFS tokens",
    explanation: "aklog maps a principal to an AFS user by its name; some names (with several instances, or characters pts does not accept) map to no user the ptserver has, so the principal works for Kerberos but gets no tokens. A warning: the cell works, that principal just has no AFS identity.",
    fix: "Use a principal of the form name or name/instance with plain characters if it needs AFS access.",
  },
];

/** PR_MAXNAMELEN (src/ptserver/ptint.xg): 64 with the NUL. */
const PTS_MAX_NAME = 63;

/** The AFS user a principal becomes, as the ptserver stores it. */
const ptsName = (principal: string): string => names.ptsUser(principal).toLowerCase();

/**
 * Principals the KDC database is created with (catalog data), and those cellctl makes itself: afs/<cell>
 * and the cross-realm krbtgt/A@B of trusted realms. In any realm's principals or keytabs.
 */
export const principalReserved: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  const realms = [
    ...(spec.kerberos ? [{ realm: spec.realm, r: spec.kerberos, at: ['kerberos'] }] : []),
    ...Object.values(spec.realms).map((r) => ({ realm: r.realm, r, at: ['realms', r.realm] })),
  ];
  const trusted = new Set(spec.kerberos?.trusts ?? []);
  for (const { realm, r, at } of realms) {
    const db = catalog.software.get(r.software)?.kdc_database;
    const builtin = new Map((db?.principals ?? []).map((p) => [p.replaceAll('{realm}', realm), `${r.software}'s new database holds it`]));
    if (spec.afs && realm === spec.realm) builtin.set(names.serviceKey(spec.cell), `cellctl creates it for the cell's AFS servers (service-key.${names.serviceKey(spec.cell)})`);
    for (const other of [spec.realm, ...trusted]) {
      if (other !== realm && (realm === spec.realm ? trusted.has(other) : other === spec.realm && trusted.has(realm))) {
        builtin.set(`krbtgt/${other}`, `cellctl creates it for the trust between ${spec.realm} and ${realm === spec.realm ? other : realm}`);
      }
    }
    const check = (p: string, path: (string | number)[], subject: string) => {
      const why = builtin.get(p);
      if (!why) return;
      out.push({
        code: 'principal-reserved',
        severity: 'error',
        subject,
        message: `kadmin: add_principal: Principal or policy already exists while creating "${p}@${realm}": ${why}`,
        fix: `drop ${p}${p.startsWith('afs/') || p.startsWith('krbtgt/') ? '' : ` (reserved: ${[...builtin.keys()].join(', ')})`}`,
        pos: spec.posOf(path),
      });
    };
    r.principals.forEach((p, i) => check(p, [...at, 'principals', i], addr.principal(names.principal(p, realm, spec.realm))));
    r.keytabs.forEach((k, i) => check(k.principal, [...at, 'keytabs', i, 'principal'], addr.keytab(names.principal(k.principal, realm, spec.realm))));
  }
  return out;
};

/** Two principals that become one AFS user (kula.admin and kula/admin; Kula and kula). */
export const ptsNameCollision: Rule = (spec) => {
  if (!spec.afs || !spec.kerberos) return [];
  const out: Finding[] = [];
  const first = new Map<string, { principal: string; i: number }>();
  spec.kerberos.principals.forEach((p, i) => {
    const user = ptsName(p);
    const prior = first.get(user);
    if (!prior) {
      first.set(user, { principal: p, i });
      return;
    }
    out.push({
      code: 'pts-name-collision',
      severity: 'error',
      subject: addr.principal(p),
      message: `${p} and ${prior.principal} are both the AFS user ${user} (pts: Entry for name already exists; AFS writes name/instance as name.instance and lower-cases it)`,
      fix: `keep one of ${prior.principal} and ${p}, or rename one`,
      pos: spec.posOf(['kerberos', 'principals', i]),
    });
  });
  return out;
};

/** An AFS user name the ptserver refuses: PRBADNAM for PR_MAXNAMELEN (64) characters or more. */
export const ptsNameInvalid: Rule = (spec) => {
  if (!spec.afs || !spec.kerberos) return [];
  const out: Finding[] = [];
  spec.kerberos.principals.forEach((p, i) => {
    const user = names.ptsUser(p);
    if (user.length <= PTS_MAX_NAME) return;
    out.push({
      code: 'pts-name-invalid',
      severity: 'error',
      subject: addr.principal(p),
      message: `pts createuser ${user.slice(0, 40)}...: Badly formed name (${user.length} characters; AFS user names are shorter than PR_MAXNAMELEN, 64)`,
      fix: `use a principal of at most ${PTS_MAX_NAME} characters`,
      pos: spec.posOf(['kerberos', 'principals', i]),
    });
  });
  return out;
};

/**
 * Principals AFS cannot authenticate: rxkad refuses tickets of more than two components, and (unless
 * the servers run with -allow-dotted-principals) a dot in the first one, which it could not tell from
 * an instance (src/rxkad/ticket5.c). The pts entry is made, but aklog's token is refused.
 */
export const afsPrincipalUnusable: Rule = (spec) => {
  if (!spec.afs || !spec.kerberos) return [];
  const out: Finding[] = [];
  spec.kerberos.principals.forEach((p, i) => {
    const parts = p.split('/');
    const why = parts.length > 2
      ? `it has ${parts.length} components; AFS maps only name and name/instance`
      : parts[0]!.includes('.') ? `its name '${parts[0]}' has a dot, which AFS cannot tell from an instance (servers refuse it unless run with -allow-dotted-principals)` : undefined;
    if (!why) return;
    out.push({
      code: 'afs-principal-unusable',
      severity: 'warning',
      subject: addr.principal(p),
      message: `${p} cannot get AFS tokens: ${why}`,
      fix: `use a principal of the form name or name/instance without dots in the name, e.g. ${parts[0]!.replaceAll('.', '_')}${parts[1] ? `/${parts[1]}` : ''}`,
      pos: spec.posOf(['kerberos', 'principals', i]),
    });
  });
  return out;
};
