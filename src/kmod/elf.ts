// A small ELF reader: just enough of ELF32/ELF64 (either byte order) to see what a kernel module
// imports (.symtab undefined symbols), declares (.modinfo) and was versioned against (__versions).
// No dependencies: the checker must run wherever cellctl runs, not only where binutils is installed.

export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;
export const SHN_UNDEF = 0;
const SHN_XINDEX = 0xffff;
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const ET_REL = 1;

/** The ELF machine a kernel's modules must have, by its architecture's Kconfig option (elf_check_arch()). */
export const EM_BY_ARCH_OPTION: Readonly<Record<string, number>> = {
  X86_64: 62, // EM_X86_64
  X86_32: 3, // EM_386
  ARM64: 183, // EM_AARCH64
  ARM: 40, // EM_ARM
  PPC64: 21, // EM_PPC64
  PPC32: 20, // EM_PPC
  S390: 22, // EM_S390
  RISCV: 243, // EM_RISCV
};

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface ElfSymbol {
  name: string;
  bind: number; // STB_*
  type: number; // STT_*
  shndx: number; // SHN_UNDEF for imports
  value: number;
}

export interface ElfFile {
  bits: 32 | 64;
  littleEndian: boolean;
  type: number; // ET_REL (1) for .o and .ko
  machine: number; // EM_X86_64 = 62, EM_386 = 3, EM_PPC = 20, EM_PPC64 = 21, EM_S390 = 22, EM_RISCV = 243
  sections: ElfSection[];
  data: Uint8Array;
}

export class ElfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElfError';
  }
}

