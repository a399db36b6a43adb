// The ELF reader on hand-made files: both classes, both byte orders, extended section numbering,
// corrupt input. binutils' readelf, where installed, checks the hand-made files are real ELF.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleFromKo, readKo } from '../../src/kmod/artifacts.js';
import { ElfError, modinfo, modversions, parseElf, STB_GLOBAL, STB_LOCAL, STB_WEAK, undefinedSymbols } from '../../src/kmod/elf.js';
import { UserError } from '../../src/diagnostics.js';

interface Sym { name: string; bind: number; type: number; shndx: number }
interface Spec {
  bits: 32 | 64;
  le: boolean;
  machine?: number;
  syms: Sym[];
  modinfo?: string[];
  versions?: Array<{ name: string; crc: number }>;
  extendedNumbering?: boolean; // e_shnum = 0 / e_shstrndx = SHN_XINDEX, real values in section 0
}

/** A minimal relocatable ELF: null, .modinfo, .symtab, .strtab, .shstrtab [, __versions]. */
function makeElf(s: Spec): Buffer {
  const w = s.bits === 64;
  const strtab: number[] = [0];
  const str = (table: number[], name: string): number => {
    if (name === '') return 0;
    const at = table.length;
    table.push(...Buffer.from(name, 'latin1'), 0);
    return at;
  };
  const symEnt = w ? 24 : 16;
  const all = [{ name: '', bind: STB_LOCAL, type: 0, shndx: 0 }, ...s.syms];
  const symtab = Buffer.alloc(all.length * symEnt);
  const sv = new DataView(symtab.buffer, symtab.byteOffset, symtab.length);
  all.forEach((sym, i) => {
    const o = i * symEnt;
    sv.setUint32(o, str(strtab, sym.name), s.le);
    const info = (sym.bind << 4) | sym.type;
    if (w) { sv.setUint8(o + 4, info); sv.setUint16(o + 6, sym.shndx, s.le); }
    else { sv.setUint8(o + 12, info); sv.setUint16(o + 14, sym.shndx, s.le); }
  });
  const versions = Buffer.alloc((s.versions ?? []).length * 64);
  (s.versions ?? []).forEach((v, i) => {
    const dv = new DataView(versions.buffer, versions.byteOffset + i * 64, 64);
    if (w) dv.setBigUint64(0, BigInt(v.crc), s.le); else dv.setUint32(0, v.crc, s.le);
    versions.write(v.name, i * 64 + (w ? 8 : 4), 'latin1');
  });
  const shstr: number[] = [0];
  const sections = [
    { name: '.modinfo', type: 1, data: Buffer.from((s.modinfo ?? []).map((m) => `${m}\0\0`).join(''), 'utf8'), link: 0, ent: 0 },
    { name: '.symtab', type: 2, data: symtab, link: 3, ent: symEnt },
    { name: '.strtab', type: 3, data: Buffer.alloc(0), link: 0, ent: 0 },
    { name: '.shstrtab', type: 3, data: Buffer.alloc(0), link: 0, ent: 0 },
    ...(s.versions ? [{ name: '__versions', type: 1, data: versions, link: 0, ent: 0 }] : []),
  ].map((x) => ({ ...x, nameOff: str(shstr, x.name) }));
  sections[2].data = Buffer.from(strtab);
  sections[3].data = Buffer.from(shstr);

  const ehsize = w ? 64 : 52;
  const shent = w ? 64 : 40;
  const align = (n: number): number => (n + 7) & ~7;
  let off = align(ehsize);
  const placed = sections.map((x) => { const at = off; off = align(off + x.data.length); return at; });
  const shoff = off;
  const shnum = sections.length + 1;
  const out = Buffer.alloc(shoff + shnum * shent);
  const dv = new DataView(out.buffer, out.byteOffset, out.length);
  out.set([0x7f, 0x45, 0x4c, 0x46, w ? 2 : 1, s.le ? 1 : 2, 1]);
  dv.setUint16(16, 1, s.le); // ET_REL
  dv.setUint16(18, s.machine ?? (w ? 62 : 3), s.le);
  dv.setUint32(20, 1, s.le);
  const [e_shoff, e_ehsize, e_shentsize, e_shnum, e_shstrndx] = w ? [40, 52, 58, 60, 62] : [32, 40, 46, 48, 50];
  if (w) dv.setBigUint64(e_shoff, BigInt(shoff), s.le); else dv.setUint32(e_shoff, shoff, s.le);
  dv.setUint16(e_ehsize, ehsize, s.le);
  dv.setUint16(e_shentsize, shent, s.le);
  dv.setUint16(e_shnum, s.extendedNumbering ? 0 : shnum, s.le);
  dv.setUint16(e_shstrndx, s.extendedNumbering ? 0xffff : 4, s.le);
  const shdr = (i: number, f: { name: number; type: number; offset: number; size: number; link: number; ent: number }): void => {
    const o = shoff + i * shent;
    dv.setUint32(o, f.name, s.le);
    dv.setUint32(o + 4, f.type, s.le);
    if (w) {
      dv.setBigUint64(o + 24, BigInt(f.offset), s.le); dv.setBigUint64(o + 32, BigInt(f.size), s.le);
      dv.setUint32(o + 40, f.link, s.le); dv.setBigUint64(o + 48, 1n, s.le); dv.setBigUint64(o + 56, BigInt(f.ent), s.le);
    } else {
      dv.setUint32(o + 16, f.offset, s.le); dv.setUint32(o + 20, f.size, s.le);
      dv.setUint32(o + 24, f.link, s.le); dv.setUint32(o + 32, 1, s.le); dv.setUint32(o + 36, f.ent, s.le);
    }
  };
  if (s.extendedNumbering) shdr(0, { name: 0, type: 0, offset: 0, size: shnum, link: 4, ent: 0 });
  sections.forEach((x, i) => {
    out.set(x.data, placed[i]);
    shdr(i + 1, { name: x.nameOff, type: x.type, offset: placed[i], size: x.data.length, link: x.link, ent: x.ent });
  });
  return out;
}

