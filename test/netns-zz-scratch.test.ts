import { it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { createNetnsDriver } from '../src/drivers/netns/index.js';
import { deriveChecks } from '../src/smoke/checks.js';
import { bringUp, openCell } from './netns-helpers.js';
it('scratch', async () => {
  const cell = openCell(join(__dirname, '..', 'cells', process.env.SCRATCH_CELL ?? 'tproa.yaml'));
  const driver = createNetnsDriver(cell.ctx);
  const t0 = Date.now();
  const per = await bringUp(cell, driver);
  console.log('bringup', Date.now() - t0, JSON.stringify(per));
  writeFileSync('/tmp/scratch-state', cell.ctx.stateDir);
  for (const c of deriveChecks(cell.spec.cell, cell.spec.realm, cell.resources)) {
    const t = Date.now(); const r = await driver.check(c); console.log(Date.now() - t, r.status, c.id, r.message);
  }
}, 300_000);
