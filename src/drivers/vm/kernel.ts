// The guest kernel: by default Debian's kernel whose headers are installed (so modules built for the
// cell match it), else the newest /boot/vmlinuz-*; or an image the cell names. What QEMU boots is
// the ELF vmlinux extracted from it (PVH entry), cached by the image's content hash.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../../cache.js';
import { hostKernelImage } from './host-kernel.js';
import { bzImageRelease, extractVmlinux, hasPvhNote, isBzImage, isElf, vmlinuxRelease } from './kimage.js';

export { compareVersions, hostKernelImage } from './host-kernel.js';

export interface GuestKernel {
  release: string; // "6.1.0-57-amd64"
  image: string; // the kernel image found or given (bzImage or ELF)
  boot: string; // what QEMU's -kernel gets: the cached PVH vmlinux, else `image`
  pvh: boolean; // boot is an ELF with the PVH entry note
  modulesDir?: string; // /lib/modules/<release> (or as given), when it exists
  note?: string; // why boot is not a PVH vmlinux, when it is not
}

export interface KernelChoice {
  image?: string; // a kernel image path (bzImage or ELF vmlinux); default: the host's, see hostKernelImage
  modulesDir?: string; // its modules directory; default /lib/modules/<release>
}

function writeAtomic(path: string, data: Buffer): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path); // concurrent builders write identical bytes; the last rename wins harmlessly
}

/** Finds or extracts the kernel to boot. Extraction runs once per image content; later calls read the cache. */
export async function guestKernel(choice: KernelChoice = {}): Promise<GuestKernel> {
  const host = choice.image ? undefined : hostKernelImage();
  const image = choice.image ?? host!.image;
  let bytes: Buffer;
  try {
    bytes = readFileSync(image);
  } catch (e) {
    throw new Error(`kernel image ${image}: ${(e as Error).message}`);
  }
  const elf = isElf(bytes);
  if (!elf && !isBzImage(bytes)) throw new Error(`kernel image ${image} is neither an ELF vmlinux nor a bzImage`);
  const release = host?.release ?? (elf ? vmlinuxRelease(bytes) : bzImageRelease(bytes));
  if (!release) throw new Error(`kernel image ${image}: no release string found`);
  const modulesDir = choice.modulesDir ?? `/lib/modules/${release}`;
  const base = { release, image, ...(existsSync(modulesDir) ? { modulesDir } : {}) };

  if (elf) {
    const pvh = hasPvhNote(bytes);
    return { ...base, boot: image, pvh, ...(pvh ? {} : { note: 'ELF image without the PVH entry note' }) };
  }
  const key = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const cached = join(cacheDir('kernels', release, key), 'vmlinux');
  if (!existsSync(cached)) {
    let vmlinux: Buffer;
    try {
      vmlinux = await extractVmlinux(bytes);
    } catch (e) {
      return { ...base, boot: image, pvh: false, note: `vmlinux not extracted (${(e as Error).message}); booting the bzImage` };
    }
    if (!hasPvhNote(vmlinux)) return { ...base, boot: image, pvh: false, note: 'vmlinux has no PVH entry note; booting the bzImage' };
    writeAtomic(cached, vmlinux);
  }
  return { ...base, boot: cached, pvh: true };
}
