// Module.symvers in every layout modpost has written, the .config -> vermagic rules, and
// kernelFromArtifacts on small hand-made build trees (plus the real one, when installed).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelFromArtifacts } from '../../src/kmod/artifacts.js';
import { deriveVermagic, enabledOptions, parseKconfig } from '../../src/kmod/kconfig.js';
import { exportsOf, parseSymvers, type SymversError } from '../../src/kmod/symvers.js';
import type { ModuleEntry } from '../../src/catalog/types.js';
import { checkModuleLoad } from '../../src/kmod/verdict.js';
import { UserError } from '../../src/diagnostics.js';
import { buildEnv } from '../modules/build.js';

describe('parseSymvers', () => {
  it('reads the >= 5.9 layout: crc, symbol, module, type, namespace', () => {
    const m = parseSymvers('0x4b931968\txen_features\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x84b45156\tinsert_resource_expand_to_fit\tvmlinux\tEXPORT_SYMBOL_GPL\tCXL\n0x92997ed8\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n');
    expect(m.get('xen_features')).toEqual({ symbol: 'xen_features', crc: 0x4b931968, module: 'vmlinux', type: 'EXPORT_SYMBOL_GPL', namespace: undefined });
    expect(m.get('insert_resource_expand_to_fit')).toMatchObject({ type: 'EXPORT_SYMBOL_GPL_NS', namespace: 'CXL' });
    expect(m.get('_printk')?.type).toBe('EXPORT_SYMBOL');
  });

  it('reads the <= 5.3 four-column layout and the 5.4-5.8 namespace-third layout', () => {
    const old = parseSymvers('0x00000000\txen_features\tvmlinux\tEXPORT_SYMBOL_GPL\n0x1234abcd\tevtchn_get\tdrivers/xen/xen-evtchn\tEXPORT_SYMBOL\n');
    expect(old.get('xen_features')).toMatchObject({ type: 'EXPORT_SYMBOL_GPL', crc: 0, module: 'vmlinux' });
    expect(old.get('evtchn_get')).toMatchObject({ type: 'EXPORT_SYMBOL', module: 'drivers/xen/xen-evtchn' });
    const mid = parseSymvers('0x1\tusb_stor_probe1\tUSB_STORAGE\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\n0x2\tfoo\t\tvmlinux\tEXPORT_SYMBOL\n');
    expect(mid.get('usb_stor_probe1')).toMatchObject({ type: 'EXPORT_SYMBOL_GPL_NS', namespace: 'USB_STORAGE', module: 'drivers/usb/storage/usb-storage' });
    expect(mid.get('foo')).toMatchObject({ type: 'EXPORT_SYMBOL', namespace: undefined, module: 'vmlinux' });
  });

  it("maps every type modpost wrote to what it enforces (GPL_FUTURE is not GPL-only); CRLF and blank lines", () => {
    const types = ['EXPORT_SYMBOL_GPL_FUTURE', 'EXPORT_UNUSED_SYMBOL', 'EXPORT_UNUSED_SYMBOL_GPL', 'EXPORT_SYMBOL_NS', 'EXPORT_SYMBOL_NS_GPL'];
    const m = parseSymvers(types.map((t, i) => `0x0000000${i}\ts${i}\tvmlinux\t${t}\r\n\r\n`).join(''));
    expect([...m.values()].map((e) => e.type)).toEqual(['EXPORT_SYMBOL', 'EXPORT_SYMBOL', 'EXPORT_SYMBOL_GPL', 'EXPORT_SYMBOL', 'EXPORT_SYMBOL_GPL']);
  });

  it('rejects what modpost would, naming the line', () => {
    const err = (text: string): SymversError => {
      try { parseSymvers(text); } catch (e) { return e as SymversError; }
      throw new Error('expected a SymversError');
    };
    expect(err('0x1\ta\tvmlinux\tEXPORT_SYMBOL\n\n0x2 b vmlinux EXPORT_SYMBOL\n')).toMatchObject({ line: 3, message: expect.stringMatching(/at least 4/) });
    expect(err('0x1\ta\tvmlinux\tEXPORT_SYMBOL_SOMETIMES\n').message).toMatch(/unknown export type 'EXPORT_SYMBOL_SOMETIMES'/);
    expect(err('zz\ta\tvmlinux\tEXPORT_SYMBOL\n').message).toMatch(/bad crc 'zz'/);
    expect(err('0x1\ta\tvmlinux\tvmlinux\tvmlinux\n').message).toMatch(/no export type column/);
  });

  it('symbol names are data: "constructor" or "toString" never hit Object.prototype', () => {
    const exports = exportsOf(parseSymvers('0x1\tconstructor\tvmlinux\tEXPORT_SYMBOL\n'));
    const mod: ModuleEntry = { id: 'm', source: 't', name: 'm', kernel_kind: 'linux', license: 'GPL', imports: ['constructor', 'toString'] };
    const kernel = { id: 'k', source: 't', kernel_kind: 'linux' as const, release: '6.1', xen: '', os: [], image: '', options: [], exports, boot: [] };
    const f = checkModuleLoad(mod, kernel, { source: 't', gpl_compatible: ['GPL'] }, 'module.m');
    expect(f.map((x) => x.message)).toEqual(['m: Unknown symbol toString (not exported by kernel 6.1)']);
  });
});

