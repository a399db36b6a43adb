// What a QEMU guest boots and with how much memory: the shared rules (linux-guest/boot.ts) with the
// qemu driver's stand-in, catalog data (stand-ins.json: guest_kernel).
import type { Catalog } from '../../catalog/types.js';
import type { GuestAttrs } from '../../plan/resources.js';
import { kernelChoice, raiseMemory, type BootChoice, type MemoryChoice } from '../linux-guest/boot.js';

export { headersFor, standInRelease, type BootChoice, type MemoryChoice } from '../linux-guest/boot.js';

export function bootChoice(a: Pick<GuestAttrs, 'kernel' | 'kernel_image'>, catalog: Catalog): BootChoice {
  return kernelChoice(a, catalog, catalog.standIns.guest_kernel);
}

export function guestMemory(asked: number, catalog: Catalog): MemoryChoice {
  const min = catalog.standIns.guest_kernel.min_memory;
  return raiseMemory(asked, min, `real guests here need at least ${min} MiB (a Linux 6.1 kernel with its root over 9p and the OpenAFS client)`);
}
