// Catalog entries built from real kernel artifacts instead of data files: a kernel from its
// Module.symvers (+ .config and build-tree files), a module from its .ko / .o.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../diagnostics.js';
import { ElfError, modinfo, modversions, parseElf, sectionByName, SHT_NOBITS, SHT_SYMTAB, STB_WEAK, undefinedSymbols, type ModVersion } from './elf.js';
import { deriveVermagic, enabledOptions, parseKconfig } from './kconfig.js';
import { LIMITS, readModuleImage, readRegularText } from './read.js';
import { exportsOf, parseSymvers, SymversError, type SymversEntry } from './symvers.js';
import type { KernelEntry, ModuleEntry } from '../catalog/types.js';

export interface KernelRef {
  symvers: string; // path to Module.symvers
  config?: string; // path to the kernel's .config
  release?: string; // overrides what the build tree says
  xen?: string; // Xen release the kernel was built for, if any
}

function readOptional(path: string): string | undefined {
  return existsSync(path) ? readRegularText(path, 'build-tree file', LIMITS.header) : undefined;
}

/**
 * The kernel's release as `uname -r` and the module vermagic print it. UTS_RELEASE comes first:
 * Debian's headers carry include/config/kernel.release = "6.1.192" but UTS_RELEASE = "6.1.0-56-amd64".
 */
