// Kerberos and AFS software on their guests: platform support, known issues from the catalog, ubik quorum.
import { guestKernelKind } from '../../kmod/resolve.js';
import type { Catalog, KernelKind, Role, SoftwareEntry } from '../../catalog/types.js';
import type { CellSpec, Path } from '../../config/types.js';
import type { CodeDoc, Finding } from '../types.js';
import type { Rule } from './util.js';
import { addr } from '../../plan/addrs.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md (known issues are catalog data). */
export const CODES: readonly CodeDoc[] = [
  {
    code: 'software-unsupported-os', severity: 'error', title: 'the software does not run on the guest\'s OS (or has no client module for its kernel)',
    explanation: "Each Kerberos and AFS release runs on some platforms only; an AFS client also needs a kernel module built for the guest's kind of kernel (OpenAFS 1.4 has Linux and Solaris client modules but none for NetBSD, where Arla's nnpfs is used).",
    fix: 'Use software that runs there (the finding names it), or run the role on a guest with a supported OS.',
  },
  {
    code: 'software-role-unsupported', severity: 'error', title: 'the software cannot serve that role',
    explanation: 'Heimdal and MIT krb5 are KDCs, OpenAFS provides database servers, fileservers and a client, Arla only a client. A KDC named as AFS server software (or the reverse) cannot work.',
    fix: 'Name software that provides the role (`cellctl catalog software` lists the roles of each).',
  },
  {
    code: 'afs-db-quorum', severity: 'warning', title: 'an even number of AFS database servers',
    explanation: "Ubik elects a sync site by majority, with the lowest-addressed server breaking ties: with 2 servers, losing the lowest-addressed one loses quorum and the databases go read-only, so the second adds no write availability; 2n servers tolerate no more failures than 2n-1.",
    fix: 'Use an odd number of database servers (1 for a throwaway test cell, 3 to test elections).',
  },
];

/** One piece of software serving one role on one guest, with the plan address and spec node it comes from. */
interface Assignment {
  guest: string;
  role: Role;
  software: string;
  subject: string;
  path: Path;
}

export function assignments(spec: CellSpec): Assignment[] {
  const out: Assignment[] = [];
  const krb = spec.kerberos;
  krb?.kdcs.forEach((guest, i) =>
    out.push({ guest, role: 'kdc', software: krb.software, subject: addr.kdc(guest), path: ['kerberos', 'kdcs', i] }),
  );
  const afs = spec.afs;
  if (afs) {
    afs.dbservers.forEach((guest, i) =>
      out.push({ guest, role: 'afs-db', software: afs.software, subject: addr.afsDb(guest), path: ['afs', 'dbservers', i] }),
    );
    for (const guest of Object.keys(afs.fileservers)) {
      out.push({ guest, role: 'afs-fs', software: afs.software, subject: addr.afsFs(guest), path: ['afs', 'fileservers', guest] });
    }
    for (const [guest, software] of Object.entries(afs.clients)) {
      out.push({ guest, role: 'afs-client', software, subject: addr.afsClient(guest), path: ['afs', 'clients', guest] });
    }
  }
  return out;
}

/** Software that does serve `role` on `kind`, for the fix text. */
function alternatives(catalog: Catalog, role: Role, kind: KernelKind): string[] {
  const ok = (s: SoftwareEntry) =>
    s.roles.includes(role) && s.runs_on.includes(kind) && (role !== 'afs-client' || s.client_modules?.[kind] !== undefined);
  return [...catalog.software.values()].filter(ok).map((s) => s.id);
}

export const softwareUnsupportedOs: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  for (const a of assignments(spec)) {
    const sw = catalog.software.get(a.software);
    const g = spec.guests[a.guest];
    const os = g && catalog.os.get(g.os);
    if (!sw || !g || !os) continue;
    let problem: string | undefined;
    let code = 'software-unsupported-os';
    if (!sw.roles.includes(a.role)) {
      code = 'software-role-unsupported';
      problem = `${sw.id} cannot serve as ${a.role} (it provides ${sw.roles.join(', ')})`;
    } else if (!sw.runs_on.includes(os.kernel_kind)) {
      problem = `${sw.id} does not run on ${os.name} (${os.kernel_kind}); it runs on ${sw.runs_on.join(', ')}`;
    } else if (a.role === 'afs-client' && sw.client_modules) {
      const kind = guestKernelKind(g, catalog);
      if (sw.client_modules[kind] === undefined) {
        problem = `${sw.id} has no AFS client kernel module for ${kind} kernels (it has ${Object.keys(sw.client_modules).join(', ')})`;
      }
    }
    if (!problem) continue;
    const alt = alternatives(catalog, a.role, os.kernel_kind).filter((id) => id !== sw.id);
    out.push({
      code,
      severity: 'error',
      subject: a.subject,
      message: `${a.guest}: ${problem}`,
      fix: alt.length ? `use ${alt.join(' or ')} for ${a.role} on ${a.guest}` : `run ${a.role} on a guest whose OS ${sw.id} supports`,
      pos: spec.posOf(a.path),
    });
  }
  return out;
};

/** Known issues are data on the software entry; every guest is a Xen domU, so 'xen-domu' issues always apply. */
export const knownIssues: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const a of assignments(spec)) {
    const sw = catalog.software.get(a.software);
    if (!sw || !spec.guests[a.guest]) continue;
    for (const issue of sw.known_issues ?? []) {
      const key = `${a.guest}\0${sw.id}\0${issue.code}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        code: issue.code,
        severity: issue.severity,
        subject: a.subject,
        message: `${a.guest}: ${issue.message}`,
        ...(issue.fix ? { fix: issue.fix } : {}),
        pos: spec.posOf(a.path),
      });
    }
  }
  return out;
};

/** Ubik elects a sync site by majority; the lowest address breaks ties, so even counts add no availability. */
export const afsDbQuorum: Rule = (spec) => {
  const db = spec.afs?.dbservers ?? [];
  const n = db.length;
  if (n < 2 || n % 2 !== 0) return [];
  const message =
    n === 2
      ? `ubik: 2 database servers (${db.join(', ')}): a sync site needs more than half the votes, so if the lowest-addressed one is down the other cannot reach quorum and the cell's databases go read-only; the second server adds no write availability`
      : `ubik: ${n} database servers tolerate no more failures than ${n - 1}; losing half of them (with the lowest-addressed one) loses quorum`;
  return [
    {
      code: 'afs-db-quorum',
      severity: 'warning',
      subject: addr.afsDb(db[0]),
      message,
      fix: `use an odd number of database servers (${n === 2 ? '3, or 1 for a throwaway test cell' : `${n - 1} or ${n + 1}`})`,
      pos: spec.posOf(['afs', 'dbservers']),
    },
  ];
};
