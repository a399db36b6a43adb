// The Xen kit's pure parts: xl output parsers, addresses, the domU config (renderXl's, plus what
// a booting domU needs), the generated sh (syntax-checked by busybox), the multiboot QEMU command
// line, finding the hypervisor, and a root image read back with debugfs. No Xen needed.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { execa, execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/load.js';
import { loadCell } from '../../../src/config/load.js';
import { parseXlConfig, renderXl } from '../../../src/export/xl.js';
import { PACKAGE_ROOT } from '../../../src/paths.js';
import { desiredResources } from '../../../src/plan/desired.js';
import type { GuestAttrs } from '../../../src/plan/resources.js';
import { tcg } from '../../../src/drivers/vm/accel.js';
import { AgentError, AgentTimeoutError, GuestAgent } from '../../../src/drivers/vm/agent.js';
import { guestPaths, qemuArgs, type GuestSpec } from '../../../src/drivers/vm/qemu-args.js';
import { CONTROL_BRIDGE, dom0SetupScript } from '../../../src/drivers/xen/dom0-setup.js';
import { controlMac, linkLocal, relayScript } from '../../../src/drivers/xen/domu-agent.js';
import { domuConfig, type DomuBoot } from '../../../src/drivers/xen/domu-config.js';
import { domuScripts } from '../../../src/drivers/xen/domu-init.js';
import { hotplugScripts } from '../../../src/drivers/xen/hotplug.js';
import { startXenHost } from '../../../src/drivers/xen/host.js';
import { findXen } from '../../../src/drivers/xen/hypervisor.js';
import { buildRootImage } from '../../../src/drivers/xen/root-image.js';
import { configDomainName, parseXlInfo, parseXlList } from '../../../src/drivers/xen/xl.js';

