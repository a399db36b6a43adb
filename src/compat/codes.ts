// Every finding code and what it means: the rules' own documentation (beside each rule) and the
// known issues that are catalog data. One source for `cellctl explain` and docs/finding-codes.md.
import type { Catalog } from '../catalog/types.js';
import { CODES as MODULE_CODES } from './rules/modules.js';
import { CODES as RESOURCE_CODES } from './rules/resources.js';
import { CODES as SOFTWARE_CODES } from './rules/software.js';
import { CODES as XEN_CODES } from './rules/xen.js';
import { CODES as AFS_CODES } from './rules/afs.js';
import { CODES as DISK_CODES } from './rules/disks.js';
import { CODES as NETWORK_CODES } from './rules/network.js';
import { CODES as PRINCIPAL_CODES } from './rules/principals.js';
import { CODES as AFS_CONTENT_CODES } from './rules/afs-contents.js';
import { CODES as KERBEROS_CODES } from './rules/kerberos.js';
import { CODES as AFS_BUILD_CODES } from './rules/afs-build.js';
import type { CodeDoc } from './types.js';

export interface CodeInfo extends CodeDoc {
  /** A known issue from the catalog: the software it is about and where the fact comes from. */
  knownIssue?: { software: string[]; source: string };
}

export const RULE_CODES: readonly CodeDoc[] = [
  ...XEN_CODES, ...MODULE_CODES, ...RESOURCE_CODES, ...DISK_CODES, ...NETWORK_CODES, ...PRINCIPAL_CODES, ...AFS_CODES, ...SOFTWARE_CODES, ...KERBEROS_CODES, ...AFS_CONTENT_CODES, ...AFS_BUILD_CODES,
];

/** Rule codes, then the catalog's known issues (one entry per code, naming every software that has it). */
export function findingCodes(catalog: Catalog): CodeInfo[] {
  const issues = new Map<string, CodeInfo>();
  for (const sw of catalog.software.values()) {
    for (const k of sw.known_issues ?? []) {
      const prior = issues.get(k.code);
      if (prior?.knownIssue) {
        prior.knownIssue.software.push(sw.id);
        continue;
      }
      issues.set(k.code, {
        code: k.code, severity: k.severity, title: k.message,
        explanation: `A known issue of ${sw.id}, reported for every guest that runs it (${k.when === 'xen-domu' ? 'as a Xen domU' : k.when}). It is catalog data, not a rule: it says what others have seen.`,
        fix: k.fix ?? 'Nothing to change in the cell file; keep it in mind when something fails.',
        knownIssue: { software: [sw.id], source: k.source },
      });
    }
  }
  return [...RULE_CODES, ...[...issues.values()].sort((a, b) => a.code.localeCompare(b.code))];
}
