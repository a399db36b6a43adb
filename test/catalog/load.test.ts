import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog, readCatalog } from '../../src/catalog/load.js';
import { BOOT_PLACEHOLDERS } from '../../src/catalog/types.js';
import { CATALOG_DATA_DIR } from '../../src/paths.js';

const cat = loadCatalog();

/** A copy of the shipped data with one file edited, to prove each integrity check fires. */
function brokenCopy(file: string, edit: (data: any) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'cellctl-catalog-'));
  cpSync(CATALOG_DATA_DIR, dir, { recursive: true });
  const data = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  edit(data);
  writeFileSync(join(dir, file), JSON.stringify(data));
  return dir;
}
const byId = (list: any[], id: string) => list.find((e) => e.id === id);

describe('catalog data', () => {
  it('is cached', () => {
    expect(loadCatalog()).toBe(cat);
  });

  it('has the ids other stages rely on', () => {
    expect([...cat.xen.keys()]).toEqual(['2.0', '3.0.2', '3.0.3', '3.0.4', '3.1']);
    for (const id of ['netbsd-4.0_beta', 'netbsd-4.0_beta2', 'netbsd-current', 'netbsd-3.1', 'netbsd-4.0', 'netbsd-2.0',
      'debian-etch', 'linux-2.6', 'linux-2.4', 'solaris-10', 'freebsd-5', 'plan9']) expect(cat.os.has(id), id).toBe(true);
    for (const id of ['netbsd-3.1-xen3-domu', 'netbsd-3.1-xen3-domu-nodiag', 'linux-2.6.16-xen-3.0.2', 'linux-2.6.16.29-xen-3.0.3'])
      expect(cat.kernels.has(id), id).toBe(true);
    for (const id of ['openafs-1.4.2-linux', 'arla-0.43-nnpfs']) expect(cat.modules.has(id), id).toBe(true);
    for (const id of ['heimdal-0.72', 'mit-krb5-1.4.4', 'openafs-1.4.2', 'arla-0.43']) expect(cat.software.has(id), id).toBe(true);
  });

  it('models the seed: Xen 3 hosts and guests, Xen 2 extras, hvm only on 3.x', () => {
    const x302 = cat.xen.get('3.0.2')!;
    expect(x302.dom0_os).toEqual(expect.arrayContaining(['linux-2.6', 'netbsd-4.0_beta', 'netbsd-4.0_beta2', 'netbsd-current']));
    expect(x302.domu_os).toEqual(expect.arrayContaining(['linux-2.6', 'netbsd-3.1', 'netbsd-4.0_beta', 'solaris-10']));
    expect(x302.domu_os).not.toContain('linux-2.4');
    expect(cat.xen.get('2.0')!.domu_os).toEqual(expect.arrayContaining(['linux-2.4', 'freebsd-5', 'netbsd-2.0', 'plan9']));
    expect([...cat.xen.values()].map((x) => x.hvm)).toEqual([false, true, true, true, true]);
    expect(cat.os.get('debian-etch')!.family).toBe('linux-2.6');
  });

  it('models the export change between Xen 3.0.2 and 3.0.3 and the stock NetBSD options', () => {
    const k302 = cat.kernels.get('linux-2.6.16-xen-3.0.2')!;
    const k303 = cat.kernels.get('linux-2.6.16.29-xen-3.0.3')!;
    expect(k302.exports.force_evtchn_callback).toBe('EXPORT_SYMBOL_GPL');
    expect(k302.exports.xen_features).toBe('EXPORT_SYMBOL_GPL');
    expect(k303.exports.force_evtchn_callback).toBe('EXPORT_SYMBOL');
    expect(k303.exports.xen_features).toBe('EXPORT_SYMBOL');
    expect(cat.kernels.get('netbsd-3.1-xen3-domu')!.options).toEqual(['DEBUG', 'DIAGNOSTIC']);
    expect(cat.kernels.get('netbsd-3.1-xen3-domu-nodiag')!.options).toEqual([]);
    expect(cat.modules.get('arla-0.43-nnpfs')!.options_absent).toEqual(['DEBUG', 'DIAGNOSTIC']);
    expect(cat.licences.gpl_compatible).not.toContain(cat.modules.get('openafs-1.4.2-linux')!.license);
    // Every plain import of the openafs module resolves on the 3.0.2 kernel; only the two Xen symbols are GPL-only.
    const gplOnly = cat.modules.get('openafs-1.4.2-linux')!.imports.filter((s) => k302.exports[s] !== 'EXPORT_SYMBOL');
    expect(gplOnly.sort()).toEqual(['force_evtchn_callback', 'xen_features']);
  });

  it('boot templates reproduce the seed consoles and use only known placeholders', () => {
    const nb = cat.kernels.get('netbsd-3.1-xen3-domu-nodiag')!;
    expect(nb.boot).toContain('NetBSD 3.1 (XEN3_DOMU-nodebug) #0: Thu Nov 9 20:52:31 CST 2006');
    expect(nb.boot).toContain('total memory = {total_mb} MB');
    expect(nb.boot.at(-1)).toBe('hypervisor0 at mainbus0');
    expect(nb.boot_memory).toEqual({ total_delta: -4, avail_delta: -10 });
    const lx = cat.kernels.get('linux-2.6.16-xen-3.0.2')!;
    expect(lx.boot[0]).toMatch(/^Linux version 2\.6\.16-xen \(kula@shea\.awesmoe\.org\)/);
    expect(lx.boot).toContain('Xen: 0000000000000000 - {mem_end_hex} (usable)');
    expect(lx.boot).toContain('{lowmem_mb}MB LOWMEM available.');
    expect(lx.boot_memory?.lowmem_delta).toBe(8);
    for (const k of cat.kernels.values()) {
      for (const line of k.boot) for (const m of line.matchAll(/\{([^}]*)\}/g)) expect(BOOT_PLACEHOLDERS).toContain(m[1]);
    }
  });

  it('names a source for every entry and a dom0 default for dom0-capable OSes', () => {
    const all = [...cat.xen.values(), ...cat.os.values(), ...cat.kernels.values(), ...cat.modules.values(), ...cat.software.values()];
    for (const e of all) expect(e.source.length, e.id).toBeGreaterThan(20);
    const dom0 = new Set([...cat.xen.values()].flatMap((x) => x.dom0_os));
    for (const o of cat.os.values()) if (dom0.has(o.family)) expect(o.default_dom0_memory, o.id).toBeGreaterThan(0);
  });
});

