// libvirt export: domain XML from the plan, checked against libvirt's own schema and read
// back with xmllint's XPath (a real XML parser, not string matching).
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { exportCell, renderLibvirt, vdevToTarget } from '../../src/export/index.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { desiredResources } from '../../src/plan/desired.js';
import type { GuestAttrs, HostAttrs, Resource } from '../../src/plan/resources.js';
import { loadCell } from '../../src/config/load.js';

const which = async (cmd: string) => (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
const HAVE_VALIDATE = (await which('virt-xml-validate')) && (await which('xmllint'));
const HAVE_XMLLINT = await which('xmllint');
// Shown in the test title when a tool is missing, so a skip always says why.
const NEEDS_VALIDATE = HAVE_VALIDATE ? '' : ' [skipped: virt-xml-validate or xmllint not installed]';
const NEEDS_XMLLINT = HAVE_XMLLINT ? '' : ' [skipped: xmllint not installed]';

function resources(cell: string): Resource[] {
  const catalog = loadCatalog();
  return desiredResources(loadCell(join(PACKAGE_ROOT, 'cells', cell), catalog), catalog);
}
function attrs<T>(rs: Resource[], address: string): T {
  const r = rs.find((x) => x.address === address);
  if (!r) throw new Error(`no ${address}`);
  return r.attrs as unknown as T;
}

const tmp = mkdtempSync(join(tmpdir(), 'cellctl-export-libvirt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function save(xml: string): string {
  const f = join(tmp, `d${++n}.xml`);
  writeFileSync(f, xml);
  return f;
}
async function xpath(file: string, expr: string): Promise<string> {
  return (await execa('xmllint', ['--xpath', expr, file])).stdout.trim();
}
async function validate(file: string): Promise<void> {
  const r = await execa('virt-xml-validate', [file, 'domain'], { reject: false, all: true });
  expect(r.exitCode, r.all).toBe(0);
}

const tproa = resources('tproa.yaml');
const m1 = attrs<GuestAttrs>(tproa, 'guest.service-m1');
const kraken = attrs<HostAttrs>(tproa, 'host.kraken');
const awesmoe = resources('awesmoe.yaml');
const shea = attrs<GuestAttrs>(awesmoe, 'guest.shea');

describe('vdev -> libvirt target', () => {
  it.each([
    ['0x01', 'xvda', 0], ['0x02', 'xvdb', 0], ['0x04', 'xvdd', 0], // NetBSD handles (seed Example 1)
    ['0x301', 'hda1', 1], ['769', 'hda1', 1], ['0x340', 'hdb', 0], ['0x1601', 'hdc1', 1], // IDE majors 3, 22
    ['0x811', 'sdb1', 1], ['0xca00', 'xvda', 0], ['0xca12', 'xvdb2', 2], [String((1 << 28) | (26 << 8)), 'xvdaa', 0],
    ['hda1', 'hda1', 1], ['xvdb', 'xvdb', 0], ['sdc3', 'sdc3', 3], ['ioemu:hdc:cdrom', 'hdc', 0], ['xvdaa', 'xvdaa', 0],
  ])('%s -> %s (partition %d)', (vdev, dev, partition) => {
    const t = vdevToTarget(vdev);
    expect(t.dev).toBe(dev);
    expect(t.partition).toBe(partition);
  });
  it('marks cdroms and refuses unknown majors', () => {
    expect(vdevToTarget('hdc:cdrom').cdrom).toBe(true);
    expect(() => vdevToTarget('0x1f00')).toThrow(/major 31/);
  });
});

describe('renderLibvirt', () => {
  it.skipIf(!HAVE_VALIDATE)('service-m1 passes virt-xml-validate and carries the seed config' + NEEDS_VALIDATE, async () => {
    const f = save(renderLibvirt('service-m1', m1, kraken, { cell: 'tproa.net' }));
    await validate(f);
    expect(await xpath(f, 'string(/domain/@type)')).toBe('xen');
    expect(await xpath(f, 'string(/domain/name)')).toBe('service-m1');
    expect(await xpath(f, 'string(/domain/os/type)')).toBe('linux');
    expect(await xpath(f, 'string(/domain/os/kernel)')).toBe('/local/xen/service-m1.tproa.net/netbsd-XEN3_DOMU-nodiag.gz');
    expect(await xpath(f, 'string(/domain/os/cmdline)')).toBe('root=/dev/wd0d');
    expect(await xpath(f, 'string(/domain/memory)')).toBe(String(256 * 1024));
    expect(await xpath(f, 'string(/domain/memory/@unit)')).toBe('KiB');
    expect(await xpath(f, 'string(/domain/currentMemory)')).toBe(String(256 * 1024));
    expect(await xpath(f, "string(/domain/devices/interface[@type='bridge']/mac/@address)")).toBe('00:16:3e:10:11:c4');
    expect(await xpath(f, "string(/domain/devices/interface[@type='bridge']/source/@bridge)")).toBe('bridge3');
    expect(await xpath(f, "string(/domain/devices/disk[1]/@type)")).toBe('file');
    expect(await xpath(f, "string(/domain/devices/disk[1]/source/@file)")).toBe('/local/xen/service-m1.tproa.net/wd0.img');
    expect(await xpath(f, "string(/domain/devices/disk[1]/target/@dev)")).toBe('xvda');
    for (const [i, dev, target] of [[2, '/dev/wd2d', 'xvdb'], [3, '/dev/wd3e', 'xvdc'], [4, '/dev/wd3f', 'xvdd']] as const) {
      expect(await xpath(f, `string(/domain/devices/disk[${i}]/@type)`)).toBe('block');
      expect(await xpath(f, `string(/domain/devices/disk[${i}]/source/@dev)`)).toBe(dev);
      expect(await xpath(f, `string(/domain/devices/disk[${i}]/target/@dev)`)).toBe(target);
    }
    expect(await xpath(f, 'count(/domain/devices/disk/readonly)')).toBe('0');
  });

  it.skipIf(!HAVE_VALIDATE)('shea: 0x301 becomes target hda1 (the partition Xen exports), root line as written' + NEEDS_VALIDATE, async () => {
    const host = attrs<HostAttrs>(awesmoe, 'host.kraken');
    const f = save(renderLibvirt('shea', shea, host));
    await validate(f);
    expect(await xpath(f, 'string(/domain/os/kernel)')).toBe('/local/xen/shea.awesmoe.org/vmlinuz-2.6.16-xen.tproa');
    expect(await xpath(f, 'string(/domain/os/cmdline)')).toBe('root=/dev/hda1 ro');
    expect(await xpath(f, 'string(/domain/memory)')).toBe(String(128 * 1024));
    expect(await xpath(f, 'string(/domain/devices/disk/target/@dev)')).toBe('hda1');
    expect(await xpath(f, 'string(/domain/devices/disk/target/@bus)')).toBe('xen');
  });

  it.skipIf(!HAVE_VALIDATE)('read-only disks, maxmem, vcpus and hvm guests' + NEEDS_VALIDATE, async () => {
    const g: GuestAttrs = {
      ...m1, type: 'hvm', memory: 256, maxmem: 512, vcpus: 2,
      disks: [
        { raw: 'phy:/dev/wd2d,hda,w', kind: 'phy', target: '/dev/wd2d', vdev: 'hda', mode: 'w' },
        { raw: 'file:/iso/netbsd.iso,hdc:cdrom,r', kind: 'file', target: '/iso/netbsd.iso', vdev: 'hdc:cdrom', mode: 'r' },
        { raw: 'tap:qcow2:/img/x.qcow2,xvdb,w', kind: 'tap', target: '/img/x.qcow2', vdev: 'xvdb', mode: 'w' },
      ],
    };
    const f = save(renderLibvirt('h', g, { ...kraken, cpu_features: ['pae', 'vmx'] }));
    await validate(f);
    expect(await xpath(f, 'string(/domain/os/type)')).toBe('hvm');
    expect(await xpath(f, 'count(/domain/os/kernel)')).toBe('0');
    expect(await xpath(f, 'count(/domain/features/pae)')).toBe('1');
    expect(await xpath(f, 'string(/domain/memory)')).toBe(String(512 * 1024));
    expect(await xpath(f, 'string(/domain/currentMemory)')).toBe(String(256 * 1024));
    expect(await xpath(f, 'string(/domain/vcpu)')).toBe('2');
    expect(await xpath(f, "string(/domain/devices/disk[1]/target/@bus)")).toBe('ide');
    expect(await xpath(f, "string(/domain/devices/disk[2]/@device)")).toBe('cdrom');
    expect(await xpath(f, 'count(/domain/devices/disk[2]/readonly)')).toBe('1');
    expect(await xpath(f, 'count(/domain/devices/disk[1]/readonly)')).toBe('0');
    expect(await xpath(f, "string(/domain/devices/disk[3]/driver/@type)")).toBe('qcow2');
    expect(await xpath(f, "string(/domain/devices/disk[3]/target/@bus)")).toBe('xen');
  });

  it.skipIf(!HAVE_XMLLINT)('escapes XML specials everywhere' + NEEDS_XMLLINT, async () => {
    const odd = `/local/xen/a&b<c>'d"/wd0.img`;
    const g: GuestAttrs = {
      ...m1, kernel_image: odd, root: `/dev/wd0d & "x" <y>`,
      disks: [{ ...m1.disks[0], raw: `file:${odd},0x01,w`, target: odd }],
      vifs: [{ mac: '00:16:3e:10:11:c4', bridge: "br'<&>" }],
    };
    const f = save(renderLibvirt("n'<&>", g, kraken, { cell: 'a&b' }));
    expect(await xpath(f, 'string(/domain/name)')).toBe("n'<&>");
    expect(await xpath(f, 'string(/domain/os/kernel)')).toBe(odd);
    expect(await xpath(f, 'string(/domain/os/cmdline)')).toBe(`root=/dev/wd0d & "x" <y>`);
    expect(await xpath(f, 'string(/domain/devices/disk/source/@file)')).toBe(odd);
    expect(await xpath(f, 'string(/domain/devices/interface/source/@bridge)')).toBe("br'<&>");
  });

  it('refuses two disks on one libvirt target', () => {
    const g: GuestAttrs = { ...shea, disks: [shea.disks[0], { ...shea.disks[0], raw: 'phy:/dev/sdb,hda,w', vdev: 'hda' }] };
    expect(() => renderLibvirt('shea', g, kraken)).toThrow(/both map to libvirt disk hda/);
  });
});

describe('exportCell libvirt', () => {
  it.skipIf(!HAVE_VALIDATE)('writes <guest>.xml per guest, each valid' + NEEDS_VALIDATE, async () => {
    const out = join(tmp, 'awesmoe-fixed');
    const paths = exportCell(resources('awesmoe-fixed.yaml'), 'libvirt', out);
    expect(paths).toEqual([join(out, 'shea.xml')]);
    for (const p of paths) await validate(p);
    expect(await xpath(paths[0], 'string(/domain/os/kernel)')).toBe('/local/xen/shea.awesmoe.org/vmlinuz-2.6.16.29-xen');
  });

  it('names a missing host instead of guessing', () => {
    const rs = resources('tproa.yaml').filter((r) => r.type !== 'host');
    expect(() => exportCell(rs, 'libvirt', join(tmp, 'nohost'))).toThrow(/host 'kraken' is not among/);
  });
});
