// `cellctl check-module`: a real .ko/.o against a real Module.symvers, judged like modpost and the
// module loader would. Licence, unknown-symbol and vermagic verdicts come from checkModuleLoad (the
// same rule the catalog path uses); this file adds only what needs the artifacts' extra detail.
import { readKernelArtifacts, readKo, type KoFile } from './artifacts.js';
import type { SymversEntry } from './symvers.js';
import type { KernelEntry, LicenceTable, ModuleEntry } from '../catalog/types.js';
import { checkModuleLoad } from './verdict.js';
import type { Finding } from '../compat/types.js';

export interface CheckModuleOptions {
  symvers: string;
  config?: string;
  licences: LicenceTable;
}

/** MODULE_IMPORT_NS: modpost refuses, and the loader says "module uses symbol (X) from namespace NS, but does not import it." */
function namespaceFindings(ko: KoFile, imports: string[], symvers: Map<string, SymversEntry>, subject: string): Finding[] {
  const missing = new Map<string, string[]>();
  for (const sym of imports) {
    const ns = symvers.get(sym)?.namespace;
    if (ns && !ko.importNs.includes(ns)) missing.set(ns, [...(missing.get(ns) ?? []), sym]);
  }
  return [...missing].map(([ns, syms]) => ({
    code: 'module-namespace-not-imported',
    severity: 'error' as const,
    subject,
    message: syms.map((s) => `${ko.module.name}: module uses symbol (${s}) from namespace ${ns}, but does not import it.`).join('; '),
    fix: `add MODULE_IMPORT_NS(${ns}); to ${ko.module.name}'s source and rebuild`,
  }));
}

/** CONFIG_MODVERSIONS: a CRC in __versions that differs from the kernel's is refused at load time. */
function versionFindings(ko: KoFile, symvers: Map<string, SymversEntry>, kernel: KernelEntry, subject: string): Finding[] {
  // A kernel without MODVERSIONS writes crc 0x00000000 for every export: nothing to compare.
  const differ = ko.versions.filter((v) => {
    const crc = symvers.get(v.name)?.crc;
    return crc !== undefined && crc !== 0 && crc !== v.crc;
  });
  if (differ.length === 0) return [];
  return [{
    code: 'module-symbol-version-mismatch',
    severity: 'error',
    subject,
    message: differ.map((v) => `${ko.module.name}: disagrees about version of symbol ${v.name}`).join('; '),
    fix: `rebuild ${ko.module.name} against the headers of kernel ${kernel.release || kernel.id} (same Module.symvers)`,
  }];
}

export function checkModuleFile(
  koPath: string,
  opts: CheckModuleOptions,
): { module: ModuleEntry; kernel: KernelEntry; findings: Finding[] } {
  const ko = readKo(koPath);
  const { kernel, symvers } = readKernelArtifacts({ symvers: opts.symvers, config: opts.config });
  const subject = `module.${ko.module.name}`;
  // modpost (check_exports) and the loader accept an unresolved weak import; a resolved one is
  // checked like any other (licence, namespace).
  const imports = ko.module.imports.filter((s) => !ko.weak.has(s) || symvers.has(s));
  const findings = [
    ...checkModuleLoad({ ...ko.module, imports }, kernel, opts.licences, subject),
    ...namespaceFindings(ko, imports, symvers, subject),
    ...versionFindings(ko, symvers, kernel, subject),
  ];
  return { module: ko.module, kernel, findings };
}