describe('.config and vermagic', () => {
  const cfg = (lines: string[]): Map<string, string> => parseKconfig(lines.map((l) => `CONFIG_${l}`).join('\n'));
  const x86_64 = ['X86_64=y', 'SMP=y', 'PREEMPT_BUILD=y', 'MODULE_UNLOAD=y', 'MODVERSIONS=y'];

  it('parses options: =y and =m are on, "is not set" and strings are not options', () => {
    const c = parseKconfig('# CONFIG_DEBUG_INFO is not set\nCONFIG_DEBUG_KERNEL=y\nCONFIG_XEN_EVTCHN=m\nCONFIG_LOCALVERSION="-xen \\"x\\""\nCONFIG_NR_CPUS=64\n');
    expect(enabledOptions(c)).toEqual(['DEBUG_KERNEL', 'XEN_EVTCHN']);
    expect(c.get('LOCALVERSION')).toBe('-xen "x"');
    expect(c.has('DEBUG_INFO')).toBe(false);
  });

  it('builds VERMAGIC_STRING the way include/linux/vermagic.h does', () => {
    const rel = { release: '6.1.0-56-amd64' };
    expect(deriveVermagic(cfg(x86_64), rel)).toBe('6.1.0-56-amd64 SMP preempt mod_unload modversions ');
    expect(deriveVermagic(cfg(['X86_64=y']), rel)).toBe('6.1.0-56-amd64 ');
    expect(deriveVermagic(cfg(['X86_64=y', 'PREEMPT_RT=y', 'MODULE_UNLOAD=y']), rel)).toBe('6.1.0-56-amd64 preempt_rt mod_unload ');
    // Before 5.16 the tag came from CONFIG_PREEMPT.
    expect(deriveVermagic(cfg(['X86_64=y', 'SMP=y', 'PREEMPT=y']), { release: '5.10.0-30-amd64' })).toBe('5.10.0-30-amd64 SMP preempt ');
    expect(deriveVermagic(cfg(['X86_32=y', 'M686=y', 'SMP=y', 'MODULE_UNLOAD=y', '4KSTACKS=y']), { release: '3.2.0-4-686-pae' }))
      .toBe('3.2.0-4-686-pae SMP mod_unload 686 4KSTACKS ');
  });

  it('gives no vermagic rather than a guess (2.6 gcc tag, unknown arch, randstruct without its seed)', () => {
    expect(deriveVermagic(cfg(['X86_32=y', 'M686=y', 'SMP=y']), { release: '2.6.16-xen' })).toBeUndefined();
    expect(deriveVermagic(cfg(['ARM64=y', 'SMP=y']), { release: '6.1.0-56-arm64' })).toBeUndefined();
    expect(deriveVermagic(cfg(x86_64), { release: '' })).toBeUndefined();
    const rs = cfg([...x86_64, 'RANDSTRUCT=y']);
    expect(deriveVermagic(rs, { release: '6.1.0' })).toBeUndefined();
    const generated = (f: string): string | undefined => (f === 'randstruct_hash.h' ? '#define RANDSTRUCT_HASHED_SEED "abc123"\n' : undefined);
    expect(deriveVermagic(rs, { release: '6.1.0', generated })).toBe('6.1.0 SMP preempt mod_unload modversions RANDSTRUCT_abc123');
  });
});

