// The promise of validate: a cell it accepts applies. Thousands of random cells (generated from
// the catalog, and the real cells mutated) go through validate (load + compat, as `cellctl validate`);
// every one it accepts is applied on the simulator, where no step may fail. A handful of small ones
// are applied for real on the netns driver too. A failure here is a missing rule or bound.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadCatalog } from '../../src/catalog/load.js';
import { hasErrors, runCompat } from '../../src/compat/index.js';
import { parseCell } from '../../src/config/load.js';
import type { CellSpec } from '../../src/config/types.js';
import { UserError } from '../../src/diagnostics.js';
import type { Driver } from '../../src/drivers/driver.js';
import { capabilitiesOf } from '../../src/drivers/capabilities.js';
import { createNetnsDriver, netnsPrerequisites } from '../../src/drivers/netns/index.js';
import { createSimDriver } from '../../src/drivers/sim/index.js';
import { execute } from '../../src/engine/execute.js';
import { desiredResources, splitManaged } from '../../src/plan/desired.js';
import { diff } from '../../src/plan/diff.js';
import { SecretStore } from '../../src/state/secrets.js';
import type { CellState } from '../../src/state/types.js';
import { testContext } from '../drivers/context.js';
import { CELLS } from '../paths.js';
import { type CellData, Dice, generateCell, mutateCell, toCellYaml } from './cells.js';

const catalog = loadCatalog();
const SEED = Number(process.env.VALIDATE_APPLIES_SEED ?? 20070503);
const GENERATED = 2000;
const MUTATED = 1000;
const NETNS_SAMPLE = 3;
const FILE = '/validate-applies/cell.yaml';
const REAL = ['tproa.yaml', 'awesmoe-fixed.yaml', 'tproa-3db.yaml'].map((f) => parseYaml(readFileSync(join(CELLS, f), 'utf8')) as CellData);

type Outcome = { kind: 'refused'; by: string[] } | { kind: 'accepted'; spec: CellSpec; text: string };

/** What `cellctl validate` decides: load errors (schema, semantic checks) or compat errors refuse. */
function validate(text: string): Outcome {
  let spec: CellSpec;
  try {
    spec = parseCell(text, FILE, catalog);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // Values stripped: one key per kind of diagnostic.
    return { kind: 'refused', by: [...new Set(e.diagnostics.map((d) => `load: ${d.message.replace(/'[^']*'/g, "'…'").replace(/\d+/g, 'N').slice(0, 70)}`))] };
  }
  const findings = runCompat(spec, catalog);
  if (hasErrors(findings)) return { kind: 'refused', by: [...new Set(findings.filter((f) => f.severity === 'error').map((f) => f.code))] };
  return { kind: 'accepted', spec, text };
}

/** What `cellctl apply` does with a cell nothing was applied of, through the given driver. */
async function apply(spec: CellSpec, open: (ctx: ReturnType<typeof testContext>) => Driver, stateDir: string): Promise<{ failed?: { address: string; message: string }; done: number }> {
  const ctx = testContext({ cell: spec.cell, realm: spec.realm, stateDir, catalog, secrets: new SecretStore(join(stateDir, 'secrets.json')) });
  const driver = open(ctx);
  const caps = capabilitiesOf(driver.name);
  const { managed } = splitManaged(desiredResources(spec, catalog, caps.runs), caps, spec);
  const plan = diff(spec, managed, undefined, runCompat(spec, catalog));
  const state: CellState = { version: 1, cell: spec.cell, file: spec.file, driver: driver.name, serial: 0, resources: {} };
  try {
    return await execute(plan, driver, state, { concurrency: driver.name === 'sim' ? 1 : 4, save: () => undefined });
  } finally {
    await driver.close();
  }
}

const counts = { generated: 0, mutated: 0, accepted: 0, applied: 0, refusedBy: new Map<string, number>() };
const accepted: { text: string; spec: CellSpec; data: CellData }[] = [];