// Bounds-checked field reads; a truncated or corrupt file must fail with a message, not read garbage.
class Reader {
  private readonly view: DataView;
  constructor(
    readonly data: Uint8Array,
    readonly le: boolean,
    readonly bits: 32 | 64,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
  private check(off: number, len: number): void {
    if (off < 0 || off + len > this.data.length) {
      throw new ElfError(`truncated ELF: read of ${len} bytes at offset ${off} past end (${this.data.length} bytes)`);
    }
  }
  u8(off: number): number {
    this.check(off, 1);
    return this.view.getUint8(off);
  }
  u16(off: number): number {
    this.check(off, 2);
    return this.view.getUint16(off, this.le);
  }
  u32(off: number): number {
    this.check(off, 4);
    return this.view.getUint32(off, this.le);
  }
  u64(off: number): number {
    this.check(off, 8);
    const v = this.view.getBigUint64(off, this.le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`ELF field at offset ${off} too large (${v})`);
    return Number(v);
  }
  /** A native word: 4 bytes in ELF32, 8 in ELF64. */
  word(off: number): number {
    return this.bits === 64 ? this.u64(off) : this.u32(off);
  }
}

function cstring(data: Uint8Array, off: number, end: number): string {
  let i = off;
  while (i < end && data[i] !== 0) i++;
  return Buffer.from(data.buffer, data.byteOffset + off, i - off).toString('latin1');
}

export function parseElf(data: Uint8Array): ElfFile {
  if (data.length < 16 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46) {
    throw new ElfError('not an ELF file (bad magic)');
  }
  const cls = data[4];
  const enc = data[5];
  if (cls !== 1 && cls !== 2) throw new ElfError(`unknown ELF class ${cls}`);
  if (enc !== 1 && enc !== 2) throw new ElfError(`unknown ELF data encoding ${enc}`);
  const bits = cls === 2 ? 64 : 32;
  const r = new Reader(data, enc === 1, bits);
  const type = r.u16(16);
  const machine = r.u16(18);
  const shoff = bits === 64 ? r.u64(0x28) : r.u32(0x20);
  const shentsize = r.u16(bits === 64 ? 0x3a : 0x2e);
  let shnum = r.u16(bits === 64 ? 0x3c : 0x30);
  let shstrndx = r.u16(bits === 64 ? 0x3e : 0x32);
  const sections: ElfSection[] = [];
  if (shoff === 0) return { bits, littleEndian: r.le, type, machine, sections, data };
  if (shentsize !== (bits === 64 ? 64 : 40)) throw new ElfError(`unexpected section header size ${shentsize}`);

  const readShdr = (i: number): Omit<ElfSection, 'name'> & { nameOff: number } => {
    const o = shoff + i * shentsize;
    if (bits === 64) {
      return {
        index: i, nameOff: r.u32(o), type: r.u32(o + 4), offset: r.u64(o + 24), size: r.u64(o + 32),
        link: r.u32(o + 40), entsize: r.u64(o + 56),
      };
    }
    return {
      index: i, nameOff: r.u32(o), type: r.u32(o + 4), offset: r.u32(o + 16), size: r.u32(o + 20),
      link: r.u32(o + 24), entsize: r.u32(o + 36),
    };
  };
  // Extended numbering (gABI): counts that don't fit in 16 bits live in section 0.
  const first = readShdr(0);
  if (shnum === 0) shnum = first.size;
  if (shstrndx === SHN_XINDEX) shstrndx = first.link;
  if (shnum * shentsize > data.length) throw new ElfError(`section count ${shnum} exceeds file size`);

  const raw = Array.from({ length: shnum }, (_, i) => readShdr(i));
  for (const s of raw) {
    if (s.type !== SHT_NOBITS && s.offset + s.size > data.length) {
      throw new ElfError(`section ${s.index} (offset ${s.offset}, size ${s.size}) runs past end of file`);
    }
  }
  const strtab = shstrndx < raw.length ? raw[shstrndx] : undefined;
  for (const s of raw) {
    const name = strtab && strtab.type === SHT_STRTAB && s.nameOff < strtab.size
      ? cstring(data, strtab.offset + s.nameOff, strtab.offset + strtab.size)
      : '';
    const { nameOff: _n, ...rest } = s;
    sections.push({ ...rest, name });
  }
  return { bits, littleEndian: r.le, type, machine, sections, data };
}

export function sectionByName(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

export function sectionBytes(elf: ElfFile, s: ElfSection): Uint8Array {
  if (s.type === SHT_NOBITS) return new Uint8Array(0);
  return elf.data.subarray(s.offset, s.offset + s.size);
}

/** All entries of the (first) .symtab, including the null symbol at index 0. */
export function symbols(elf: ElfFile): ElfSymbol[] {
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) return [];
  const strtab = elf.sections[symtab.link];
  if (!strtab || strtab.type !== SHT_STRTAB) throw new ElfError(`.symtab links to section ${symtab.link}, not a string table`);
  const r = new Reader(elf.data, elf.littleEndian, elf.bits);
  const size = elf.bits === 64 ? 24 : 16;
  const entsize = symtab.entsize || size;
  if (entsize < size) throw new ElfError(`.symtab entry size ${entsize} too small`);
  const out: ElfSymbol[] = [];
  const strEnd = strtab.offset + strtab.size;
  for (let o = symtab.offset; o + entsize <= symtab.offset + symtab.size; o += entsize) {
    const nameOff = r.u32(o);
    const [info, shndx, value] = elf.bits === 64
      ? [r.u8(o + 4), r.u16(o + 6), r.u64(o + 8)]
      : [r.u8(o + 12), r.u16(o + 14), r.u32(o + 4)];
    const name = nameOff < strtab.size ? cstring(elf.data, strtab.offset + nameOff, strEnd) : '';
    out.push({ name, bind: info >> 4, type: info & 0xf, shndx, value });
  }
  return out;
}

/** Undefined symbols a loader must resolve: global or weak, named, not section/file symbols (so not the null symbol). */
export function undefinedSymbols(elf: ElfFile): ElfSymbol[] {
  return symbols(elf).filter(
    (s) =>
      s.shndx === SHN_UNDEF &&
      s.name !== '' &&
      (s.bind === STB_GLOBAL || s.bind === STB_WEAK) &&
      s.type !== STT_SECTION &&
      s.type !== STT_FILE,
  );
}

/** .modinfo as key/value pairs in file order; keys may repeat (alias=, import_ns=). */
export function modinfo(elf: ElfFile): Array<[string, string]> {
  const s = sectionByName(elf, '.modinfo');
  if (!s) return [];
  const text = Buffer.from(sectionBytes(elf, s)).toString('utf8');
  const out: Array<[string, string]> = [];
  // Entries are NUL-terminated; alignment between objects leaves empty strings, which we skip.
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) out.push([entry.slice(0, eq), entry.slice(eq + 1)]);
  }
  return out;
}

export interface ModVersion {
  name: string;
  crc: number;
}

/** __versions: struct modversion_info { unsigned long crc; char name[64 - sizeof(long)]; } per import (CONFIG_MODVERSIONS). */
export function modversions(elf: ElfFile): ModVersion[] {
  const s = sectionByName(elf, '__versions');
  if (!s || s.type === SHT_NOBITS) return [];
  const r = new Reader(elf.data, elf.littleEndian, elf.bits);
  const wordSize = elf.bits / 8;
  const out: ModVersion[] = [];
  for (let o = s.offset; o + 64 <= s.offset + s.size; o += 64) {
    // The CRC is 32 bits even in a 64-bit long; the low word holds it in either byte order.
    const crc = Number(BigInt(r.word(o)) & 0xffffffffn);
    out.push({ name: cstring(elf.data, o + wordSize, o + 64), crc });
  }
  return out;
}
