// The xen placement of the service layer: a guest is a domU reached through its agent (relayed by
// its host's dom0: linux-guest/placement.ts over it); a /vicepX the fileserver needs is a disk
// attached with `xl block-attach` and mounted (partitions.ts).
import { names } from '../../../plan/addrs.js';
import type { Masker } from '../../../render/mask.js';
import { mountedAt } from '../../linux-guest/facts.js';
import { agentPlacement, agentServices } from '../../linux-guest/placement.js';
import type { Services } from '../../services/placement.js';
import type { HostOf } from './domains.js';
import type { AgentOf } from './observe.js';
import { createPartition } from './partitions.js';
import type { Places } from './world.js';

/** The service layer over the driver's domUs (those whose host runs). */
export function xenServices(P: Places, hostOf: HostOf, agentOf: AgentOf, masker: Masker, log: (line: string) => void): Services {
  const agent = async (guest: string) => {
    const a = await agentOf(guest);
    if (!a) throw new Error(`guest ${guest} is not running (its Xen host ${P.w.guests[guest]?.host ?? '?'} is not up)`);
    return a;
  };
  const host = (guest: string) => {
    const h = hostOf(P.guest(guest).host);
    if (!h) throw new Error(`the Xen host of ${guest} is not running`);
    return h;
  };
  return agentServices(P, (guest) => {
    if (!hostOf(P.guest(guest).host)) return undefined;
    return agentPlacement({
      guest, kind: 'xen', ip: P.addressOf(guest), agent: () => agent(guest), masker,
      partitions: {
        expose: async (path) => void (await createPartition(P, host(guest), await agent(guest), names.partition(guest, path), { guest, path })),
        exposed: async (path) => (await mountedAt(await agent(guest), path)) !== undefined,
      },
    });
  }, masker, log);
}
