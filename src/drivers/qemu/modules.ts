// Modules judged by the guest's real kernel: the shared helpers (linux-guest/modules.ts) over the
// qemu driver's world.
import type { Catalog } from '../../catalog/types.js';
import type { Json, ModuleAttrs } from '../../plan/resources.js';
import * as shared from '../linux-guest/modules.js';
import type { GuestAgent } from '../vm/agent.js';
import type { Places } from './world.js';

export { insmod, loadedModules, openafsKoFor, rmmod, type InsmodResult } from '../linux-guest/modules.js';

export interface ModuleContext {
  P: Places;
  catalog: Catalog;
  agent: GuestAgent;
  log: (line: string) => void;
}

export function createModule(x: ModuleContext, resName: string, a: ModuleAttrs): Promise<Record<string, Json>> {
  return shared.createModule({ side: x.P.side, catalog: x.catalog, agent: x.agent, log: x.log }, resName, a);
}

export function deleteModule(P: Places, agent: GuestAgent | undefined, resName: string, log: (l: string) => void): Promise<void> {
  return shared.deleteModule(P.side, agent, resName, log);
}
