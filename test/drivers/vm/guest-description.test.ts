// One guest description, two renderings: QEMU's argv (unchanged from before the description existed)
// and a libvirt domain that libvirt's own schema accepts (virt-xml-validate).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { tcg, type AccelChoice } from '../../../src/drivers/vm/accel.js';
import { describeGuest, type GuestSpec } from '../../../src/drivers/vm/guest-description.js';
import { domainXml, hotplugDiskXml, virtioDev } from '../../../src/drivers/vm/domain-xml.js';
import { guestPaths, qemuArgs } from '../../../src/drivers/vm/qemu-args.js';

const work = mkdtempSync(join(tmpdir(), 'vmkit-describe-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const VALIDATOR = (await execa('virt-xml-validate', ['--version'], { reject: false })).exitCode === 0;

const spec: GuestSpec = {
  name: 'g1', dir: '/w/g1', memoryMiB: 384, cpus: 2, kernel: '/k/vmlinux', initrd: '/k/initrd,v2.gz', append: 'quiet', gateway: '10.1.0.1', root: 'tmpfs',
  vifs: [{ mac: '52:54:00:AA:00:01', tap: 'tap0', ip: '10.1.0.2', prefix: 24 }, { mac: '52:54:00:aa:00:02', tap: 'tap1' }],
  disks: [{ file: '/w/a,b.img', readonly: true }, { file: 'rel/c.img' }],
};
const paths = guestPaths(spec.dir);
const at = { console: paths.consoleLog, agentSocket: paths.agentSocket };
const CMDLINE = 'console=ttyS0 panic=-1 cellctl.hostname=g1 cellctl.net=52:54:00:aa:00:01,10.1.0.2/24 cellctl.net=52:54:00:aa:00:02 cellctl.gw=10.1.0.1 cellctl.root=tmpfs quiet';

async function validate(xml: string): Promise<{ ok: boolean; out: string }> {
  const f = join(work, `d${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(f, xml);
  const r = await execa('virt-xml-validate', [f, 'domain'], { reject: false, all: true });
  return { ok: r.exitCode === 0, out: String(r.all) };
}

describe('QEMU rendering', () => {
  it('is the argv the qemu driver always gave QEMU', () => {
    // captured from qemu-args.ts before the description was factored out of it
    expect(qemuArgs(spec, tcg('t'), paths)).toEqual([
      '-name', 'g1', '-accel', 'tcg', '-cpu', 'max', '-m', '384', '-smp', '2', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-kernel', '/k/vmlinux', '-initrd', '/k/initrd,v2.gz', '-append', CMDLINE,
      '-chardev', 'file,id=console,path=/w/g1/console.log,append=on', '-serial', 'chardev:console',
      '-virtfs', 'local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap',
      '-chardev', 'socket,id=agent,path=/w/g1/agent.sock,server=on,wait=off', '-device', 'virtio-serial-pci', '-device', 'virtserialport,chardev=agent,name=org.cellctl.agent',
      '-qmp', 'unix:/w/g1/qmp.sock,server=on,wait=off',
      '-netdev', 'tap,id=net0,ifname=tap0,script=no,downscript=no', '-device', 'virtio-net-pci,netdev=net0,mac=52:54:00:aa:00:01',
      '-netdev', 'tap,id=net1,ifname=tap1,script=no,downscript=no', '-device', 'virtio-net-pci,netdev=net1,mac=52:54:00:aa:00:02',
      '-drive', 'file=/w/a,,b.img,format=raw,if=none,id=disk0,readonly=on', '-device', 'virtio-blk-pci,drive=disk0',
      '-drive', `file=${resolve('rel/c.img')},format=raw,if=none,id=disk1`, '-device', 'virtio-blk-pci,drive=disk1',
      '-pidfile', '/w/g1/qemu.pid', '-D', '/w/g1/qemu.log', '-daemonize',
    ]);
  });

  it('shares no host root with a diskless guest (nothing over 9p), and says so on its command line', () => {
    const args = qemuArgs({ ...spec, root: 'diskless' }, tcg('t'), paths);
    expect(args).not.toContain('-virtfs');
    expect(args[args.indexOf('-append') + 1]).toContain('cellctl.root=diskless');
  });

  it('boots from a root image instead of the host root: a read-only disk after the cell\'s, named on the command line', () => {
    const args = qemuArgs({ ...spec, rootImage: '/cache/root.img' }, tcg('t'), paths);
    expect(args).not.toContain('-virtfs');
    expect(args[args.indexOf('-append') + 1]).toContain('cellctl.rootdisk=vdc'); // after vda, vdb
    expect(args).toContain('file=/cache/root.img,format=raw,if=none,id=disk2,readonly=on');
  });

  it('renders the kit\'s hooks: -cpu, the console device, more 9p shares, a multiboot hypervisor', () => {
    const args = qemuArgs({ ...spec, cpu: 'max,-smap', console: 'hvc0', shares: [{ path: '/srv/x', tag: 'x', readonly: true }], hypervisor: { image: '/k/xen.gz', append: 'dom0_mem=256M' } }, tcg('t'), paths);
    expect(args.slice(args.indexOf('-cpu'), args.indexOf('-cpu') + 2)).toEqual(['-cpu', 'max,-smap']);
    expect(args.slice(args.indexOf('-kernel'), args.indexOf('-kernel') + 2)).toEqual(['-kernel', '/k/xen.gz']);
    expect(args[args.indexOf('-initrd') + 1]).toMatch(/^\/k\/vmlinux console=hvc0 panic=-1 .*,\/k\/initrd,,v2\.gz$/);
    expect(args).toContain('local,path=/srv/x,mount_tag=x,security_model=none,readonly=on,multidevs=remap');
    expect(() => qemuArgs({ ...spec, shares: [{ path: '/x', tag: 'root' }] }, tcg('t'), paths)).toThrow(/bad 9p share tag/);
  });
});

describe('libvirt rendering', () => {
  const bridged = describeGuest({ ...spec, vifs: spec.vifs!.map((v) => ({ ...v, bridge: 'br0' })) }, at);
  const xml = domainXml(bridged, tcg('t'), { name: 'cx-g1', uuid: '6a7c1d2e-0000-4000-8000-00000000000a', description: 'cellctl guest g1', meta: { ns: 'https://cellctl.dev/xmlns/libvirt/1', attrs: { cell: 'c.test', host: 'h1', guest: 'g1' } } });

  it('boots the same kernel, initramfs and command line under TCG, with ACPI, the host root, console and agent port', () => {
    expect(xml).toContain("<domain type='qemu'>");
    expect(xml).toContain('<name>cx-g1</name>');
    expect(xml).toContain('<kernel>/k/vmlinux</kernel>');
    expect(xml).toContain('<initrd>/k/initrd,v2.gz</initrd>');
    expect(xml).toContain(`<cmdline>${CMDLINE}</cmdline>`);
    expect(xml).toContain("<memory unit='MiB'>384</memory>");
    expect(xml).toContain('<vcpu>2</vcpu>');
    expect(xml).toMatch(/<features>\s*<acpi\/>\s*<\/features>/);
    expect(xml).toContain("<cpu mode='maximum' migratable='on'/>");
    expect(xml).toMatch(/<filesystem type='mount' accessmode='passthrough'[^>]*>\s*<source dir='\/'\/>\s*<target dir='root'\/>\s*<readonly\/>/);
    expect(xml).toMatch(/<serial type='file'>\s*<source path='\/w\/g1\/console.log' append='on'\/>/);
    expect(xml).toMatch(/<channel type='unix'>\s*<source mode='bind' path='\/w\/g1\/agent.sock'\/>\s*<target type='virtio' name='org.cellctl.agent'\/>/);
    expect(xml).toMatch(/<interface type='bridge'>\s*<mac address='52:54:00:aa:00:01'\/>\s*<source bridge='br0'\/>\s*<target dev='tap0'\/>/);
    expect(xml).toMatch(/<disk type='file' device='disk'>\s*<driver name='qemu' type='raw'\/>\s*<source file='\/w\/a,b.img'\/>\s*<target dev='vda' bus='virtio'\/>\s*<readonly\/>/);
    expect(xml).toContain(`<source file='${resolve('rel/c.img')}'/>`);
    expect(xml).toContain("<cellctl:guest xmlns:cellctl='https://cellctl.dev/xmlns/libvirt/1' cell='c.test' host='h1' guest='g1'/>");
  });

  it('opens existing taps without a bridge (type=ethernet), uses KVM and named CPU models as the kit chose, and escapes every value', () => {
    const kvm: AccelChoice = { accel: 'kvm', cpu: 'qemu64', reason: 'probe ok' };
    const odd = domainXml(describeGuest({ ...spec, name: 'g2' }, { console: "/w/it's & <x>.log", agentSocket: '/w/a.sock' }), kvm);
    expect(odd).toContain("<domain type='kvm'>");
    expect(odd).toMatch(/<cpu mode='custom' match='exact' check='none'>\s*<model fallback='allow'>qemu64<\/model>/);
    expect(odd).toMatch(/<interface type='ethernet'>\s*<mac address='52:54:00:aa:00:01'\/>\s*<target dev='tap0' managed='no'\/>/);
    expect(odd).toContain("<source path='/w/it&apos;s &amp; &lt;x&gt;.log' append='on'/>");
    expect(() => domainXml(bridged, tcg('t'), { meta: { ns: 'x', attrs: { "a='b": 'c' } } })).toThrow(/metadata attribute/);
  });

  it('shares no host root with a diskless guest', () => {
    expect(domainXml(describeGuest({ ...spec, root: 'diskless' }, at), tcg('t'))).not.toContain('<filesystem');
  });

  it('gives a root image as a read-only virtio disk after the cell\'s, more 9p shares as filesystems; refuses a multiboot hypervisor', () => {
    const x = domainXml(describeGuest({ ...spec, rootImage: '/cache/root.img', shares: [{ path: '/srv/x', tag: 'x' }] }, at), tcg('t'));
    expect(x).toMatch(/<source file='\/cache\/root\.img'\/>\s*<target dev='vdc' bus='virtio'\/>\s*<readonly\/>/);
    expect(x).toContain('cellctl.rootdisk=vdc');
    expect(x).toMatch(/<filesystem type='mount' accessmode='passthrough' multidevs='remap'>\s*<source dir='\/srv\/x'\/>\s*<target dir='x'\/>\s*<\/filesystem>/);
    expect(x).not.toContain("<target dir='root'/>");
    expect(() => domainXml(describeGuest({ ...spec, hypervisor: { image: '/k/xen.gz', append: '' } }, at), tcg('t'))).toThrow(/multiboot/);
  });

  it('names virtio disks as the guest kernel does', () => {
    expect([0, 1, 25, 26, 27, 701].map(virtioDev)).toEqual(['vda', 'vdb', 'vdz', 'vdaa', 'vdab', 'vdzz']);
  });

  describe.skipIf(!VALIDATOR)(`against libvirt's schema${VALIDATOR ? '' : ' — SKIPPED: virt-xml-validate (libvirt-clients) not installed'}`, () => {
    it('validates: TCG, bridges, disks, metadata', async () => {
      const r = await validate(xml);
      expect(r.ok, r.out).toBe(true);
    });

    it('validates: KVM with a CPU model, existing taps, a diskless guest, a root image and a share', async () => {
      for (const x of [
        domainXml(describeGuest(spec, at), { accel: 'kvm', cpu: 'qemu64', reason: 'r' }),
        domainXml(describeGuest({ ...spec, root: 'diskless', vifs: [], disks: [] }, at), { accel: 'kvm', cpu: 'host', reason: 'r' }),
        domainXml(describeGuest({ ...spec, rootImage: '/cache/root.img', shares: [{ path: '/srv/x', tag: 'x', readonly: true }] }, at), tcg('t')),
      ]) {
        const r = await validate(x);
        expect(r.ok, r.out).toBe(true);
      }
    });

    it('validates a hot-plugged disk inside a domain (serial, user alias)', async () => {
      const disk = hotplugDiskXml({ file: '/w/g1/vicep/vicepa.ext4', dev: 'vdc', serial: 'vicepa' });
      expect(disk).toMatch(/<serial>vicepa<\/serial>\s*<alias name='ua-vicepa'\/>/);
      const r = await validate(xml.replace('<memballoon', `${disk}\n    <memballoon`));
      expect(r.ok, r.out).toBe(true);
      expect((await validate(xml.replace("<vcpu>2</vcpu>", '<vcpu>two</vcpu>'))).ok).toBe(false); // the validator can fail
    });
  });
});
