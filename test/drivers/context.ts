// A DriverContext for driver tests: the world a driver checkpoints is kept here, as the state
// file keeps it, so a second driver opened on the same context sees it (a later command).
import type { Catalog } from '../../src/catalog/types.js';
import type { DriverContext } from '../../src/drivers/driver.js';
import type { SecretStore } from '../../src/state/secrets.js';

export interface TestContext extends DriverContext {
  /** What the last checkpoint saved (also what `world` returns). */
  saved: unknown;
  logs: string[];
}

export function testContext(o: { cell: string; realm: string; stateDir: string; catalog: Catalog; secrets: SecretStore; world?: unknown }): TestContext {
  const ctx: TestContext = {
    cell: o.cell, realm: o.realm, stateDir: o.stateDir, catalog: o.catalog, secrets: o.secrets,
    saved: o.world,
    logs: [],
    get world() {
      return this.saved;
    },
    checkpoint(world: unknown) {
      this.saved = structuredClone(world);
    },
    log(line: string) {
      this.logs.push(line);
    },
  };
  return ctx;
}
