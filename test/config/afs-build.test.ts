// software.openafs.prefix: the tree is read at load (programs, version, the directories it was built
// for), refused at the cell file's line when missing or incomplete, carried into the plan, and a
// change of it is a rolling plan the simulator carries out one db server at a time.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { runCompat } from '../../src/compat/index.js';
import { loadCell } from '../../src/config/load.js';
import { desiredResources } from '../../src/plan/desired.js';
import { diff } from '../../src/plan/diff.js';
import { recordOf, type CellState } from '../../src/state/types.js';
import { CELLS } from '../paths.js';
import { rig } from '../drivers/sim/helpers.js';

const catalog = loadCatalog();
const dir = mkdtempSync(join(tmpdir(), 'cellctl-afs-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DEBIAN_DIRS = ['/etc/openafs/server', '/var/lib/openafs/db', '/var/lib/openafs/local', '/var/log/openafs'];
const ALL = ['bosserver', 'ptserver', 'vlserver', 'dafileserver', 'davolserver', 'salvageserver', 'dasalvager', 'bos', 'vos', 'pts', 'udebug', 'rxdebug', 'asetkey', 'afsd.fuse', 'fs', 'tokens', 'aklog'];

/** A make-install-shaped tree whose "programs" hold the strings a real build's do (rx version, compiled-in directories). */
function tree(name: string, o: { without?: string[]; dirs?: string[]; version?: string } = {}): string {
  const root = join(dir, name);
  const where = (p: string) => (['bos', 'vos', 'pts', 'udebug', 'rxdebug', 'fs', 'tokens', 'aklog'].includes(p) ? 'usr/local/bin'
    : ['bosserver', 'asetkey', 'afsd.fuse'].includes(p) ? 'usr/local/sbin' : 'usr/local/libexec/openafs');
  for (const p of ALL.filter((x) => !o.without?.includes(x))) {
    mkdirSync(join(root, where(p)), { recursive: true });
    writeFileSync(join(root, where(p), p), ['\x7fELF', `@(#)OpenAFS ${o.version ?? '1.9.1-test'} 2026-12-01`, ...(o.dirs ?? DEBIAN_DIRS), ''].join('\0'), { mode: 0o755 });
  }
  return root;
}

function cellWith(name: string, prefix: string, base = 'tproa-3db.yaml'): string {
  const text = readFileSync(join(CELLS, base), 'utf8').replace(/^afs:/m, `software:\n  openafs: { prefix: ${prefix} }\n\nafs:`);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

describe('software.openafs.prefix', () => {
  it('reads the programs, the version its bosserver reports and where each program is', () => {
    const t = tree('full');
    const spec = loadCell(cellWith('full', t), catalog);
    const b = spec.software?.openafs;
    expect(b?.version).toBe('OpenAFS 1.9.1-test 2026-12-01');
    expect(b?.programs.ptserver).toBe(join(t, 'usr/local/libexec/openafs/ptserver'));
    expect(b?.programs.bos).toBe(join(t, 'usr/local/bin/bos'));
    expect(b?.otherPaths).toBeUndefined();
    expect(runCompat(spec, catalog).filter((f) => f.code.startsWith('afs-build'))).toEqual([]);
  });

  it('refuses a prefix that does not exist, or is not a directory, at its line', () => {
    for (const [name, prefix, words] of [['gone', join(dir, 'nowhere'), 'does not exist'], ['file', join(tree('f'), 'usr/local/bin/bos'), 'is not a directory']]) {
      const file = cellWith(name, prefix);
      expect(() => loadCell(file, catalog)).toThrow(new RegExp(`${name}\\.yaml:\\d+:\\d+: OpenAFS install tree ${prefix} ${words}`));
    }
  });

  it('is an error finding for a tree without a server program, and for one built for other directories', () => {
    const spec = loadCell(cellWith('partial', tree('partial', { without: ['dafileserver', 'udebug'] })), catalog);
    const f = runCompat(spec, catalog).find((x) => x.code === 'afs-build-incomplete');
    expect(f?.severity).toBe('error');
    expect(f?.message).toMatch(/has no dafileserver, udebug/);
    expect(f?.pos?.line).toBe(spec.posOf(['software', 'openafs', 'prefix'])?.line);
    const usrLocal = loadCell(cellWith('usrlocal', tree('usrlocal', { dirs: ['/usr/local/etc/openafs/server', '/usr/local/var/openafs/db'] })), catalog);
    const p = runCompat(usrLocal, catalog).find((x) => x.code === 'afs-build-paths');
    expect(p?.message).toMatch(/its configuration is in \/usr\/local\/etc\/openafs\/server/);
  });

  it('warns that clients run the packaged client when the tree has no afsd.fuse, and plans them so', () => {
    const spec = loadCell(cellWith('noclient', tree('noclient', { without: ['afsd.fuse'] })), catalog);
    expect(runCompat(spec, catalog).find((x) => x.code === 'afs-build-no-client')?.severity).toBe('warning');
    const rs = desiredResources(spec, catalog);
    expect(rs.find((r) => r.address === 'afs-db.service-m1')?.attrs).toMatchObject({ prefix: join(dir, 'noclient'), version: 'OpenAFS 1.9.1-test 2026-12-01' });
    expect(rs.find((r) => r.address === 'afs-client.client-1')?.attrs).not.toHaveProperty('prefix');
  });
});

describe('new server software: a rolling plan', () => {
  const before = loadCell(join(CELLS, 'tproa-3db.yaml'), catalog);
  const state: CellState = {
    version: 1, cell: before.cell, file: before.file, driver: 'sim', serial: 1,
    resources: Object.fromEntries(desiredResources(before, catalog).map((r) => [r.address, recordOf(r)])),
  };
  const after = loadCell(cellWith('rolling', tree('rolling')), catalog);

  it('updates each db server in place, one after the other in the file\'s order, the fileserver after them', () => {
    const plan = diff(after, desiredResources(after, catalog), state, []);
    const dbs = plan.changes.filter((c) => c.type === 'afs-db');
    expect(dbs.map((c) => [c.address, c.action])).toEqual([
      ['afs-db.service-m1', 'update'], ['afs-db.service-m2', 'update'], ['afs-db.service-m3', 'update']]);
    expect(dbs[1]!.deps).toContain('afs-db.service-m1');
    expect(dbs[2]!.deps).toContain('afs-db.service-m2');
    expect(dbs[0]!.reason).toMatch(/^rolling upgrade 1\/3: first/);
    expect(dbs[2]!.reason).toMatch(/^rolling upgrade 3\/3: after afs-db.service-m2 is back in the quorum/);
    expect(plan.changes.find((c) => c.address === 'afs-fs.files-1')).toMatchObject({ action: 'update', changed: ['prefix', 'version'] });
    expect(plan.summary).toEqual({ add: 0, change: 5, destroy: 0 });
  });

  it('is carried out by the sim one db server at a time, each back with a sync site; refused when the others hold no quorum', async () => {
    const t = rig('tproa.net');
    try {
      const old = desiredResources(before, catalog);
      await t.apply(old);
      const next = new Map(desiredResources(after, catalog).map((r) => [r.address, r]));
      const out = await t.sim.update({ ...t.applied['afs-db.service-m1']!, address: 'afs-db.service-m1', name: 'service-m1' }, next.get('afs-db.service-m1')!);
      expect(out).toMatchObject({ quorum: true, sync_site: 'service-m1', restarted: `OpenAFS 1.9.1-test 2026-12-01 from ${join(dir, 'rolling')}` });
      expect(await t.sim.console('service-m1')).toMatch(/Starting AFS ptserver \(OpenAFS 1\.9\.1-test 2026-12-01 from /);
      // service-m3 down: restarting service-m2 now would leave one of three, no quorum.
      await t.sim.service('afs-db.service-m3', 'stop');
      await expect(t.sim.update({ ...t.applied['afs-db.service-m2']!, address: 'afs-db.service-m2', name: 'service-m2' }, next.get('afs-db.service-m2')!))
        .rejects.toThrow(/restarting service-m2 would lose the quorum \(without it: 1 of 3 database servers up \(service-m1\); a majority needs 2\)/);
      await t.sim.service('afs-db.service-m3', 'start');
      expect(await t.sim.update({ ...t.applied['afs-db.service-m2']!, address: 'afs-db.service-m2', name: 'service-m2' }, next.get('afs-db.service-m2')!)).toMatchObject({ quorum: true });
    } finally {
      t.cleanup();
    }
  });
});