const work = mkdtempSync(join(tmpdir(), 'xenkit-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function have(cmd: string, arg = '--help'): boolean {
  try {
    execaSync(cmd, [arg], { reject: false });
    return true;
  } catch {
    return false;
  }
}

function shea(): GuestAttrs {
  const catalog = loadCatalog();
  const r = desiredResources(loadCell(join(PACKAGE_ROOT, 'cells', 'awesmoe-fixed.yaml'), catalog), catalog).find((x) => x.address === 'guest.shea');
  if (r?.type !== 'guest') throw new Error('no guest.shea in awesmoe-fixed.yaml');
  return r.attrs;
}

describe('xl output', () => {
  it('reads xl list, names with spaces included, fields from the right', () => {
    const text = [
      'Name                                        ID   Mem VCPUs\tState\tTime(s)',
      'Domain-0                                     0   256     2     r-----      12.3',
      'shea                                         1   128     1     -b----       1.2',
      'odd name                                    17    64     1     --p---       0.0',
    ].join('\n');
    expect(parseXlList(text)).toEqual([
      { name: 'Domain-0', id: 0, memMiB: 256, vcpus: 2, state: 'r-----', timeS: 12.3 },
      { name: 'shea', id: 1, memMiB: 128, vcpus: 1, state: '-b----', timeS: 1.2 },
      { name: 'odd name', id: 17, memMiB: 64, vcpus: 1, state: '--p---', timeS: 0 },
    ]);
    expect(() => parseXlList('Name ID Mem VCPUs State Time(s)\ngarbage line')).toThrow(/cannot read the line "garbage line"/);
  });

  it('reads xl info and names what is missing', () => {
    const info = parseXlInfo('host                   : kraken\nxen_version            : 4.17.7\ntotal_memory           : 1023\nfree_memory            : 754\nnr_cpus                : 2\nxen_commandline        : dom0_mem=256M,max:256M console=com1\n');
    expect(info).toMatchObject({ xenVersion: '4.17.7', totalMemoryMiB: 1023, freeMemoryMiB: 754, nrCpus: 2 });
    expect(info.raw.xen_commandline).toBe('dom0_mem=256M,max:256M console=com1');
    expect(() => parseXlInfo('xen_version : 4.17.7\ntotal_memory : 1023\nnr_cpus : 2\n')).toThrow(/no numeric free_memory/);
  });

  it('takes the domain name from the config, and refuses one that cannot name a file', () => {
    expect(configDomainName('name = "shea"\nmemory = 128\n')).toBe('shea');
    expect(() => configDomainName('memory = 128\n')).toThrow(/name = undefined/);
    expect(() => configDomainName('name = "../etc/x"\n')).toThrow(/expected a domain name/);
  });
});

describe('control addresses', () => {
  it('gives each domain a fixed, locally administered MAC and its EUI-64 link-local address', () => {
    expect(controlMac('shea')).toBe(controlMac('shea'));
    expect(controlMac('shea')).not.toBe(controlMac('kula'));
    expect(controlMac('shea')).toMatch(/^0a:ce:11(:[0-9a-f]{2}){3}$/);
    // RFC 4291 appendix A: flip the U/L bit, put ff:fe in the middle
    expect(linkLocal('52:54:00:12:34:56')).toBe('fe80::5054:ff:fe12:3456');
    expect(linkLocal('02:00:00:00:00:01')).toBe('fe80::ff:fe00:1');
    expect(linkLocal('0a:ce:11:0c:35:5d')).toBe('fe80::8ce:11ff:fe0c:355d');
    expect(() => linkLocal('52:54:00:12:34')).toThrow(/bad MAC/);
  });
});

describe('a relay that cannot reach the agent', () => {
  it('answers "undelivered": the client fails at once with the reason, and the next request goes through', async () => {
    const sock = join(work, 'relay.sock');
    let n = 0;
    const server = createServer((c) => {
      c.on('data', (d: Buffer) => {
        const id = d.toString().split(' ')[1];
        const why = Buffer.from("domU agent at [fe80::1%cellctl0]:7000: nc: can't connect to remote host: Connection refused").toString('base64');
        c.write(n++ === 0 ? `CELLCTL-R ${id} 255 undelivered  ${why}\n` : `CELLCTL-R ${id} 0 -  \n`);
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const a = new GuestAgent(sock, 'domU shea');
    try {
      const err = await a.ping(30_000).catch((e: Error) => e);
      expect(err).toBeInstanceOf(AgentError);
      expect(err).not.toBeInstanceOf(AgentTimeoutError);
      expect(String(err)).toMatch(/domU shea: request not delivered to the agent: domU agent at \[fe80::1%cellctl0\]:7000: nc: can't connect/);
      await a.ping(5_000);
    } finally {
      a.close();
      server.close();
    }
  });
});

describe('domU config', () => {
  const boot = { kernel: { boot: '/cache/vmlinux', release: '6.1.0-57-amd64' }, initramfs: { path: '/cache/domu.cpio.gz' } } as DomuBoot;

  it("is export's config for the seed's shea, with the kit's kernel, ramdisk, extra and control vif", () => {
    const g = shea();
    const ours = parseXlConfig(domuConfig('shea', g, boot, { gateway: '10.4.0.1' }));
    const exported = parseXlConfig(renderXl('shea', g));
    // what the cell says stays as export writes it
    for (const k of ['name', 'memory', 'disk', 'root']) expect(ours[k]).toEqual(exported[k]);
    expect(ours.disk).toEqual(['file:/local/xen/shea.awesmoe.org/debian.4-0.img,0x301,w']);
    expect(ours.root).toBe('/dev/hda1 ro');
    // what had to differ
    expect(exported.kernel).toBe('/local/xen/shea.awesmoe.org/vmlinuz-2.6.16.29-xen');
    expect(ours.kernel).toBe('/cache/vmlinux');
    expect(ours.ramdisk).toBe('/cache/domu.cpio.gz');
    expect(ours.vif).toEqual([...(exported.vif as string[]), `mac=${controlMac('shea')}, bridge=${CONTROL_BRIDGE}`]);
    expect(ours.extra).toBe(`console=hvc0 cellctl.hostname=shea cellctl.net=00:16:3e:10:11:38,10.4.0.38/24 cellctl.gw=10.4.0.1 cellctl.ctl=${controlMac('shea')}`);
  });

  it('refuses values the domU init could not take', () => {
    const g = shea();
    expect(() => domuConfig('shea', { ...g, vifs: [{ mac: 'zz:16:3e:10:11:38', bridge: 'bridge4' }] }, boot)).toThrow(/bad MAC/);
    expect(() => domuConfig('shea', g, boot, { gateway: '10.4.0.1;reboot' })).toThrow(/bad gateway/);
  });
});

describe('dom0 setup script', () => {
  const base = { toolsDir: '/usr/lib/xen-4.17/bin', mounts: [{ tag: 'xenlog', path: '/var/log/xen' }], bridges: ['bridge3', 'bridge4'], uplinks: [{ mac: '52:54:00:AA:BB:01', bridge: 'bridge4' }] };

  it('makes the bridges (and the control bridge), joins the uplink by MAC, installs the hotplug scripts', () => {
    const s = dom0SetupScript({ ...base, hotplug: hotplugScripts() });
    expect(s).toContain(`bridge ${CONTROL_BRIDGE} 02:00:00:00:00:01`);
    expect(s).toMatch(/^bridge bridge3$/m);
    expect(s).toMatch(/^uplink 52:54:00:aa:bb:01 bridge4$/m);
    expect(s).toContain("mount_share 'xenlog' '/var/log/xen'");
    expect(s).toContain("cat >/etc/xen/scripts/block <<'CELLCTL_SCRIPT_END'");
    expect(s).toContain('--log=guest --log-dir=/var/log/xen/console');
  });

  it('refuses bad names and an uplink to a bridge the host does not have', () => {
    expect(() => dom0SetupScript({ ...base, bridges: ['br;reboot'] })).toThrow(/bad bridge name/);
    expect(() => dom0SetupScript({ ...base, bridges: ['bridge3', CONTROL_BRIDGE] })).toThrow(/bad bridge name/);
    expect(() => dom0SetupScript({ ...base, uplinks: [{ mac: '52:54:00:aa:bb:01', bridge: 'bridge9' }] })).toThrow(/bridge bridge9 is not one of the host's bridges \(bridge3, bridge4\)/);
  });
});

const BB = have('busybox', 'true');
describe.skipIf(!BB)(`generated sh parses under busybox sh${BB ? '' : ' (skipped: no busybox)'}`, () => {
  const scripts: Record<string, string> = {
    ...Object.fromEntries(Object.entries(hotplugScripts()).map(([k, v]) => [`hotplug ${k}`, v])),
    relay: relayScript(),
    'dom0 setup': dom0SetupScript({ toolsDir: '/x', mounts: [], bridges: ['b'], uplinks: [], hotplug: hotplugScripts() }),
  };
  const d = domuScripts();
  Object.assign(scripts, { 'domU init': d.init, 'domU stage2': d.stage2, 'domU agent': d.agent, ...Object.fromEntries(Object.entries(d.extra ?? {}).map(([k, v]) => [`domU ${k}`, v])) });

  for (const [name, text] of Object.entries(scripts)) {
    it(name, async () => {
      const f = join(work, name.replace(/\W+/g, '_'));
      writeFileSync(f, text);
      const r = await execa('busybox', ['sh', '-n', f], { reject: false });
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
    });
  }

  it('the domU agent reads its requests from the socket on stdin and stops after one', () => {
    expect(d.agent).toContain('exec 3<&0 </dev/null >/dev/null');
    expect(d.agent).toMatch(/then exit 0; fi/);
  });
});

describe('QEMU booting Xen (multiboot)', () => {
  const spec: GuestSpec = {
    name: 'kraken', dir: join(work, 'kraken'), kernel: '/c/vmlinux', initrd: '/c/dom0,1.cpio.gz', memoryMiB: 1024, cpus: 2,
    console: 'hvc0', cpu: 'max,-smap,-smep', hypervisor: { image: '/c/xen', append: 'dom0_mem=256M,max:256M console=com1' },
    hostCache: 'loose', shares: [{ path: join(work, 'logs'), tag: 'xenlog' }],
    vifs: [{ mac: '52:54:00:00:00:01', tap: 'tapk0', ip: '10.1.0.2', prefix: 24 }],
  };
  const args = qemuArgs(spec, tcg('test'), guestPaths(spec.dir));
  const after = (flag: string) => args.filter((_, i) => args[i - 1] === flag);

  it('boots the hypervisor with its command line; dom0 kernel and initramfs are its modules, commas doubled', () => {
    expect(after('-kernel')).toEqual(['/c/xen']);
    expect(after('-append')).toEqual(['dom0_mem=256M,max:256M console=com1']);
    expect(after('-initrd')).toEqual(['/c/vmlinux console=hvc0 panic=-1 cellctl.hostname=kraken cellctl.net=52:54:00:00:00:01,,10.1.0.2/24 cellctl.9pcache=loose,/c/dom0,,1.cpio.gz']);
    expect(after('-cpu')).toEqual(['max,-smap,-smep']);
    expect(after('-smp')).toEqual(['2']);
    expect(after('-m')).toEqual(['1024']);
  });

  it('adds each share as its own 9p device, and refuses a tag that would shadow the root', () => {
    expect(after('-virtfs')).toContain(`local,path=${join(work, 'logs')},mount_tag=xenlog,security_model=none,multidevs=remap`);
    expect(() => qemuArgs({ ...spec, shares: [{ path: '/x', tag: 'root' }] }, tcg('t'), guestPaths(spec.dir))).toThrow(/bad 9p share tag/);
  });
});

describe('finding Xen', () => {
  it('names the package to install when the hypervisor or its toolstack is missing', () => {
    const boot = join(work, 'boot');
    const lib = join(work, 'lib');
    mkdirSync(boot, { recursive: true });
    mkdirSync(lib, { recursive: true });
    expect(() => findXen({ bootDir: boot, libDir: lib })).toThrow(/no .*xen-\*-amd64\.gz \(install xen-hypervisor-4\.17-amd64 xen-utils-4\.17\)/);
    writeFileSync(join(boot, 'xen-4.17-amd64.gz'), '');
    expect(() => findXen({ bootDir: boot, libDir: lib })).toThrow(/found but not its toolstack \(install xen-utils-4\.17\)/);
    mkdirSync(join(lib, 'xen-4.17', 'bin'), { recursive: true });
    writeFileSync(join(lib, 'xen-4.17', 'bin', 'xl'), '');
    expect(findXen({ bootDir: boot, libDir: lib })).toEqual({ series: '4.17', package: join(boot, 'xen-4.17-amd64.gz'), toolsDir: join(lib, 'xen-4.17', 'bin') });
  });
});

const XEN = (() => {
  try {
    findXen();
    return true;
  } catch {
    return false;
  }
})();
describe.skipIf(!XEN)(`a Xen host spec${XEN ? '' : ' (skipped: Xen packages not installed)'}`, () => {
  const spec = { name: 'kraken', memoryMiB: 1024, cpus: 2, dom0MemoryMiB: 256, bridges: ['bridge4'] };

  it('is refused before anything starts when it cannot work', async () => {
    const dir = join(work, 'refused');
    await expect(startXenHost({ ...spec, dir, dom0MemoryMiB: 1024 })).rejects.toThrow(/Xen host kraken: dom0 memory 1024 MiB leaves nothing of the host's 1024 MiB/);
    await expect(startXenHost({ ...spec, dir, cpus: 0 })).rejects.toThrow(/cpus must be an integer >= 1/);
    await expect(startXenHost({ ...spec, dir, bridges: ['bridge4;reboot'] })).rejects.toThrow(/bad bridge name/);
    await expect(startXenHost({ ...spec, dir, vifs: [{ mac: '52:54:00:00:00:01', tap: 't0', bridge: 'bridge9' }] })).rejects.toThrow(/bridge bridge9 is not one of the host's bridges/);
    await expect(startXenHost({ ...spec, dir, shares: [{ hostPath: work, dom0Path: 'local/xen' }] })).rejects.toThrow(/must be an absolute path/);
    expect(() => readdirSync(join(dir, 'dom0'))).toThrow(/ENOENT/); // no QEMU was started
  });
});

const E2FS = have('mke2fs', '-V') && have('debugfs', '-V') && BB && process.getuid?.() === 0;
describe.skipIf(!E2FS)(`root image${E2FS ? '' : ' (skipped: needs root, e2fsprogs and busybox)'}`, () => {
  it('holds the programs asked for with their libraries, busybox for the rest, merged /usr', async () => {
    const img = join(work, 'img', 'root.img');
    const r = await buildRootImage({ programs: ['uname'], paths: ['/etc/hostname'] }, img);
    expect(r.files).toBeGreaterThanOrEqual(4); // uname, libc, the loader, /etc/passwd ...
    const ls = async (dir: string) => String((await execa('debugfs', ['-R', `ls -p ${dir}`, img])).stdout);
    const bin = await ls('/usr/bin');
    expect(bin).toMatch(/\/uname\//);
    expect(bin).toMatch(/\/busybox\//);
    expect(bin).toMatch(/\/wget\//); // a busybox link: no wget in the tree
    expect(await ls('/')).toMatch(/\/bin\/.*\/lib\/|\/lib\/.*\/bin\//s);
    expect(String((await execa('debugfs', ['-R', 'stat /bin', img])).stdout)).toMatch(/Type: symlink/);
    expect(await ls('/usr/lib/x86_64-linux-gnu')).toMatch(/libc\.so\.6/);
    expect(await ls('/etc')).toMatch(/hostname/);
  });

  it('names a program it cannot find', async () => {
    await expect(buildRootImage({ programs: ['no-such-program-xenkit'] }, join(work, 'img', 'x.img'))).rejects.toThrow(/program no-such-program-xenkit not found/);
  });
});
