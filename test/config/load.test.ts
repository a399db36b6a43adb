// Loading good cells: the seed examples, defaults, kernels given as files, positions, scale.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { loadCell, parseCell } from '../../src/config/load.js';
import { generateCell, ipOf, macOf } from '../../bench/gen.js';

const catalog = loadCatalog();

describe('seed cells', () => {
  test('tproa.yaml: Example 1 as written, with the seed kernel image path', () => {
    const spec = loadCell('cells/tproa.yaml', catalog);
    expect(spec.file).toBe(resolve('cells/tproa.yaml'));
    expect(spec.cell).toBe('tproa.net');
    expect(spec.realm).toBe('TPROA.NET');
    expect(spec.hosts.kraken).toEqual({
      name: 'kraken', os: 'netbsd-4.0_beta', xen: '3.0.2', memory: 1024, dom0_memory: 256, cpus: 2,
      cpu_features: ['pae'], bridges: ['bridge3', 'bridge4'], devices: ['/dev/wd2d', '/dev/wd3e', '/dev/wd3f'], shared_storage: [],
    });
    const g = spec.guests['service-m1'];
    expect(g).toMatchObject({
      host: 'kraken', os: 'netbsd-3.1', kernel: { catalog: 'netbsd-3.1-xen3-domu-nodiag' }, type: 'pv',
      memory: 256, maxmem: 256, vcpus: 1, root: '/dev/wd0d', extra_modules: [],
      vifs: [{ mac: '00:16:3e:10:11:c4', bridge: 'bridge3', ip: '10.3.0.11' }],
      kernel_image: '/local/xen/service-m1.tproa.net/netbsd-XEN3_DOMU-nodiag.gz',
    });
    expect(g.disks.map((d) => [d.kind, d.target, d.vdev, d.mode])).toEqual([
      ['file', '/local/xen/service-m1.tproa.net/wd0.img', '0x01', 'w'],
      ['phy', '/dev/wd2d', '0x02', 'w'],
      ['phy', '/dev/wd3e', '0x03', 'w'],
      ['phy', '/dev/wd3f', '0x04', 'w'],
    ]);
    expect(spec.kerberos).toEqual({ software: 'heimdal-0.72', kdcs: ['service-m1'], principals: ['kula', 'kula/admin'], keytabs: [], trusts: [] });
    expect(spec.realms).toEqual({});
    expect(spec.afs).toEqual({
      software: 'openafs-1.4.2', dbservers: ['service-m1'], fileservers: { 'service-m1': ['/vicepa'] },
      clients: { 'service-m1': 'arla-0.43' },
      volumes: [
        { name: 'root.afs', server: 'service-m1', partition: '/vicepa', replicas: [], backup: false },
        { name: 'root.cell', server: 'service-m1', partition: '/vicepa', replicas: [], backup: false },
      ],
      users: {}, groups: [], mounts: [], acls: [],
    });
  });

  test('awesmoe.yaml and awesmoe-fixed.yaml differ only in the Xen release and kernel', () => {
    const a = loadCell('cells/awesmoe.yaml', catalog);
    const b = loadCell('cells/awesmoe-fixed.yaml', catalog);
    expect([a.hosts.kraken.xen, b.hosts.kraken.xen]).toEqual(['3.0.2', '3.0.3']);
    expect([a.guests.shea.kernel, b.guests.shea.kernel]).toEqual([{ catalog: 'linux-2.6.16-xen-3.0.2' }, { catalog: 'linux-2.6.16.29-xen-3.0.3' }]);
    expect(a.guests.shea.kernel_image).toBe('/local/xen/shea.awesmoe.org/vmlinuz-2.6.16-xen.tproa');
    expect(a.guests.shea.root).toBe('/dev/hda1 ro');
    expect(a.guests.shea.disks[0]).toEqual({
      raw: 'file:/local/xen/shea.awesmoe.org/debian.4-0.img,0x301,w', kind: 'file',
      target: '/local/xen/shea.awesmoe.org/debian.4-0.img', vdev: '0x301', mode: 'w',
    });
    expect(a.afs?.clients).toEqual({ shea: 'openafs-1.4.2' });
  });
});

