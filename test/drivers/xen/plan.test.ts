// --driver xen before anything runs: it realizes the services in its domUs (the service layer), and
// plan says a domU that runs a KDC or AFS servers is ballooned to the catalog's server memory. No
// root, no Xen: catalog data and the plan.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/load.js';
import { loadCell } from '../../../src/config/load.js';
import { capabilitiesOf } from '../../../src/drivers/capabilities.js';
import { domuMaxmem, domuServerMemory, serverGuests, xenNotes } from '../../../src/drivers/xen/driver/notes.js';
import { desiredResources, splitManaged } from '../../../src/plan/desired.js';
import { CELLS } from '../../paths.js';

const catalog = loadCatalog();
const caps = capabilitiesOf('xen');
const resources = (cell: string) => desiredResources(loadCell(join(CELLS, cell), catalog), catalog);

describe('xen driver: plan', () => {
  it('realizes every resource of the seed\'s cells: domUs, modules, and the KDCs, AFS servers and clients inside them', () => {
    for (const cell of ['awesmoe-fixed.yaml', 'two-hosts.yaml']) expect(splitManaged(resources(cell), caps.realizes).unmanaged, cell).toEqual([]);
    for (const t of ['mount', 'acl', 'keytab', 'cross-realm'] as const) expect(caps.realizes.has(t), t).toBe(false);
    expect(caps.unmanagedReason).toMatch(/mount points, ACLs, keytabs or other realms/);
  });

  it('says which domUs are ballooned for their servers, and only those', () => {
    const rs = resources('two-hosts.yaml');
    expect([...serverGuests(rs)]).toEqual(['shea']);
    const notes = xenNotes(rs, catalog);
    const min = catalog.standIns.xen_host.domu_server_memory;
    expect(notes).toContain(`guest shea: asks for 128 MiB; a domU running a KDC or AFS servers here needs at least ${min} MiB (with afsd's memory cache beside them); it is created with maxmem ${min} and ballooned to it (xl mem-set) when they are placed, so it gets ${min} MiB`);
    expect(notes.some((n) => n.startsWith('guest shea2: asks for'))).toBe(false); // a client only: it keeps 128 MiB
  });

  it('every domU has room to balloon to the servers\' memory; a domU asking for more keeps what it asks', () => {
    const min = catalog.standIns.xen_host.domu_server_memory;
    expect(domuMaxmem({ maxmem: 128 }, 128, catalog)).toBe(min);
    expect(domuMaxmem({ maxmem: 1024 }, 512, catalog)).toBe(1024);
    expect(domuServerMemory(128, catalog)).toMatchObject({ memory: min });
    expect(domuServerMemory(min * 2, catalog)).toEqual({ memory: min * 2 });
  });
});
