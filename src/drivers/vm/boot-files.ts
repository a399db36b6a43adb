// The two files every guest boots from: the kernel (PVH vmlinux) and the kit's initramfs.
import { guestInitramfs, type Initramfs, type InitramfsOptions } from './initramfs.js';
import { guestKernel, type GuestKernel, type KernelChoice } from './kernel.js';

export interface BootFiles {
  kernel: GuestKernel;
  initramfs: Initramfs;
}

/** Finds the kernel and builds (or reuses from the cache) the initramfs matching its modules. */
export async function prepareBootFiles(choice: KernelChoice = {}, o: InitramfsOptions = {}): Promise<BootFiles> {
  const kernel = await guestKernel(choice);
  if (!kernel.modulesDir) throw new Error(`kernel ${kernel.release}: no modules directory (/lib/modules/${kernel.release}); /init needs its virtio and 9p modules`);
  return { kernel, initramfs: await guestInitramfs(kernel, o) };
}
