// The generated cells the benchmarks and crash tests rely on: valid and free of compat findings at every size.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { generateCell, ipOf, macOf } from '../../bench/gen.js';
import { loadCatalog } from '../../src/catalog/load.js';
import { runCompat } from '../../src/compat/index.js';
import { desiredResources } from '../../src/plan/desired.js';
import { parseCell } from '../../src/config/load.js';

const catalog = loadCatalog();

describe('bench/gen.ts generateCell', () => {
  for (const n of [1, 10, 100, 1000, 10_000]) {
    it(`${n} guests: parses, and compat finds nothing (not even a warning)`, () => {
      const spec = parseCell(generateCell(n), `/gen/${n}.yaml`, catalog);
      expect(Object.keys(spec.guests)).toHaveLength(n);
      expect(runCompat(spec, catalog)).toEqual([]);
      const types = new Set(desiredResources(spec, catalog).map((r) => r.type));
      // Every kind of resource the planner knows shows up, so benchmarks exercise all of them.
      for (const t of ['host', 'guest', 'module', 'kdc', 'principal', 'service-key', 'afs-db', 'afs-fs', 'partition', 'volume', 'pts-user', 'afs-client']) {
        expect(types.has(t as never), t).toBe(true);
      }
    }, 30_000);
  }

  it('hands out unique MACs and IPs, and roles in the proportions documented', () => {
    const n = 5000;
    const macs = new Set(Array.from({ length: n }, (_, i) => macOf(i)));
    const ips = new Set(Array.from({ length: n }, (_, i) => ipOf(i)));
    expect(macs.size).toBe(n);
    expect(ips.size).toBe(n);
    for (const ip of ips) expect(ip).toMatch(/^10\.\d+\.\d+\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|250)$/);
    const doc = parseYaml(generateCell(1000)) as { afs: { fileservers: object; clients: object; volumes: unknown[]; dbservers: unknown[] }; kerberos: { kdcs: unknown[] } };
    expect(Object.keys(doc.afs.fileservers)).toHaveLength(50);
    expect(Object.keys(doc.afs.clients)).toHaveLength(100);
    expect(doc.afs.volumes).toHaveLength(202);
    expect(doc.afs.dbservers).toHaveLength(3);
    expect(doc.kerberos.kdcs).toHaveLength(3);
  });
});
