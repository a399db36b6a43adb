// `cellctl check-module`: a real .ko/.o against a real Module.symvers, judged like modpost and the
// module loader would. Licence, unknown-symbol and vermagic verdicts come from checkModuleLoad (the
// same rule the catalog path uses); this file adds only what needs the artifacts' extra detail:
// the loader's ELF checks (Linux 6.1 kernel/module/main.c: elf_validity_check, setup_load_info),
// namespaces, CRCs, and what CONFIG_MODULE_FORCE_LOAD decides.
import { readKernelArtifacts, readKo, type KoFile } from './artifacts.js';
import type { SymversEntry } from './symvers.js';
import type { KernelEntry, LicenceTable, ModuleEntry } from '../catalog/types.js';
import { checkModuleLoad } from './verdict.js';
import type { Finding } from '../compat/types.js';
import { EM_BY_ARCH_OPTION, ET_REL } from './elf.js';

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

/**
 * What elf_validity_check() and setup_load_info() refuse before any symbol is looked at; the loader
 * stops at the first, and so does this (nothing after it could be judged). `linked`: a .ko, which the
 * loader reads; a bare .o is modpost's input and lacks the module struct until modpost links it.
 */
function structureFindings(path: string, ko: KoFile, kernel: KernelEntry, subject: string): Finding[] {
  const name = ko.module.name;
  const refuse = (code: string, message: string, fix: string): Finding[] => [{ code, severity: 'error', subject, message, fix }];
  if (ko.elfType !== ET_REL) {
    const what = ko.elfType === 2 ? 'an executable' : ko.elfType === 3 ? 'a shared object' : `ELF type ${ko.elfType}`;
    return refuse('module-not-relocatable', `${path}: Invalid ELF header type: ${ko.elfType} != ${ET_REL} (${what}, not a kernel module)`, 'build it as a kernel module (obj-m in a Kbuild file, make -C <kernel headers> M=$PWD modules)');
  }
  const want = kernel.options.map((o) => EM_BY_ARCH_OPTION[o]).find((m) => m !== undefined);
  if (want !== undefined && ko.machine !== want) {
    return refuse('module-wrong-architecture', `${path}: Invalid architecture in ELF header: ${ko.machine} (kernel ${kernel.release || kernel.id} is ELF machine ${want})`, `build ${name} for the kernel's architecture, against its own headers`);
  }
  if (!ko.hasSymtab) {
    return refuse('module-no-symbols', `${name}: module has no symbols (stripped?)${ko.linked ? '' : `; modpost: ${path} has no symtab?`}`,
      `use the unstripped ${name}.ko (strip --strip-debug keeps the symbol table; without it nothing can be linked, and no import can be checked)`);
  }
  if (!ko.linked && /\.ko(\.(gz|xz|zst))?$/.test(path)) {
    return refuse('module-not-linked', `${name}: No module found in object (${path} has no .gnu.linkonce.this_module section)`, `build ${name}.ko with kbuild: modpost links the module structure in`);
  }
  return [];
}

/**
 * A .ko without vermagic or without __versions on a CONFIG_MODVERSIONS kernel: the loader's
 * try_to_force_load() taints the kernel where CONFIG_MODULE_FORCE_LOAD is set, and refuses it
 * (-ENOEXEC) where it is not. Known only when the kernel's .config was given.
 */
function forcedLoadFindings(ko: KoFile, symvers: Map<string, SymversEntry>, kernel: KernelEntry, subject: string): Finding[] {
  if (!ko.linked || kernel.options.length === 0) return [];
  const name = ko.module.name;
  const forced = kernel.options.includes('MODULE_FORCE_LOAD');
  const kernelCrcs = kernel.options.includes('MODVERSIONS') && [...symvers.values()].some((s) => s.crc !== 0);
  const out: Finding[] = [];
  const add = (code: string, reason: string, fix: string) => out.push({
    code,
    severity: forced ? 'warning' : 'error',
    subject,
    message: forced ? `${name}: ${reason}: kernel tainted.` : `${name}: ${reason}: Exec format error (CONFIG_MODULE_FORCE_LOAD is not set)`,
    fix,
  });
  if (ko.module.vermagic === undefined) add('module-vermagic-missing', 'bad vermagic', `rebuild ${name} with kbuild, which records the kernel's vermagic`);
  if (kernelCrcs && ko.module.modversions !== true) {
    add('module-modversions-missing', 'module_layout', `rebuild ${name} against the kernel's headers with CONFIG_MODVERSIONS, so it carries __versions`);
  }
  return out;
}

export function checkModuleFile(
  koPath: string,
  opts: CheckModuleOptions,
): { module: ModuleEntry; kernel: KernelEntry; findings: Finding[] } {
  const ko = readKo(koPath);
  const { kernel, symvers } = readKernelArtifacts({ symvers: opts.symvers, config: opts.config });
  const subject = `module.${ko.module.name}`;
  const structure = structureFindings(koPath, ko, kernel, subject);
  if (structure.length) return { module: ko.module, kernel, findings: structure };
  // modpost (check_exports) and the loader accept an unresolved weak import; a resolved one is
  // checked like any other (licence, namespace).
  const imports = ko.module.imports.filter((s) => !ko.weak.has(s) || symvers.has(s));
  const findings = [
    ...checkModuleLoad({ ...ko.module, imports }, kernel, opts.licences, subject),
    ...namespaceFindings(ko, imports, symvers, subject),
    ...versionFindings(ko, symvers, kernel, subject),
    ...forcedLoadFindings(ko, symvers, kernel, subject),
  ];
  return { module: ko.module, kernel, findings };
}
