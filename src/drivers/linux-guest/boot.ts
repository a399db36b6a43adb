// What a real Linux guest boots and with how much memory: the cell's own kernel image when it names
// one, else the driver's stand-in (catalog data: stand-ins.json); at least the stand-in's minimum
// memory. Pure and quick, so plan can say the same as apply.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Catalog } from '../../catalog/types.js';
import { headersRelease, resolveHeaders, type KernelHeaders } from '../../kmod/headers.js';
import type { GuestAttrs } from '../../plan/resources.js';
import { hostKernelImage } from '../vm/host-kernel.js';

export interface BootChoice {
  image?: string; // the cell's own kernel image; undefined: the host's kernel (the stand-in)
  standIn?: string; // why and what, when the catalog kernel is stood in for
}

/** The stand-in kernel as a driver describes it (catalog data). */
export interface KernelStandIn {
  description: string; // what is booted
  why: string; // why the catalog's kernels are not
}

/** The installed kernel the stand-in is, or why there is none. */
export function standInRelease(): string {
  try {
    return hostKernelImage().release;
  } catch (e) {
    return `(none: ${(e as Error).message})`;
  }
}

export function kernelChoice(a: Pick<GuestAttrs, 'kernel' | 'kernel_image'>, catalog: Catalog, si: KernelStandIn): BootChoice {
  const k = catalog.kernels.get(a.kernel);
  if (k) return { standIn: `kernel ${a.kernel} (${k.release}) is stood in for by ${standInRelease()}: ${si.description}; ${si.why}` };
  // A kernel given as files boots its own image when the cell names one that exists.
  if (existsSync(a.kernel_image)) return { image: a.kernel_image };
  return { standIn: `the kernel given as files (${a.kernel}) has no image at ${a.kernel_image} (name one with kernel: { image: ... }); it is stood in for by ${standInRelease()}: ${si.description}` };
}

export interface MemoryChoice {
  memory: number; // MiB the guest gets
  raised?: string; // said in plan and apply when it is more than the cell asks
}

/** At least `min` MiB; `because` says why (said in plan and apply when the cell asks for less). */
export function raiseMemory(asked: number, min: number, because: string): MemoryChoice {
  if (asked >= min) return { memory: asked };
  return { memory: min, raised: `asks for ${asked} MiB; ${because}, so it gets ${min} MiB` };
}

/**
 * Headers to build modules for a guest running `release`: the cell's own build tree (beside its
 * Module.symvers) when that is the release, else the installed headers of that release.
 */
export function headersFor(release: string, cellKernel: string, catalog: Catalog): KernelHeaders {
  if (!catalog.kernels.has(cellKernel)) {
    const tree = dirname(cellKernel);
    if (headersRelease(tree) === release) return resolveHeaders({ headersDir: tree });
  }
  return resolveHeaders({ kernelRelease: release });
}
