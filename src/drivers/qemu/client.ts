// The real kernel AFS client in a QEMU guest: the shared helpers (linux-guest/afs-client.ts) over
// the qemu driver's world, with the cell's names from the service layer (no outside resolver).
import type { AfsClientAttrs, Json } from '../../plan/resources.js';
import * as shared from '../linux-guest/afs-client.js';
import { writeNameFiles } from '../services/afs-servers.js';
import type { Services } from '../services/placement.js';
import type { GuestAgent } from '../vm/agent.js';
import type { GuestRec, Places } from './world.js';

export { afsdPids, afsMounted, cacheKb } from '../linux-guest/afs-client.js';

export function cellServDB(cell: string, servers: { name: string; ip: string }[]): string {
  return shared.cellServDB(cell, servers, 'qemu');
}

export function createClient(P: Places, x: Services | undefined, _rec: GuestRec, agent: GuestAgent, a: AfsClientAttrs, log: (l: string) => void): Promise<Record<string, Json>> {
  const names = x ? () => writeNameFiles(x, x.place(a.guest)) : undefined;
  return shared.createClient(P.side, agent, a, log, names);
}

export function deleteClient(P: Places, agent: GuestAgent | undefined, guest: string, log: (l: string) => void): Promise<void> {
  return shared.deleteClient(P.side, agent, guest, log);
}
