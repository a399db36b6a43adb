// What the libvirt driver makes of its URIs: real guests on QEMU hosts, domains only elsewhere (what
// plan shows as not managed follows), which libvirtd cellctl may run itself, which hosts are this machine;
// and the few parts of a domain's XML it reads back or rewrites.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capabilitiesOf, planNotes } from '../../../src/drivers/capabilities.js';
import { ownDaemonDir } from '../../../src/drivers/libvirt/hosts.js';
import { MARKER } from '../../../src/drivers/libvirt/libvirtd.js';
import { parseChannelPath, parseDisks, withChannelPath } from '../../../src/drivers/libvirt/parse.js';
import { daemonDirOf, isQemuUri, isThisMachine, libvirtMode, socketOf } from '../../../src/drivers/libvirt/uri.js';
import { loadCatalog } from '../../../src/catalog/load.js';
import { loadCell } from '../../../src/config/load.js';
import { desiredResources } from '../../../src/plan/desired.js';
import { PACKAGE_ROOT } from '../../../src/paths.js';

const work = mkdtempSync(join(tmpdir(), 'cellctl-lvuri-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('libvirt URIs', () => {
  it('realize real guests with their services (what the qemu driver realizes) only when every host is a QEMU hypervisor', () => {
    const realizes = (o: Parameters<typeof capabilitiesOf>[1]) => [...capabilitiesOf('libvirt', o).realizes].sort();
    const qemu = [...capabilitiesOf('qemu').realizes].sort();
    expect(qemu).toEqual(expect.arrayContaining(['afs-db', 'afs-fs', 'kdc', 'partition', 'principal', 'volume']));
    expect(realizes({ connect: 'test:///default' })).toEqual(['guest', 'host']);
    expect(capabilitiesOf('libvirt', { connect: 'test:///default' }).unmanagedReason).toMatch(/defines and starts domains only/);
    expect(realizes({ connect: 'qemu:///system?socket=/x/libvirt-sock' })).toEqual(qemu);
    expect(realizes({ hostUris: ['qemu+ssh://root@a/system', 'qemu:///system'] })).toEqual(qemu);
    expect(realizes({ hostUris: ['qemu:///system', 'xen+ssh://root@b/'] })).toEqual(['guest', 'host']); // mixed: the least both do
    expect(realizes({ hostUris: ['qemu:///system', null] })).toEqual(qemu);
    expect(realizes({})).toEqual(['guest', 'host']); // no URI yet: apply asks for one
    expect(realizes({ connect: 'test:///default', hostUris: ['qemu:///system'] })).toEqual(['guest', 'host']); // --connect wins
    expect(libvirtMode(['qemu+unix:///system?socket=/s'])).toBe('guests');
    expect(isQemuUri('qemu+tls://h/system')).toBe(true);
    expect(isQemuUri('xen:///')).toBe(false);
  });

  it('say in plan what real guests stand in for, on QEMU hosts only', () => {
    const catalog = loadCatalog();
    const resources = desiredResources(loadCell(join(PACKAGE_ROOT, 'cells', 'tproa.yaml'), catalog), catalog);
    expect(planNotes('libvirt', resources, catalog, { connect: 'qemu:///system' }).join('\n')).toMatch(/guest service-m1: kernel netbsd-3\.1-xen3-domu-nodiag .* is stood in for by/);
    expect(planNotes('libvirt', resources, catalog, { connect: 'test:///default' })).toEqual([]);
  });

  it('name the libvirtd socket of a local URI, and whether it is this machine', () => {
    expect(socketOf('qemu:///system?socket=/run/x/libvirt-sock')).toBe('/run/x/libvirt-sock');
    expect(socketOf('qemu+unix:///system?socket=/run/x/libvirt-sock')).toBe('/run/x/libvirt-sock');
    expect(socketOf('qemu+ssh://root@h/system?socket=/run/x/libvirt-sock')).toBeUndefined(); // the far side's socket
    expect(socketOf('qemu+ssh://root@127.0.0.1:2222/system?socket=/run/x/libvirt-sock&keyfile=/k')).toBe('/run/x/libvirt-sock'); // loopback: here
    expect(daemonDirOf('qemu+ssh://root@localhost/system?socket=/run/y/libvirt-sock')).toBe('/run/y');
    expect(daemonDirOf('qemu:///system?socket=/run/x/libvirt-sock')).toBe('/run/x');
    expect(daemonDirOf('qemu:///system?socket=/run/x/other-sock')).toBeUndefined();
    expect(daemonDirOf('qemu:///system')).toBeUndefined();
    for (const u of ['qemu:///system', 'qemu+ssh://root@127.0.0.1:2222/system', 'qemu+ssh://localhost/system', 'qemu+ssh://[::1]/system']) expect(isThisMachine(u), u).toBe(true);
    for (const u of ['qemu+ssh://root@kraken/system', 'qemu+tcp://10.0.0.1/system', 'not a uri']) expect(isThisMachine(u), u).toBe(false);
  });

  it('let cellctl run a libvirtd only in a directory that is absent, empty or its own', () => {
    const uri = (d: string) => `qemu:///system?socket=${join(work, d, 'libvirt-sock')}`;
    expect(ownDaemonDir(uri('absent'))).toBe(join(work, 'absent'));
    mkdirSync(join(work, 'empty'));
    expect(ownDaemonDir(uri('empty'))).toBe(join(work, 'empty'));
    mkdirSync(join(work, 'ours'));
    writeFileSync(join(work, 'ours', MARKER), '{}');
    writeFileSync(join(work, 'ours', 'libvirtd.conf'), '');
    expect(ownDaemonDir(uri('ours'))).toBe(join(work, 'ours'));
    mkdirSync(join(work, 'theirs'));
    writeFileSync(join(work, 'theirs', 'libvirtd.conf'), '');
    expect(ownDaemonDir(uri('theirs'))).toBeUndefined(); // someone's own libvirtd: used, never started or stopped
    expect(ownDaemonDir('qemu:///system')).toBeUndefined();
  });
});

