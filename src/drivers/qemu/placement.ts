// The qemu placement of the service layer: a guest is a real VM reached through its agent
// (linux-guest/placement.ts); a /vicepX the fileserver needs is a disk hot-plugged and mounted
// (partitions.ts).
import { names } from '../../plan/addrs.js';
import type { Masker } from '../../render/mask.js';
import { mountedAt } from '../linux-guest/facts.js';
import { agentPlacement, agentServices } from '../linux-guest/placement.js';
import type { Placement, Services } from '../services/placement.js';
import { createPartition, type PlugTarget } from './partitions.js';
import type { Places } from './world.js';

export function qemuPlacement(P: Places, guest: string, t: PlugTarget, masker: Masker): Placement {
  return agentPlacement({
    guest, kind: 'qemu', ip: P.addressOf(guest), agent: async () => t.agent, masker,
    partitions: {
      expose: async (path) => void (await createPartition(P, t, names.partition(guest, path), { guest, path })),
      exposed: async (path) => (await mountedAt(t.agent, path)) !== undefined,
    },
  });
}

/** The service layer over the driver's guests: each reached through its agent, partitions hot-plugged through its PlugTarget. */
export function qemuServices(P: Places, targetOf: (name: string) => PlugTarget | undefined, masker: Masker, log: (line: string) => void): Services {
  return agentServices(P, (name) => {
    const t = targetOf(name);
    return t && qemuPlacement(P, name, t, masker);
  }, masker, log);
}
