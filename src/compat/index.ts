// All compat rules over one cell: pure, catalog-driven, in a stable order (errors first, then by subject).
import type { Catalog } from '../catalog/types.js';
import type { CellSpec } from '../config/types.js';
import { afsRootVolumeMissing } from './rules/afs.js';
import { afsBuild } from './rules/afs-build.js';
import { aclWithoutLookup, ptsGroupPrefix, ptsIdConflict, roCloneUnreachable } from './rules/afs-contents.js';
import { afsForeignRealmUntrusted, afsServiceKeyEnctype, keytabEnctypeUnsupported } from './rules/kerberos.js';
import { duplicateVdev, imageShared } from './rules/disks.js';
import { moduleLoad, moduleNameConflict } from './rules/modules.js';
import { duplicateIp, serviceUnreachable, serviceWithoutAddress } from './rules/network.js';
import { afsPrincipalUnusable, principalReserved, ptsNameCollision, ptsNameInvalid } from './rules/principals.js';
import { bridgeMissing, deviceMissing, deviceShared, duplicateMac, hostMemoryExceeded, macNotXenOui } from './rules/resources.js';
import { afsDbQuorum, knownIssues, softwareUnsupportedOs } from './rules/software.js';
import type { Rule } from './rules/util.js';
import { dom0OsUnsupported, guestOsUnsupported, hvmNeedsVmxSvm, kernelCmdlineTooLong, kernelOsMismatch, kernelXenMismatch } from './rules/xen.js';
import type { Finding } from './types.js';

export type { Finding, Severity } from './types.js';

/** Every rule, each pure (spec, catalog) -> findings. Exported so tests and `--explain` can run one. */
export const RULES: Readonly<Record<string, Rule>> = {
  dom0OsUnsupported,
  guestOsUnsupported,
  hvmNeedsVmxSvm,
  kernelXenMismatch,
  kernelOsMismatch,
  kernelCmdlineTooLong,
  moduleLoad,
  moduleNameConflict,
  hostMemoryExceeded,
  duplicateMac,
  macNotXenOui,
  bridgeMissing,
  deviceMissing,
  deviceShared,
  imageShared,
  duplicateVdev,
  duplicateIp,
  serviceWithoutAddress,
  serviceUnreachable,
  softwareUnsupportedOs,
  knownIssues,
  afsDbQuorum,
  afsRootVolumeMissing,
  afsBuild,
  principalReserved,
  ptsNameCollision,
  ptsNameInvalid,
  afsPrincipalUnusable,
  keytabEnctypeUnsupported,
  afsServiceKeyEnctype,
  afsForeignRealmUntrusted,
  ptsGroupPrefix,
  ptsIdConflict,
  aclWithoutLookup,
  roCloneUnreachable,
};

export function runCompat(spec: CellSpec, catalog: Catalog): Finding[] {
  const findings = Object.values(RULES).flatMap((rule) => rule(spec, catalog));
  // Stable sort: rule order is kept within a severity and subject.
  return findings.sort(
    (a, b) => Number(a.severity === 'warning') - Number(b.severity === 'warning') || a.subject.localeCompare(b.subject),
  );
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}
