import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { guestKernel, guestModules, moduleRef } from '../../src/kmod/resolve.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { parseCell } from '../../src/config/load.js';

const catalog = loadCatalog();
const cell = (guestExtra = '', clients = '{ m1: arla-0.43 }') =>
  parseCell(`
cell: test.example
hosts:
  kraken: { os: netbsd-4.0_beta, xen: 3.0.2, memory: 1024, cpus: 1, bridges: [bridge3] }
guests:
  m1:
    host: kraken
    os: netbsd-3.1
    kernel: netbsd-3.1-xen3-domu-nodiag
    memory: 256
    vifs: [{ mac: "00:16:3e:00:00:01", bridge: bridge3 }]
    disks:
      - file:/local/xen/m1/wd0.img,0x01,w
${guestExtra}
afs:
  software: openafs-1.4.2
  dbservers: [m1]
  fileservers: { m1: [/vicepa] }
  clients: ${clients}
`, join(PACKAGE_ROOT, 'test', 'resolve.yaml'), catalog);

describe('resolve', () => {
  it('guestKernel returns the catalog entry the guest names', () => {
    expect(guestKernel(cell().guests.m1!, catalog)).toBe(catalog.kernels.get('netbsd-3.1-xen3-domu-nodiag'));
  });

  it('guestModules: the AFS client module for the kernel kind, then extra_modules', () => {
    expect(guestModules(cell(), 'm1', catalog).map((m) => m.id)).toEqual(['arla-0.43-nnpfs']);
    const extra = cell('    extra_modules: [openafs-1.4.2-linux]');
    expect(guestModules(extra, 'm1', catalog).map((m) => m.id)).toEqual(['arla-0.43-nnpfs', 'openafs-1.4.2-linux']);
  });

  it('guestModules: nothing for a guest that is not an AFS client, or whose client has no module for its kernel', () => {
    expect(guestModules(cell('', '{}'), 'm1', catalog)).toEqual([]);
    expect(guestModules(cell('', '{ m1: openafs-1.4.2 }'), 'm1', catalog)).toEqual([]);
    expect(guestModules(cell(), 'nobody', catalog)).toEqual([]);
  });

  it('moduleRef rejects a name that is neither a catalog id nor a .ko path', () => {
    expect(() => moduleRef('nnpfs', catalog)).toThrow(/neither a catalog id nor a path/);
  });
});