const SAMPLE: Sym[] = [
  { name: 'nongpl_init', bind: STB_GLOBAL, type: 2, shndx: 1 }, // defined: not an import
  { name: 'xen_features', bind: STB_GLOBAL, type: 0, shndx: 0 },
  { name: '_printk', bind: STB_GLOBAL, type: 0, shndx: 0 },
  { name: 'maybe_there', bind: STB_WEAK, type: 0, shndx: 0 },
  { name: 'local_undef', bind: STB_LOCAL, type: 0, shndx: 0 }, // local: never resolved against exports
  { name: '', bind: STB_LOCAL, type: 3, shndx: 0 }, // a section symbol
  { name: 'nongpl.c', bind: STB_LOCAL, type: 4, shndx: 0xfff1 }, // the file symbol (SHN_ABS)
];
const INFO = ['license=http://www.openafs.org/dl/license10.html', 'vermagic=2.6.16-xen SMP mod_unload 686 ', 'depends=xen-evtchn,foo', 'name=openafs', 'import_ns=CXL', 'description=a=b'];
const VARIANTS = [[32, true], [32, false], [64, true], [64, false]] as const;
const tmp = mkdtempSync(join(tmpdir(), 'cellctl-elf-'));
const haveReadelf = spawnSync('readelf', ['--version'], { stdio: 'ignore' }).status === 0;