describe('defaults', () => {
  const spec = loadCell('test/fixtures/good-defaults.yaml', catalog);

  test('realm, dom0_memory (catalog, else 256), cpus and lists', () => {
    expect(spec.realm).toBe('TPROA.NET');
    expect(spec.hosts.kraken).toMatchObject({ dom0_memory: 256, cpus: 1, cpu_features: [], bridges: [], devices: [], shared_storage: [] });
    expect(spec.hosts.shark.dom0_memory).toBe(256); // netbsd-3.1 has no catalog default
    expect(spec.kerberos).toBeUndefined();
    expect(spec.afs).toBeUndefined();
  });

  test('Xen versions YAML reads as numbers keep their text: 3.1 -> "3.1", 2.0 -> "2.0"', () => {
    expect(spec.hosts.kraken.xen).toBe('3.1');
    expect(spec.hosts.shark.xen).toBe('2.0');
  });

  test('guest defaults, and keys merged with <<', () => {
    expect(spec.guests.base).toEqual({
      name: 'base', host: 'kraken', os: 'netbsd-3.1', kernel: { catalog: 'netbsd-3.1-xen3-domu-nodiag' }, type: 'pv',
      memory: 64, maxmem: 64, vcpus: 1, vifs: [], disks: [], extra_modules: [],
      kernel_image: '/local/xen/base.tproa.net/netbsd-XEN3_DOMU-nodiag.gz',
    });
    expect(spec.guests.m2).toMatchObject({ host: 'kraken', os: 'netbsd-3.1', memory: 128, maxmem: 128 });
  });

  test('a kernel given as files: paths resolved from the cell file, image named after the release', () => {
    const dir = resolve('test/fixtures');
    expect(spec.guests.m2.kernel).toEqual({ symvers: `${dir}/kernel/Module.symvers`, release: '2.6.16.29-xen', xen: '3.0.3' });
    expect(spec.guests.m2.kernel_image).toBe('/local/xen/m2.tproa.net/vmlinuz-2.6.16.29-xen');
    expect(spec.guests.m2.extra_modules).toEqual(['arla-0.43-nnpfs', `${dir}/kernel/nnpfs.ko`]);
  });

  test('explicit values win over defaults', () => {
    const text = [
      'cell: example.org', 'realm: EXAMPLE.COM',
      'hosts: { h: { os: netbsd-2.0, xen: "2.0", memory: 512, cpus: 4 } }',
      'guests:',
      '  g: { host: h, os: netbsd-2.0, kernel: netbsd-2.0-xen2-domu, memory: 64, maxmem: 96, vcpus: 2, type: hvm, kernel_image: /boot/k }',
    ].join('\n');
    const s = parseCell(text, 'x.yaml', catalog);
    expect(s.realm).toBe('EXAMPLE.COM');
    expect(s.hosts.h).toMatchObject({ dom0_memory: 128, cpus: 4 }); // netbsd-2.0's catalog default
    expect(s.guests.g).toMatchObject({ maxmem: 96, vcpus: 2, type: 'hvm', kernel_image: '/boot/k' });
  });
});

describe('text encodings', () => {
  test('CRLF line ends and a byte order mark give the same cell and positions', () => {
    const lf = readFileSync('cells/tproa.yaml', 'utf8');
    const a = parseCell(lf, 't.yaml', catalog);
    const b = parseCell('\ufeff' + lf.replace(/\n/g, '\r\n'), 't.yaml', catalog);
    expect(b.guests).toEqual(a.guests);
    expect(b.posOf(['afs', 'volumes', 1, 'partition'])).toEqual({ file: 't.yaml', line: 44, col: 57 });
    expect(a.posOf(['afs', 'volumes', 1, 'partition'])).toEqual({ file: 't.yaml', line: 44, col: 57 });
  });
});

describe('posOf', () => {
  const spec = loadCell('cells/tproa.yaml', catalog);
  const f = 'cells/tproa.yaml';

  test('maps paths to the line and column of the value', () => {
    expect(spec.posOf(['guests', 'service-m1', 'memory'])).toEqual({ file: f, line: 22, col: 13 });
    expect(spec.posOf(['guests', 'service-m1', 'vifs', 0, 'bridge'])).toEqual({ file: f, line: 24, col: 45 });
    expect(spec.posOf(['guests', 'service-m1', 'disks', 1])).toEqual({ file: f, line: 27, col: 9 });
    expect(spec.posOf(['afs', 'volumes', 1, 'name'])).toEqual({ file: f, line: 44, col: 15 });
    expect(spec.posOf(['afs', 'fileservers', 'service-m1'])).toEqual({ file: f, line: 40, col: 30 });
    expect(spec.posOf(['hosts', 'kraken', 'devices', '2'])).toEqual({ file: f, line: 15, col: 37 });
  });

  test('a missing key falls back to the nearest ancestor that exists', () => {
    expect(spec.posOf(['guests', 'service-m1', 'maxmem'])).toEqual(spec.posOf(['guests', 'service-m1']));
    expect(spec.posOf(['guests', 'service-m1'])).toEqual({ file: f, line: 19, col: 5 });
    expect(spec.posOf(['guests', 'nobody', 'memory'])).toEqual({ file: f, line: 18, col: 3 });
    expect(spec.posOf(['guests', 'service-m1', 'vifs', 7, 'mac'])).toEqual({ file: f, line: 24, col: 7 });
  });

  test('follows aliases and merge keys to where the value is written', () => {
    const s = loadCell('test/fixtures/good-defaults.yaml', catalog);
    const g = 'test/fixtures/good-defaults.yaml';
    expect(s.posOf(['guests', 'm2', 'host'])).toEqual({ file: g, line: 9, col: 11 }); // from the &base template
    expect(s.posOf(['guests', 'm2', 'memory'])).toEqual({ file: g, line: 15, col: 13 }); // its own key wins
  });
});

describe('scale', () => {
  test('a 10,000-guest cell loads, with positions down to the last guest', () => {
    const text = generateCell(10_000);
    const spec = parseCell(text, 'big.yaml', catalog);
    expect(Object.keys(spec.guests)).toHaveLength(10_000);
    expect(spec.guests.g09999.vifs[0]).toEqual({ mac: macOf(9999), bridge: 'xenbr0', ip: ipOf(9999) });
    // The last guest's memory is four lines below its key.
    const line = text.split('\n').indexOf('  g09999:') + 1;
    expect(spec.posOf(['guests', 'g09999', 'memory'])).toEqual({ file: 'big.yaml', line: line + 4, col: 13 });
  });
});
