// Shared by the netns tests: load a cell, bring its resources up through the real driver in
// dependency order (parallel where the graph allows, like the apply executor), tear them down.
import { mkdtempSync, readFileSync, existsSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { readCatalog } from '../../../src/catalog/load.js';
import { loadCell } from '../../../src/config/load.js';
import { desiredResources } from '../../../src/plan/desired.js';
import { SecretStore } from '../../../src/state/secrets.js';
import { StateStore } from '../../../src/state/store.js';
import type { Resource } from '../../../src/plan/resources.js';
import type { DriverContext } from '../../../src/drivers/driver.js';
import type { ResourceState } from '../../../src/state/types.js';
import type { CellSpec } from '../../../src/config/types.js';
import type { Catalog } from '../../../src/catalog/types.js';
import { testContext } from '../context.js';
import { recordOf } from '../../../src/state/types.js';
import { netnsPrerequisites } from '../../../src/drivers/netns/index.js';
import { heimdalPrerequisites } from '../../../src/drivers/services/heimdal/index.js';

/** The netns driver's prerequisites for a Heimdal cell (the tproa cells): Debian's Heimdal 7.8 must be had too. */
export function netnsHeimdalPrerequisites(): { ok: boolean; reason?: string } {
  const pre = netnsPrerequisites();
  if (!pre.ok) return pre;
  const h = heimdalPrerequisites();
  return h.ok ? pre : { ok: false, reason: `a Heimdal cell needs Debian's Heimdal 7.8 (${h.commands.download}): ${h.reason}` };
}

export interface Cell {
  /** The state root, laid out as the CLI lays it out (<root>/<cell>/netns is the driver's), so `cellctl --state-dir root` finds the cell. */
  root: string;
  spec: CellSpec;
  catalog: Catalog;
  resources: Resource[];
  ctx: DriverContext;
  applied: Record<string, ResourceState>;
  logs: string[];
}

export function openCell(file: string): Cell {
  const catalog = readCatalog();
  const spec = loadCell(file, catalog);
  const resources = desiredResources(spec, catalog, 'stand-ins'); // what the netns driver runs: Debian's MIT krb5 and OpenAFS 1.8.9
  const root = mkdtempSync(join(tmpdir(), 'cellctl-netns-'));
  const stateDir = join(root, spec.cell, 'netns');
  const applied: Record<string, ResourceState> = {};
  const ctx = testContext({ cell: spec.cell, realm: spec.realm, stateDir, catalog, secrets: new SecretStore(join(root, spec.cell, 'secrets.json')) });
  const logs = ctx.logs;
  return { root, spec, catalog, resources, ctx, applied, logs };
}

/** Record what was brought up as the CLI would (state.json with the driver's world), so `cellctl` commands can take over. */
export function saveState(cell: Cell, world: unknown): void {
  new StateStore(cell.root, cell.spec.cell).write({
    version: 1, cell: cell.spec.cell, file: cell.spec.file, driver: 'netns', serial: 0, resources: { ...cell.applied }, driverData: world,
  });
}

/** Creates every resource once its dependencies are done; returns ms per address. */
export async function bringUp(cell: Cell, driver: { create(r: Resource): Promise<unknown> }): Promise<Record<string, number>> {
  const done = new Map<string, Promise<void>>();
  const times: Record<string, number> = {};
  const byAddr = new Map(cell.resources.map((r) => [r.address, r]));
  const start = (r: Resource): Promise<void> => {
    let p = done.get(r.address);
    if (!p) {
      p = (async () => {
        await Promise.all(r.deps.filter((d) => byAddr.has(d)).map((d) => start(byAddr.get(d)!)));
        const t0 = Date.now();
        const outputs = await driver.create(r);
        times[r.address] = Date.now() - t0;
        cell.applied[r.address] = recordOf(r, outputs as Record<string, never> | void);
      })();
      done.set(r.address, p);
    }
    return p;
  };
  await Promise.all(cell.resources.map(start));
  return times;
}

/** Deletes in reverse dependency order (dependents first), sequentially. */
export async function tearDown(cell: Cell, driver: { delete(p: never): Promise<void> }): Promise<void> {
  const order: Resource[] = [];
  const seen = new Set<string>();
  const byAddr = new Map(cell.resources.map((r) => [r.address, r]));
  const visit = (r: Resource) => {
    if (seen.has(r.address)) return;
    seen.add(r.address);
    r.deps.forEach((d) => byAddr.has(d) && visit(byAddr.get(d)!));
    order.push(r);
  };
  cell.resources.forEach(visit);
  for (const r of order.reverse()) {
    if (!cell.applied[r.address]) continue;
    await driver.delete({ ...cell.applied[r.address], address: r.address, name: r.name } as never);
    delete cell.applied[r.address];
  }
}

/** What a cell could leave behind: namespaces with its prefix, live processes in them, mounts naming its dirs. */
export async function leftovers(prefix: string, stateDir: string): Promise<string[]> {
  const out: string[] = [];
  const nss = (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix));
  out.push(...nss.map((n) => `netns ${n}`));
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(prefix) || l.includes(stateDir));
  out.push(...mounts.map((m) => `mount ${m}`));
  for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const env = existsSync(`/proc/${e}/environ`) ? readFileSync(`/proc/${e}/environ`, 'utf8') : '';
      const cwd = readlinkSync(`/proc/${e}/cwd`);
      if (cmd.includes(stateDir) || env.includes(stateDir) || cwd.startsWith(stateDir)) out.push(`process ${e} ${cmd}`);
    } catch {
      /* gone */
    }
  }
  return out;
}