describe('catalog validation', () => {
  const cases: [string, string, (d: any) => void, RegExp][] = [
    ['missing source', 'modules.json', (d) => delete byId(d, 'arla-0.43-nnpfs').source, /modules\.json entry 'arla-0.43-nnpfs': 'source' is missing/],
    ['unknown kernel os', 'kernels.json', (d) => byId(d, 'linux-2.6.16-xen-3.0.2').os.push('debian-sarge'), /kernels\.json entry 'linux-2\.6\.16-xen-3\.0\.2': 'os' names unknown OS 'debian-sarge'/],
    ['unknown kernel xen', 'kernels.json', (d) => (byId(d, 'linux-2.6.16-xen-3.0.2').xen = '3.0.1'), /unknown Xen release '3\.0\.1'/],
    ['kernel kind vs os', 'kernels.json', (d) => byId(d, 'linux-2.6.16-xen-3.0.2').os.push('netbsd-3.1'), /OS 'netbsd-3\.1' is a netbsd system/],
    ['unknown client module', 'software.json', (d) => (byId(d, 'arla-0.43').client_modules.netbsd = 'arla-0.44-nnpfs'), /software\.json entry 'arla-0\.43': 'client_modules\.netbsd' names unknown module/],
    ['client module of wrong kind', 'software.json', (d) => (byId(d, 'arla-0.43').client_modules.linux = 'arla-0.43-nnpfs'), /a netbsd module/],
    ['unknown xen family', 'xen.json', (d) => byId(d, '3.1').domu_os.push('hurd'), /xen\.json entry '3\.1': 'domu_os' names unknown OS family 'hurd'/],
    ['bad placeholder', 'kernels.json', (d) => byId(d, 'plan9-xen2-domu').boot.push('{memroy}M'), /unknown placeholder \{memroy\}/],
    ['bad export type', 'kernels.json', (d) => (byId(d, 'linux-2.6.16-xen-3.0.2').exports.printk = 'EXPORT_GPL'), /'exports\.printk' is "EXPORT_GPL", expected one of EXPORT_SYMBOL/],
    ['duplicate id', 'os.json', (d) => d.push({ ...byId(d, 'plan9') }), /os\.json entry 'plan9': duplicate id/],
    ['issue without source', 'software.json', (d) => delete byId(d, 'arla-0.43').known_issues[0].source, /entry 'arla-0\.43': 'known_issues\[0\]\.source' is missing/],
    ['os without kernel', 'os.json', (d) => d.push({ id: 'hurd', name: 'GNU Hurd', family: 'hurd', kernel_kind: 'linux', source: 'test' }), /os\.json entry 'hurd': no kernel/],
    ['dom0 os without default memory', 'os.json', (d) => delete byId(d, 'linux-2.6').default_dom0_memory, /'linux-2\.6': family 'linux-2\.6' runs dom0/],
    ['licences without source', 'licences.json', (d) => delete d.source, /licences\.json: 'source' is missing/],
  ];
  for (const [name, file, edit, err] of cases) {
    it(`rejects ${name}`, () => {
      expect(() => readCatalog(brokenCopy(file, edit))).toThrow(err);
    });
  }
  it('accepts an unmodified copy', () => {
    expect(readCatalog(brokenCopy('os.json', () => {})).os.size).toBe(cat.os.size);
  });
});