describe('ELF reader on hand-made files', () => {
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const [bits, le] of VARIANTS) {
    it(`ELF${bits} ${le ? 'little' : 'big'}-endian: imports, .modinfo, __versions`, () => {
      const versions = [{ name: 'xen_features', crc: 0xdeadbeef }, { name: 'module_layout', crc: 0x12345678 }];
      for (const extendedNumbering of [false, true]) {
        const elf = parseElf(makeElf({ bits, le, syms: SAMPLE, modinfo: INFO, versions, extendedNumbering }));
        expect(elf).toMatchObject({ bits, littleEndian: le, type: 1, machine: bits === 64 ? 62 : 3 });
        expect(elf.sections.map((s) => s.name)).toEqual(['', '.modinfo', '.symtab', '.strtab', '.shstrtab', '__versions']);
        expect(undefinedSymbols(elf).map((s) => [s.name, s.bind])).toEqual([['xen_features', 1], ['_printk', 1], ['maybe_there', 2]]);
        expect(modinfo(elf)).toContainEqual(['description', 'a=b']);
        expect(modinfo(elf)).toHaveLength(INFO.length);
        expect(modversions(elf)).toEqual(versions);
      }
    });
  }

  it.skipIf(!haveReadelf)(`binutils agrees the hand-made files are ELF${haveReadelf ? '' : ' — SKIPPED: no readelf'}`, () => {
    for (const [bits, le] of VARIANTS) {
      const file = join(tmp, `sample${bits}${le ? 'le' : 'be'}.o`);
      writeFileSync(file, makeElf({ bits, le, syms: SAMPLE, modinfo: INFO }));
      const r = spawnSync('readelf', ['-hsW', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`ELF${bits}`);
      expect(r.stdout).toContain(le ? 'little endian' : 'big endian');
      expect(r.stdout).toMatch(/GLOBAL\s+DEFAULT\s+UND xen_features/);
      expect(r.stdout).toMatch(/WEAK\s+DEFAULT\s+UND maybe_there/);
    }
  });

  it('moduleFromKo: licence, vermagic, name from .modinfo; weak imports kept apart', () => {
    const file = join(tmp, 'openafs-1.4.2.ko');
    writeFileSync(file, makeElf({ bits: 32, le: true, syms: SAMPLE, modinfo: INFO }));
    const ko = readKo(file);
    expect(ko.module).toEqual({
      id: file,
      source: expect.stringContaining('ELF 32-bit LSB'),
      name: 'openafs',
      kernel_kind: 'linux',
      license: 'http://www.openafs.org/dl/license10.html',
      imports: ['xen_features', '_printk', 'maybe_there'],
      vermagic: '2.6.16-xen SMP mod_unload 686 ',
    });
    expect([...ko.weak]).toEqual(['maybe_there']);
    expect(ko.depends).toEqual(['xen-evtchn', 'foo']);
    expect(ko.importNs).toEqual(['CXL']);
  });

  it('moduleFromKo: name from the file name (as KBUILD_MODNAME) when .modinfo has none; .ko.gz', () => {
    const file = join(tmp, 'my-mod.ko.gz');
    writeFileSync(file, gzipSync(makeElf({ bits: 64, le: false, syms: SAMPLE, modinfo: ['license=GPL'] })));
    const m = moduleFromKo(file);
    expect(m).toMatchObject({ name: 'my_mod', license: 'GPL' });
    expect(m.vermagic).toBeUndefined();
  });

  it("ignores what modpost ignores: __this_module, _GLOBAL_OFFSET_TABLE_, the arch's linker helpers", () => {
    const undef = (name: string): Sym => ({ name, bind: STB_GLOBAL, type: 0, shndx: 0 });
    const syms = ['__this_module', '_GLOBAL_OFFSET_TABLE_', '_savegpr0_14', '.TOC.', 'kmalloc'].map(undef);
    const file = join(tmp, 'ppc64.ko');
    writeFileSync(file, makeElf({ bits: 64, le: false, machine: 21, syms }));
    expect(moduleFromKo(file).imports).toEqual(['kmalloc']);
    writeFileSync(file, makeElf({ bits: 64, le: true, machine: 62, syms })); // on x86 only the first two are special
    expect(moduleFromKo(file).imports).toEqual(['_savegpr0_14', '.TOC.', 'kmalloc']);
  });

  it('rejects what is not ELF, or is cut short, with a message', () => {
    expect(() => parseElf(Buffer.from('#!/bin/sh\necho not a module\n'))).toThrow(/not an ELF file/);
    const whole = makeElf({ bits: 64, le: true, syms: SAMPLE, modinfo: INFO });
    expect(() => parseElf(whole.subarray(0, whole.length - 10))).toThrow(ElfError);
    const bad = Buffer.from(whole);
    bad[4] = 3;
    expect(() => parseElf(bad)).toThrow(/unknown ELF class 3/);
    const file = join(tmp, 'script.ko');
    writeFileSync(file, '#!/bin/sh\n');
    expect(() => moduleFromKo(file)).toThrow(UserError);
    expect(() => moduleFromKo(file)).toThrow(/script\.ko: not a kernel module: not an ELF file/);
    expect(() => moduleFromKo(join(tmp, 'absent.ko'))).toThrow(/absent\.ko: cannot read kernel module: ENOENT/);
  });

  it('property: any symbol table round-trips through every ELF variant', () => {
    const sym = fc.record({
      name: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.$]{0,30}$/),
      bind: fc.constantFrom(STB_LOCAL, STB_GLOBAL, STB_WEAK),
      type: fc.constantFrom(0, 1, 2, 3, 4),
      shndx: fc.constantFrom(0, 1, 7, 0xfff1),
    });
    fc.assert(
      fc.property(fc.array(sym, { maxLength: 40 }), fc.constantFrom(...VARIANTS), (syms, [bits, le]) => {
        const got = undefinedSymbols(parseElf(makeElf({ bits, le, syms }))).map((s) => s.name);
        const want = syms.filter((s) => s.shndx === 0 && s.bind !== STB_LOCAL && s.type !== 3 && s.type !== 4).map((s) => s.name);
        expect(got).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });
});