describe('domain XML read back', () => {
  const xml = `<domain type='qemu' id='3'>
  <devices>
    <disk type='file' device='disk'>
      <source file='/a/b.img'/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/a/vicepa.ext4'/>
      <target dev='vdb' bus='virtio'/>
      <serial>vicepa</serial>
      <alias name='ua-vicepa'/>
    </disk>
    <channel type='unix'>
      <source mode='bind' path='/g/agent-h1.sock'/>
      <target type='virtio' name='org.cellctl.agent' state='connected'/>
    </channel>
    <channel type='unix'>
      <source mode='bind' path='/g/other.sock'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
  </devices>
</domain>`;

  it('finds the agent channel\'s socket and the disks', () => {
    expect(parseChannelPath(xml, 'org.cellctl.agent')).toBe('/g/agent-h1.sock');
    expect(parseChannelPath(xml, 'nope')).toBeUndefined();
    expect(parseDisks(xml)).toEqual([{ dev: 'vda', alias: 'virtio-disk0' }, { dev: 'vdb', alias: 'ua-vicepa' }]);
  });

  it('moves one channel\'s socket for a migration\'s destination, escaping it, touching nothing else', () => {
    const moved = withChannelPath(xml, 'org.cellctl.agent', "/g/agent-h2's.sock");
    expect(parseChannelPath(moved, 'org.cellctl.agent')).toBe("/g/agent-h2's.sock");
    expect(moved).toContain("path='/g/agent-h2&apos;s.sock'");
    expect(parseChannelPath(moved, 'org.qemu.guest_agent.0')).toBe('/g/other.sock');
    expect(moved.replace("/g/agent-h2&apos;s.sock", '/g/agent-h1.sock')).toBe(xml);
    expect(() => withChannelPath(xml, 'nope', '/x')).toThrow(/no channel nope/);
  });
});
