// Pure parts of the kit: kernel parameters, QEMU argv, where a guest's files go, kernel discovery.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tcg } from '../../../src/drivers/vm/accel.js';
import { guestBootParams } from '../../../src/drivers/vm/guest-init.js';
import { compareVersions, hostKernelImage } from '../../../src/drivers/vm/kernel.js';
import { guestPaths, kernelCmdline, qemuArgs, qemuOptValue, type GuestSpec } from '../../../src/drivers/vm/qemu-args.js';

const work = mkdtempSync(join(tmpdir(), 'vmkit-config-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('guest kernel parameters', () => {
  it('carry hostname, one cellctl.net per NIC (MAC lower-cased), gateway, root mode', () => {
    expect(guestBootParams({
      hostname: 'shea',
      nics: [{ mac: '52:54:00:AA:00:01', ip: '10.9.0.11', prefix: 24 }, { mac: '52:54:00:aa:00:02' }],
      gateway: '10.9.0.1',
      root: 'tmpfs',
    })).toEqual(['cellctl.hostname=shea', 'cellctl.net=52:54:00:aa:00:01,10.9.0.11/24', 'cellctl.net=52:54:00:aa:00:02', 'cellctl.gw=10.9.0.1', 'cellctl.root=tmpfs']);
  });

  it('refuse what would break the command line or the init script', () => {
    expect(() => guestBootParams({ hostname: 'a b' })).toThrow(/hostname/);
    expect(() => guestBootParams({ hostname: 'h', nics: [{ mac: '52:54:00:aa:00' }] })).toThrow(/MAC/);
    expect(() => guestBootParams({ hostname: 'h', nics: [{ mac: '52:54:00:aa:00:01', ip: '10.0.0.1;reboot' }] })).toThrow(/address/);
    expect(() => guestBootParams({ hostname: 'h', nics: [{ mac: '52:54:00:aa:00:01', ip: '10.0.0.1', prefix: 33.5 }] })).toThrow(/address/);
  });
});

describe('QEMU command line', () => {
  const spec: GuestSpec = {
    name: 'g1', dir: join(work, 'g1'), kernel: '/k/vmlinux', initrd: '/k/initrd,v2.gz', append: 'quiet',
    vifs: [{ mac: '52:54:00:00:00:01', tap: 'tap0', ip: '10.1.0.2', prefix: 24 }],
    disks: [{ file: join(work, 'a,b.img'), readonly: true }, { file: join(work, 'c.img') }],
  };
  const paths = guestPaths(spec.dir);
  const args = qemuArgs(spec, tcg('test'), paths);
  const after = (flag: string) => args.filter((_, i) => args[i - 1] === flag);

  it('boots the kernel with the cellctl parameters, serial to console.log, daemonised', () => {
    expect(after('-kernel')).toEqual(['/k/vmlinux']);
    expect(after('-append')).toEqual([kernelCmdline(spec)]);
    expect(kernelCmdline(spec)).toBe('console=ttyS0 panic=-1 cellctl.hostname=g1 cellctl.net=52:54:00:00:00:01,10.1.0.2/24 quiet');
    expect(after('-accel')).toEqual(['tcg']);
    expect(after('-chardev')).toContain(`file,id=console,path=${paths.consoleLog},append=on`);
    expect(args.slice(-5)).toEqual(['-pidfile', paths.pidfile, '-D', paths.qemuLog, '-daemonize']);
  });

  it('gives each vif a tap netdev and each disk a raw virtio-blk drive, commas doubled', () => {
    expect(after('-netdev')).toEqual(['tap,id=net0,ifname=tap0,script=no,downscript=no']);
    expect(after('-device')).toContain('virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01');
    expect(after('-drive')).toEqual([
      `file=${join(work, 'a,,b.img')},format=raw,if=none,id=disk0,readonly=on`,
      `file=${join(work, 'c.img')},format=raw,if=none,id=disk1`,
    ]);
    expect(qemuOptValue('a,b,,c')).toBe('a,,b,,,,c');
    expect(() => qemuArgs({ ...spec, vifs: [{ mac: '52:54:00:00:00:01', tap: 'tap0,script=/x' }] }, tcg('t'), paths)).toThrow(/tap name/);
  });

  it('keeps sockets in the guest dir unless the path would not fit a sockaddr_un', () => {
    expect(paths.agentSocket).toBe(join(spec.dir, 'agent.sock'));
    expect(paths.socketDir).toBeUndefined();
    const deep = join(work, 'x'.repeat(120));
    const p = guestPaths(deep);
    expect(p.consoleLog.startsWith(deep)).toBe(true);
    expect(p.agentSocket.length).toBeLessThanOrEqual(107);
    expect(p.agentSocket.startsWith(p.socketDir!)).toBe(true);
    expect(guestPaths(deep).agentSocket).toBe(p.agentSocket); // found again from the dir alone
    expect(guestPaths(join(work, 'y'.repeat(120))).agentSocket).not.toBe(p.agentSocket);
  });
});

describe('kernel discovery', () => {
  it('orders releases like sort -V', () => {
    const rels = ['6.1.0-9-amd64', '6.1.0-57-amd64', '5.10.0-30-amd64', '6.10.1-1-amd64', '6.1.0-57-cloud-amd64'];
    expect([...rels].sort(compareVersions)).toEqual(['5.10.0-30-amd64', '6.1.0-9-amd64', '6.1.0-57-amd64', '6.1.0-57-cloud-amd64', '6.10.1-1-amd64']);
  });

  it('prefers the newest kernel whose headers are installed, else the newest image', () => {
    const boot = join(work, 'boot');
    const src = join(work, 'src');
    mkdirSync(boot);
    mkdirSync(src);
    for (const r of ['6.1.0-9-amd64', '6.1.0-57-amd64', '6.5.0-1-amd64']) writeFileSync(join(boot, `vmlinuz-${r}`), '');
    for (const d of ['linux-headers-6.1.0-57-amd64', 'linux-headers-6.1.0-57-common', 'linux-headers-6.1.0-9-amd64']) mkdirSync(join(src, d));
    expect(hostKernelImage(boot, src)).toEqual({ release: '6.1.0-57-amd64', image: join(boot, 'vmlinuz-6.1.0-57-amd64') });
    expect(hostKernelImage(boot, join(work, 'nowhere')).release).toBe('6.5.0-1-amd64');
    expect(() => hostKernelImage(join(work, 'nowhere'), src)).toThrow(/no guest kernel/);
  });
});