describe('kernelFromArtifacts on a hand-made build tree', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tree = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'cellctl-kernel-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return dir;
  };
  const SYMVERS = '0x4b931968\txen_features\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x92997ed8\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n';

  it('release: the argument, else UTS_RELEASE, else include/config/kernel.release, else empty', () => {
    const dir = tree({
      'Module.symvers': SYMVERS,
      'include/generated/utsrelease.h': '#define UTS_RELEASE "6.1.0-56-amd64"\n',
      'include/config/kernel.release': '6.1.192\n',
    });
    const symvers = join(dir, 'Module.symvers');
    expect(kernelFromArtifacts({ symvers }).release).toBe('6.1.0-56-amd64');
    expect(kernelFromArtifacts({ symvers, release: '6.1.0-99-amd64', xen: '4.17' })).toMatchObject({ release: '6.1.0-99-amd64', xen: '4.17' });
    const bare = tree({ 'Module.symvers': SYMVERS, 'include/config/kernel.release': '5.10.0-30-amd64\n' });
    expect(kernelFromArtifacts({ symvers: join(bare, 'Module.symvers') }).release).toBe('5.10.0-30-amd64');
    const none = tree({ 'Module.symvers': SYMVERS });
    const k = kernelFromArtifacts({ symvers: join(none, 'Module.symvers') });
    expect(k).toMatchObject({ release: '', kernel_kind: 'linux', options: [], id: none });
    expect(k.vermagic).toBeUndefined();
    expect({ ...k.exports }).toEqual({ xen_features: 'EXPORT_SYMBOL_GPL', _printk: 'EXPORT_SYMBOL' });
  });

  it('options and vermagic from a .config', () => {
    const dir = tree({
      'Module.symvers': SYMVERS,
      'include/generated/utsrelease.h': '#define UTS_RELEASE "6.1.0-56-amd64"\n',
      '.config': 'CONFIG_X86_64=y\nCONFIG_SMP=y\nCONFIG_DEBUG_KERNEL=y\nCONFIG_MODULE_UNLOAD=y\n',
    });
    const k = kernelFromArtifacts({ symvers: join(dir, 'Module.symvers'), config: join(dir, '.config') });
    expect(k.options).toEqual(['DEBUG_KERNEL', 'MODULE_UNLOAD', 'SMP', 'X86_64']);
    expect(k.vermagic).toBe('6.1.0-56-amd64 SMP mod_unload ');
    expect(k.source).toContain('.config');
  });

  it('a bad or missing file is a UserError naming the file (and line)', () => {
    const dir = tree({ 'Module.symvers': `${SYMVERS}garbage\n` });
    let err: unknown;
    try { kernelFromArtifacts({ symvers: join(dir, 'Module.symvers') }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).diagnostics[0].pos).toEqual({ file: join(dir, 'Module.symvers'), line: 3, col: 1 });
    expect(() => kernelFromArtifacts({ symvers: join(dir, 'nope') })).toThrow(/nope: cannot read Module.symvers: ENOENT/);
  });
});

const env = buildEnv();
const real = env.ok ? join(env.headers, 'Module.symvers') : '';
describe.skipIf(!env.ok || !existsSync(real))(env.ok ? `the installed ${real}` : `installed Module.symvers — SKIPPED: ${env.ok ? '' : env.reason}`, () => {
  it('parses every export and says what REAL-KERNEL.md measured (xen_features GPL-only)', () => {
    const text = readFileSync(real, 'utf8');
    const lines = text.split('\n').filter(Boolean).length;
    const m = parseSymvers(text);
    expect(m.size).toBe(lines);
    expect(m.get('xen_features')).toMatchObject({ module: 'vmlinux', type: 'EXPORT_SYMBOL_GPL' });
    for (const s of ['xen_start_info', 'evtchn_get', 'evtchn_put']) expect(m.get(s)?.type).toBe('EXPORT_SYMBOL_GPL');
  });
});
