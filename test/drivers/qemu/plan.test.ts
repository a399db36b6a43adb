// --driver qemu before anything runs: what it realizes, the order it realizes it in, and what plan
// says it will stand in for (kernels, memory, modules). No root, no QEMU: catalog data and the plan.
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/load.js';
import { loadCell } from '../../../src/config/load.js';
import { capabilitiesOf } from '../../../src/drivers/capabilities.js';
import { bootChoice, guestMemory } from '../../../src/drivers/qemu/boot.js';
import { cacheKb, cellServDB } from '../../../src/drivers/qemu/client.js';
import { qemuNotes } from '../../../src/drivers/qemu/notes.js';
import { nodeName } from '../../../src/drivers/qemu/partitions.js';
import { desiredResources, splitManaged } from '../../../src/plan/desired.js';
import { CELLS, CLI } from '../../paths.js';

const catalog = loadCatalog();
const caps = capabilitiesOf('qemu');
const plan = (cell: string) => {
  const spec = loadCell(join(CELLS, cell), catalog);
  return { spec, ...splitManaged(desiredResources(spec, catalog), caps.realizes) };
};

describe('qemu driver: plan', () => {
  it('realizes every resource of a v1 cell: the guests, their modules, and the KDCs, AFS servers and clients inside them', () => {
    // all of cell file v2: pts groups, quotas, RO sites, releases, backups (the service layer), mount points and ACLs (a kernel client), keytabs, every realm and its trusts
    for (const t of ['pts-group', 'quota', 'ro-site', 'release', 'backup', 'mount', 'acl', 'keytab', 'cross-realm'] as const) expect(caps.realizes.has(t), t).toBe(true);
    expect(caps.declines).toBeUndefined();
    const { spec, managed, unmanaged } = plan('tproa.yaml');
    expect(unmanaged).toEqual([]);
    expect(managed.map((r) => r.address)).toEqual(desiredResources(spec, catalog).map((r) => r.address));
    expect(managed.map((r) => r.type)).toEqual(expect.arrayContaining(['kdc', 'principal', 'service-key', 'afs-db', 'afs-fs', 'volume', 'pts-user', 'afs-client']));
  });

  it('orders the services as a cell is built: a partition after its fileserver, the client after its volumes', () => {
    const deps = new Map(plan('tproa.yaml').managed.map((r) => [r.address, r.deps]));
    expect(deps.get('partition.service-m1./vicepa')).toEqual(['afs-fs.service-m1']);
    expect(deps.get('afs-fs.service-m1')).toEqual(expect.arrayContaining(['guest.service-m1', 'service-key.afs/tproa.net', 'afs-db.service-m1']));
    expect(deps.get('afs-client.service-m1')).toEqual(expect.arrayContaining(['guest.service-m1', 'module.service-m1.nnpfs', 'volume.root.afs', 'volume.root.cell']));
    for (const d of deps.values()) for (const x of d) expect(deps.has(x), x).toBe(true);
    // fs mkmount and fs setacl run in the kernel client: after it
    const full = new Map(plan('tproa-full.yaml').managed.map((r) => [r.address, r.deps]));
    expect(full.get('mount./afs/tproa.net/home')).toEqual(expect.arrayContaining(['afs-client.service-m1', 'volume.home']));
    expect(full.get('acl./afs/tproa.net/home')).toEqual(expect.arrayContaining(['afs-client.service-m1', 'mount./afs/tproa.net/home']));
  });

  it('stands in for catalog kernels (they are Xen domU builds) with the installed Debian kernel, and says so', () => {
    const { managed } = plan('awesmoe.yaml');
    const shea = managed.find((r) => r.address === 'guest.shea');
    if (shea?.type !== 'guest') throw new Error('no guest.shea');
    const b = bootChoice(shea.attrs, catalog);
    expect(b.image).toBeUndefined();
    expect(b.standIn).toMatch(/^kernel linux-2\.6\.16-xen-3\.0\.2 \(2\.6\.16-xen\) is stood in for by \S+: Debian's linux-image-amd64/);
    expect(b.standIn).toContain(catalog.standIns.guest_kernel.why);
  });

  it('boots a kernel given as files when the cell names its image, and says when it cannot', () => {
    const own = bootChoice({ kernel: '/x/Module.symvers', kernel_image: CLI }, catalog); // any existing file
    expect(own).toEqual({ image: CLI });
    const none = bootChoice({ kernel: '/x/Module.symvers', kernel_image: '/nonexistent/vmlinuz' }, catalog);
    expect(none.standIn).toMatch(/has no image at \/nonexistent\/vmlinuz \(name one with kernel: \{ image: \.\.\. \}\)/);
  });

  it('raises memory below the stand-in minimum (catalog data) and says by how much', () => {
    const min = catalog.standIns.guest_kernel.min_memory;
    expect(guestMemory(min, catalog)).toEqual({ memory: min });
    expect(guestMemory(min + 100, catalog)).toEqual({ memory: min + 100 });
    const low = guestMemory(64, catalog);
    expect(low.memory).toBe(min);
    expect(low.raised).toBe(`asks for 64 MiB; real guests here need at least ${min} MiB (a Linux 6.1 kernel with its root over 9p and the OpenAFS client), so it gets ${min} MiB`);
  });

  it('notes module stand-ins and probes from catalog data', () => {
    const tproa = plan('tproa.yaml');
    expect(qemuNotes(tproa.managed, catalog)).toContain("module.service-m1.nnpfs: arla-0.43-nnpfs is realized by OpenAFS 1.8.9's openafs.ko (Debian openafs-modules-dkms, built for the guest's Linux kernel)");
    const awesmoe = plan('awesmoe.yaml');
    expect(qemuNotes(awesmoe.managed, catalog)).toContain("module.shea.openafs: the catalog refuses openafs-1.4.2-linux; the guest's real kernel judges a probe with its licence and imports (insmod, kernel log recorded)");
    const stock = plan('tproa.yaml');
    const guest = stock.managed.find((r) => r.type === 'guest')!;
    (guest.attrs as { kernel: string }).kernel = 'netbsd-3.1-xen3-domu'; // the stock DEBUG,DIAGNOSTIC kernel nnpfs refuses
    expect(qemuNotes(stock.managed, catalog)).toContain("module.service-m1.nnpfs: the catalog refuses arla-0.43-nnpfs, a netbsd module the guest's Linux kernel cannot load: apply fails there with the catalog's verdict");
    const fixed = plan('awesmoe-fixed.yaml');
    expect(qemuNotes(fixed.managed, catalog).filter((n) => n.startsWith('module.'))).toEqual([
      "module.shea.openafs: openafs-1.4.2-linux is realized by OpenAFS 1.8.9's openafs.ko (Debian openafs-modules-dkms, built for the guest's Linux kernel)",
    ]);
  });

  it('`cellctl plan --driver qemu` prints the notes and only the software stand-ins it realizes', async () => {
    const r = await execa(process.execPath, [CLI, 'plan', join(CELLS, 'tproa.yaml'), '--driver', 'qemu', '--state-dir', '/nonexistent-cellctl-state'], { reject: false });
    expect(r.exitCode).toBe(0);
    const notes = String(r.stdout).split('\n').filter((l) => l.startsWith('Note (--driver qemu): '));
    expect(notes.some((n) => n.includes('guest service-m1: kernel netbsd-3.1-xen3-domu-nodiag (3.1) is stood in for by'))).toBe(true);
    expect(notes.some((n) => n.includes('arla-0.43 is served by OpenAFS 1.8.9 client'))).toBe(true);
    expect(notes.some((n) => n.includes('heimdal-0.72 is served by MIT'))).toBe(true); // the guest's krb5kdc
    expect(String(r.stdout)).not.toMatch(/Not managed by qemu/);
  });

  it('client files: CellServDB in OpenAFS format, a memory cache that fits the guest', () => {
    expect(cellServDB('tproa.net', [{ name: 'service-m1', ip: '10.3.0.11' }])).toBe('>tproa.net #cellctl qemu cell\n10.3.0.11 #service-m1\n');
    expect(cacheKb(128)).toBe(16384); // measured to fit a 128 MiB guest (stand-ins.json)
    expect(cacheKb(64)).toBe(8192);
    expect(cacheKb(4096)).toBe(65536);
  });

  it('names hot-plugged disks after their partitions (QMP node, device id and serial)', () => {
    expect(nodeName('/vicepa')).toBe('vicepa');
    expect(nodeName('/vicepab')).toBe('vicepab');
    expect(() => nodeName('/')).toThrow(/cannot name a disk/);
  });
});