function buildTreeRelease(dir: string): string | undefined {
  const uts = readOptional(join(dir, 'include/generated/utsrelease.h'))?.match(/#define\s+UTS_RELEASE\s+"([^"]*)"/)?.[1];
  return uts ?? readOptional(join(dir, 'include/config/kernel.release'))?.trim();
}

/** Everything the kernel artifacts say, including what KernelEntry has no field for (CRCs, namespaces). */
export function readKernelArtifacts(ref: KernelRef): { kernel: KernelEntry; symvers: Map<string, SymversEntry> } {
  const symversPath = resolve(ref.symvers);
  let symvers: Map<string, SymversEntry>;
  try {
    symvers = parseSymvers(readRegularText(symversPath, 'Module.symvers', LIMITS.symvers));
  } catch (e) {
    if (e instanceof SymversError) {
      throw new UserError([{ message: `bad Module.symvers line: ${e.message}`, pos: { file: symversPath, line: e.line, col: 1 } }]);
    }
    throw e;
  }
  const dir = dirname(symversPath);
  const treeRelease = buildTreeRelease(dir);
  const release = ref.release ?? treeRelease ?? '';
  let options: string[] = [];
  let vermagic: string | undefined;
  const sources = [`Module.symvers ${symversPath} (${symvers.size} exports)`];
  if (ref.config !== undefined) {
    const configPath = resolve(ref.config);
    const config = parseKconfig(readRegularText(configPath, 'kernel .config', LIMITS.config));
    options = enabledOptions(config);
    // Generated headers sit next to the .config in a build tree, or next to Module.symvers.
    const dirs = [dirname(configPath), dir];
    const generated = (file: string): string | undefined =>
      dirs.map((d) => readOptional(join(d, 'include/generated', file))).find((t) => t !== undefined);
    vermagic = deriveVermagic(config, { release: treeRelease ?? release, generated });
    sources.push(`.config ${configPath}`);
  }
  const kernel: KernelEntry = {
    id: dir,
    source: sources.join('; '),
    kernel_kind: 'linux',
    release,
    xen: ref.xen ?? '',
    os: [],
    image: release ? `vmlinuz-${release}` : '',
    options,
    ...(vermagic !== undefined ? { vermagic } : {}),
    exports: exportsOf(symvers),
    boot: [],
  };
  return { kernel, symvers };
}

export function kernelFromArtifacts(ref: KernelRef): KernelEntry {
  return readKernelArtifacts(ref).kernel;
}

// scripts/mod/modpost.c ignore_undef_symbol(): resolved by the final .ko link or the loader,
// never by an export, so modpost doesn't look them up and neither do we.
const EM_PPC = 20;
const EM_PPC64 = 21;
const EM_S390 = 22;
const EM_RISCV = 243;
export function modpostIgnores(machine: number, sym: string): boolean {
  if (sym === '__this_module' || sym === '_GLOBAL_OFFSET_TABLE_') return true;
  if (sym.startsWith('__start_') || sym.startsWith('__stop_')) return true; // linker-made section bounds
  const starts = (...p: string[]): boolean => p.some((x) => sym.startsWith(x));
  if (machine === EM_PPC) return starts('_restgpr_', '_savegpr_', '_rest32gpr_', '_save32gpr_', '_restvr_', '_savevr_');
  if (machine === EM_PPC64) {
    return sym === '.TOC.' || starts('_restgpr0_', '_savegpr0_', '_restgpr1_', '_savegpr1_', '_restfpr_', '_savefpr_', '_restvr_', '_savevr_');
  }
  if (machine === EM_S390) return sym.startsWith('__s390_indirect_jump_r');
  if (machine === EM_RISCV) return sym.startsWith('$');
  return false;
}

export interface KoFile {
  module: ModuleEntry;
  weak: Set<string>; // weak imports: modpost and the loader accept them unresolved
  importNs: string[]; // MODULE_IMPORT_NS() namespaces
  depends: string[];
  versions: ModVersion[]; // __versions CRCs (a linked .ko with CONFIG_MODVERSIONS)
  machine: number;
  elfType: number; // ET_REL (1) for a module; ET_EXEC 2, ET_DYN 3
  hasSymtab: boolean; // stripped files have none: nothing to link, nothing to check
  linked: boolean; // .gnu.linkonce.this_module: a .ko modpost made, not a bare .o
}

/** Read a .ko (linked module) or .o (before modpost): imports, .modinfo, __versions. Every error names the file. */
export function readKo(path: string): KoFile {
  const data = readModuleImage(path);
  try {
    return koFromElf(path, parseElf(data));
  } catch (e) {
    if (e instanceof ElfError) throw new UserError(`${path}: not a kernel module: ${e.message}`);
    throw e;
  }
}

function koFromElf(path: string, elf: ReturnType<typeof parseElf>): KoFile {
  const info = modinfo(elf);
  const get = (k: string): string | undefined => info.find(([key]) => key === k)?.[1];
  const imports = new Set<string>();
  const weak = new Set<string>();
  for (const s of undefinedSymbols(elf)) {
    if (modpostIgnores(elf.machine, s.name)) continue;
    imports.add(s.name);
    if (s.bind === STB_WEAK) weak.add(s.name);
  }
  // KBUILD_MODNAME: file name without extension, '-' -> '_' (what the kernel logs when .modinfo has no name=).
  const fileName = basename(path).replace(/\.(ko|o)(\.(gz|xz|zst))?$/, '').replace(/-/g, '_');
  const license = get('license');
  const vermagic = get('vermagic');
  const versions = sectionByName(elf, '__versions');
  const module: ModuleEntry = {
    id: path,
    source: `ELF ${elf.bits}-bit ${elf.littleEndian ? 'LSB' : 'MSB'} file ${path} (.symtab, .modinfo)`,
    name: get('name') || fileName,
    kernel_kind: 'linux',
    ...(license !== undefined ? { license } : {}),
    imports: [...imports],
    ...(vermagic !== undefined ? { vermagic } : {}),
    ...(versions && versions.type !== SHT_NOBITS ? { modversions: true } : {}),
  };
  const depends = (get('depends') ?? '').split(',').filter(Boolean);
  const importNs = info.filter(([k]) => k === 'import_ns').map(([, v]) => v);
  return {
    module, weak, importNs, depends, versions: modversions(elf), machine: elf.machine, elfType: elf.type,
    hasSymtab: elf.sections.some((s) => s.type === SHT_SYMTAB), linked: sectionByName(elf, '.gnu.linkonce.this_module') !== undefined,
  };
}

export function moduleFromKo(path: string): ModuleEntry {
  return readKo(path).module;
}
