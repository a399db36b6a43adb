// check-module against the Linux 6.1 loader itself: modules built now against the installed headers,
// and files derived from them for each class the loader checks (stripped, not ET_REL, another
// architecture, no module struct, vermagic with and without __versions, a CRC, no licence,
// compressed), are judged by check-module, then insmod'ed into a QEMU guest booting the kernel those
// headers belong to. check-module's verdict must be the loader's, and its words the loader's words.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LicenceTable } from '../../src/catalog/types.js';
import type { Finding } from '../../src/compat/types.js';
import { GUEST_BUSYBOX } from '../../src/drivers/vm/guest-agent.js';
import { prepareBootFiles } from '../../src/drivers/vm/boot-files.js';
import { hostKernelImage } from '../../src/drivers/vm/kernel.js';
import { isStaticElf } from '../../src/drivers/vm/kimage.js';
import { guestAlive, startGuest, stopGuest, waitReady, type Guest } from '../../src/drivers/vm/qemu.js';
import { kernelFromArtifacts, moduleFromKo } from '../../src/kmod/artifacts.js';
import { checkModuleFile } from '../../src/kmod/check-file.js';
import { parseElf, sectionByName } from '../../src/kmod/elf.js';
import { buildCases, buildEnv, kernelLicences, type Built } from '../modules/build.js';

const build = buildEnv();