describe(`validate means apply (seed ${SEED}; VALIDATE_APPLIES_SEED=N to replay)`, () => {
  // State dirs on tmpfs where there is one: the secret store fsyncs each write, which on a disk costs
  // more than the simulated apply itself (85 ms against 20 ms per cell, measured).
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cellctl-validate-applies-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it(`${GENERATED} generated and ${MUTATED} mutated cells: every one validate accepts applies on the simulator`, async () => {
    let n = 0;
    const check = async (data: CellData, how: 'generated' | 'mutated'): Promise<void> => {
      counts[how]++;
      const text = toCellYaml(data);
      const v = validate(text);
      if (v.kind === 'refused') {
        for (const by of v.by) counts.refusedBy.set(by, (counts.refusedBy.get(by) ?? 0) + 1);
        return;
      }
      counts.accepted++;
      const dir = join(root, String(n++));
      let r: Awaited<ReturnType<typeof apply>>;
      try {
        r = await apply(v.spec, createSimDriver, dir);
      } catch (e) {
        throw new Error(`validate accepted this cell, but planning or applying it threw: ${(e as Error).message}\n--- cell ---\n${text}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      if (r.failed) throw new Error(`validate accepted this cell, but apply failed at ${r.failed.address}: ${r.failed.message}\n--- cell ---\n${text}`);
      counts.applied++;
      accepted.push({ text, spec: v.spec, data });
    };
    const params = { seed: SEED, numRuns: GENERATED, endOnFailure: true };
    await fc.assert(fc.asyncProperty(fc.integer(), (s) => check(generateCell(catalog, new Dice(s)), 'generated')), params);
    await fc.assert(fc.asyncProperty(fc.integer(), fc.nat({ max: REAL.length - 1 }), fc.boolean(), (s, i, twice) => {
      const d = new Dice(s);
      // Mutate a real cell, or a generated one validate accepted (parsed back from its text).
      const base = twice && accepted.length ? accepted[d.int(0, accepted.length - 1)]!.data : REAL[i]!;
      return check(mutateCell(base, catalog, d), 'mutated');
    }), { ...params, seed: SEED + 1, numRuns: MUTATED });

    const table = [...counts.refusedBy].sort((a, b) => b[1] - a[1]).map(([by, k]) => `  ${String(k).padStart(5)}  ${by}`).join('\n');
    console.log(`validate-applies: ${counts.generated} generated + ${counts.mutated} mutated cells; ${counts.accepted} accepted by validate, ${counts.applied} applied on the sim with no step failing; ${counts.generated + counts.mutated - counts.accepted} refused. Refusals by code (a cell can count under several):\n${table}`);
    expect(counts.applied).toBe(counts.accepted);
    // Both halves of the promise are exercised: many cells apply, many are refused.
    expect(counts.accepted).toBeGreaterThan((GENERATED + MUTATED) / 5);
    expect(counts.generated + counts.mutated - counts.accepted).toBeGreaterThan((GENERATED + MUTATED) / 5);
  }, 240_000);

  const pre = netnsPrerequisites();
  it.skipIf(!pre.ok)(`a sample of ${NETNS_SAMPLE} small accepted cells applies on the netns driver${pre.ok ? '' : ` — SKIPPED: ${pre.reason}`}`, async () => {
    // Small cells (one database server: a three-server ubik election alone takes ~90 s), chosen by
    // the seed from the ones the simulator applied; each is destroyed again, leaving nothing behind.
    const small = accepted.filter(({ spec }) => Object.keys(spec.guests).length <= 3 && (spec.afs?.dbservers.length ?? 0) <= 1 && spec.kerberos && spec.afs);
    expect(small.length).toBeGreaterThanOrEqual(NETNS_SAMPLE);
    const d = new Dice(SEED);
    const sample = Array.from({ length: NETNS_SAMPLE }, () => small.splice(d.int(0, small.length - 1), 1)[0]!);
    for (const [i, { spec, text }] of sample.entries()) {
      const dir = join(root, `netns-${i}`);
      let driver: ReturnType<typeof createNetnsDriver> | undefined;
      const t0 = Date.now();
      try {
        const r = await apply(spec, (ctx) => (driver = createNetnsDriver(ctx)), dir);
        if (r.failed) throw new Error(`validate and the simulator accepted this cell, but the netns apply failed at ${r.failed.address}: ${r.failed.message}\n--- cell ---\n${text}`);
        console.log(`netns sample ${i + 1}/${NETNS_SAMPLE}: ${spec.cell}, ${Object.keys(spec.guests).length} guests, ${r.done} steps applied in ${Date.now() - t0} ms`);
      } finally {
        await driver?.destroyAll();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 300_000);
});