/** Why the guest half cannot run here, or undefined. */
function guestUnavailable(): string | undefined {
  if (!build.ok) return build.reason;
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['qemu-system-x86_64', 'xz', 'zstd', 'objcopy', 'strip']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) return `no ${tool}`;
  }
  if (!existsSync('/bin/busybox') || !isStaticElf(readFileSync('/bin/busybox'))) return 'no static /bin/busybox (busybox-static)';
  try {
    const guest = hostKernelImage().release;
    const headers = kernelFromArtifacts({ symvers: join(build.headers, 'Module.symvers') }).release;
    if (guest !== headers) return `the guest kernel ${guest} is not the headers' ${headers}`;
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

const noBuild = build.ok ? undefined : build.reason;
const noGuest = guestUnavailable();

interface Case {
  file: string; // on the host
  name: string; // module name, for rmmod
  loads: boolean; // what the 6.1 loader does (asserted against the real one below)
  dmesg?: RegExp; // a line the loader prints about it
  quote?: string; // what of that line check-module's findings say too
}

describe.skipIf(noBuild !== undefined)(`check-module vs the 6.1 loader${noBuild ? ` — SKIPPED: ${noBuild}` : ''}`, () => {
  const headers = build.ok ? build.headers : '';
  const symvers = join(headers, 'Module.symvers');
  const config = join(headers, '.config');
  let root: string;
  let built: Map<string, Built>;
  let licences: LicenceTable;
  const cases: Record<string, Case> = {};
  const verdict = (c: Case): Finding[] => checkModuleFile(c.file, { symvers, config, licences }).findings;
  /** modpost's refusal of a missing licence is not the loader's (it loads such a module as 'unspecified'). */
  const loaderErrors = (fs: Finding[]) => fs.filter((f) => f.severity === 'error' && f.code !== 'module-licence-missing');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cellctl-loader-'));
    licences = kernelLicences(build as { headers: string; common?: string });
    built = await buildCases(['gpl_xen', 'nongpl_printk'], headers, root);
    const ko = (n: string) => built.get(n)!.ko!;
    const derive = (name: string, edit: (data: Buffer) => void, from = ko('gpl_xen')): string => {
      const data = readFileSync(from);
      edit(data);
      const file = join(root, name);
      writeFileSync(file, data);
      return file;
    };
    const replace = (from: string, to: string) => (data: Buffer) => {
      const at = data.indexOf(from);
      if (at < 0 || from.length !== to.length) throw new Error(`cannot patch ${from}`);
      data.write(to, at, 'latin1');
    };
    const run = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    };
    // Built against the same headers, the module's vermagic is the kernel's.
    const vermagic = moduleFromKo(ko('gpl_xen')).vermagic!;
    const release = vermagic.split(' ')[0]!;
    const otherRelease = release.replace(/\d(?=\D*$)/, (d) => String((Number(d) + 1) % 10));
    const c = (file: string, name: string, loads: boolean, dmesg?: RegExp, quote?: string): Case =>
      ({ file, name, loads, ...(dmesg ? { dmesg } : {}), ...(quote ? { quote } : {}) });

    // First: the loader prints a licence taint once per boot, and this case is there to show it.
    // No licence: modpost would not have made it; the loader takes it as 'unspecified'.
    cases.noLicence = c(derive('nolicence.ko', replace('license=http', 'lxcense=http'), ko('nongpl_printk')), 'nongpl_printk', true, /nongpl_printk: module license 'unspecified' taints kernel/);
    cases.plain = c(ko('gpl_xen'), 'gpl_xen', true);
    cases.nonGpl = c(ko('nongpl_printk'), 'nongpl_printk', true);
    const stripped = join(root, 'stripped.ko');
    run('strip', ['--strip-all', ko('gpl_xen'), '-o', stripped]);
    cases.stripped = c(stripped, 'gpl_xen', false, /gpl_xen: module has no symbols \(stripped\?\)/, 'gpl_xen: module has no symbols (stripped?)');
    const src = join(root, 'hello.c');
    writeFileSync(src, 'int main(void) { return 0; }\nint hello(void) { return 1; }\n');
    const exe = join(root, 'hello');
    run('gcc', ['-no-pie', '-o', exe, src]);
    cases.executable = c(exe, 'hello', false, /Invalid ELF header type: 2 != 1/, 'Invalid ELF header type: 2 != 1');
    const so = join(root, 'libhello.so');
    run('gcc', ['-shared', '-fPIC', '-o', so, src]);
    cases.sharedObject = c(so, 'libhello', false, /Invalid ELF header type: 3 != 1/, 'Invalid ELF header type: 3 != 1');
    cases.otherArch = c(derive('i386.ko', (d) => d.writeUInt16LE(3, 18)), 'gpl_xen', false, /Invalid architecture in ELF header: 3/, 'Invalid architecture in ELF header: 3');
    const object = join(root, 'object.ko');
    copyFileSync(built.get('gpl_xen')!.o!, object);
    cases.notLinked = c(object, 'gpl_xen', false, /No module found in object/, 'No module found in object');
    const otherMagic = vermagic.replace(release, otherRelease);
    cases.otherRelease = c(derive('other-release.ko', replace(`vermagic=${release}`, `vermagic=${otherRelease}`)), 'gpl_xen', true);
    const bare = join(root, 'other-release-noversions.ko');
    run('objcopy', ['--rename-section', '__versions=__versionX', cases.otherRelease.file, bare]);
    cases.otherReleaseNoVersions = c(bare, 'gpl_xen', false, /gpl_xen: version magic '.*' should be '.*'/, `gpl_xen: version magic '${otherMagic}' should be '${vermagic}'`);
    cases.otherFlags = c(derive('other-flags.ko', replace('mod_unload', 'mod_unloaX')), 'gpl_xen', false, /gpl_xen: version magic '.*mod_unloaX.*' should be '.*'/,
      `gpl_xen: version magic '${vermagic.replace('mod_unload', 'mod_unloaX')}' should be '${vermagic}'`);
    cases.crc = c(derive('crc.ko', (d) => {
      // Change the CRC __versions records for _printk: what a module built for another kernel carries.
      const s = sectionByName(parseElf(d), '__versions')!;
      for (let o = s.offset; o < s.offset + s.size; o += 64) {
        if (d.toString('latin1', o + 8, o + 16) === '_printk\0') d.writeUInt32LE(d.readUInt32LE(o) ^ 0xdeadbeef, o);
      }
    }), 'gpl_xen', false, /gpl_xen: disagrees about version of symbol _printk/, 'gpl_xen: disagrees about version of symbol _printk');
    cases.noLicenceGplImport = c(derive('nolicence-gpl.ko', replace('license=GPL', 'lxcense=GPL')), 'gpl_xen', false, /gpl_xen: Unknown symbol xen_features \(err -2\)/, 'gpl_xen: Unknown symbol xen_features');
    const xz = join(root, 'gpl_xen.ko.xz');
    run('sh', ['-c', `xz -c '${ko('gpl_xen')}' > '${xz}'`]);
    cases.xz = c(xz, 'gpl_xen', true);
    const zst = join(root, 'gpl_xen.ko.zst');
    run('zstd', ['-q', '-o', zst, ko('gpl_xen')]);
    cases.zstd = c(zst, 'gpl_xen', true);
  }, 300_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('check-module: the classes the loader refuses before looking at a symbol, in its words', () => {
    const codes = (k: string) => verdict(cases[k]!).map((f) => f.code);
    expect(codes('stripped')).toEqual(['module-no-symbols']);
    expect(codes('executable')).toEqual(['module-not-relocatable']);
    expect(codes('sharedObject')).toEqual(['module-not-relocatable']);
    expect(codes('otherArch')).toEqual(['module-wrong-architecture']);
    expect(codes('notLinked')).toEqual(['module-not-linked']);
    for (const k of ['stripped', 'executable', 'sharedObject', 'otherArch', 'notLinked']) {
      const f = verdict(cases[k]!)[0]!;
      expect(f.message, k).toMatch(cases[k]!.dmesg!);
      expect(f.message.includes(cases[k]!.file) || f.message.startsWith(`${cases[k]!.name}:`), `${k} names the file or module`).toBe(true);
    }
  });

  it('check-module: vermagic, CRC, licence and compressed modules', () => {
    const codes = (k: string) => verdict(cases[k]!).map((f) => f.code);
    expect(codes('plain')).toEqual([]);
    expect(codes('otherRelease')).toEqual([]);
    expect(codes('otherReleaseNoVersions')).toEqual(['module-vermagic-mismatch', 'module-modversions-missing']);
    expect(codes('otherFlags')).toEqual(['module-vermagic-mismatch']);
    expect(codes('crc')).toEqual(['module-symbol-version-mismatch']);
    expect(codes('noLicenceGplImport')).toEqual(['module-licence-missing', 'module-gpl-only-symbol']);
    expect(codes('noLicence')).toEqual(['module-licence-missing']);
    expect(verdict(cases.noLicence!)[0]!.message).toBe('ERROR: modpost: missing MODULE_LICENSE() in nongpl_printk.o');
    expect(codes('xz')).toEqual([]);
    expect(codes('zstd')).toEqual([]);
  });

  describe.skipIf(noGuest !== undefined)(`insmod in a QEMU guest${noGuest ? ` — SKIPPED: ${noGuest}` : ''}`, () => {
    let guest: Guest;
    const results: Record<string, { code: number; dmesg: string }> = {};

    beforeAll(async () => {
      const boot = await prepareBootFiles();
      const t0 = Date.now();
      guest = await startGuest({ name: 'kmodt', dir: join(root, 'guest'), kernel: boot.kernel.boot, initrd: boot.initramfs.path, memoryMiB: 384, root: 'tmpfs' });
      await waitReady(guest);
      const a = guest.agent;
      await a.exec(GUEST_BUSYBOX, ['dmesg', '-c']);
      for (const [k, c] of Object.entries(cases)) {
        const inGuest = `/tmp/${k}-${c.file.split('/').pop()}`;
        await a.writeFile(inGuest, readFileSync(c.file));
        const r = await a.exec('/sbin/insmod', [inGuest], { timeoutMs: 60_000 });
        const dmesg = (await a.exec(GUEST_BUSYBOX, ['dmesg', '-c'])).stdout;
        results[k] = { code: r.code, dmesg: `${dmesg}${r.stderr}` };
        if (r.code === 0) await a.exec('/sbin/rmmod', [c.name]);
      }
      console.log(`loader: ${Object.keys(cases).length} insmods in a ${boot.kernel.release} guest (${guest.accel.accel}), ${Date.now() - t0} ms from start`);
    }, 300_000);

    afterAll(async () => {
      if (guest && guestAlive(guest.pidfile)) await stopGuest(guest);
    }, 60_000);

    it('every case is refused or loaded as the case says, and check-module says the same', () => {
      for (const [k, c] of Object.entries(cases)) {
        const r = results[k]!;
        expect(r.code === 0, `${k}: insmod exit ${r.code}\n${r.dmesg}`).toBe(c.loads);
        expect(loaderErrors(verdict(c)).length === 0, `${k}: check-module ${JSON.stringify(verdict(c))}`).toBe(c.loads);
      }
    });

    it("the loader's lines are the ones check-module quotes", () => {
      for (const [k, c] of Object.entries(cases)) {
        if (!c.dmesg) continue;
        expect(results[k]!.dmesg, k).toMatch(c.dmesg);
        if (c.quote) expect(results[k]!.dmesg, k).toContain(c.quote);
        if (c.quote) expect(verdict(c).map((f) => f.message).join('\n'), k).toContain(c.quote);
      }
    });
  });
});
