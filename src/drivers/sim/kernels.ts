// The guest kernel behind a guest's `kernel` attr: a catalog id, or a Module.symvers path read once.
import { isSymversPath } from '../../config/refs.js';
import { kernelFromArtifacts } from '../../kmod/artifacts.js';
import { moduleRef } from '../../kmod/resolve.js';
import type { Catalog, KernelEntry, ModuleEntry } from '../../catalog/types.js';

// Parsing a real Module.symvers (~25,000 lines) per call would be slow; artifacts don't change under us.
const artifactKernels = new Map<string, KernelEntry>();
const artifactModules = new Map<string, ModuleEntry>();

/** The kernel entry, or an Error worded like xm's when the kernel can't be found. */
export function resolveKernel(catalog: Catalog, ref: string, image: string): KernelEntry {
  const k = catalog.kernels.get(ref);
  if (k) return k;
  if (!isSymversPath(ref)) {
    throw new Error(`Error: Kernel image does not exist: ${image} (kernel '${ref}' is neither a catalog id nor a Module.symvers path)`);
  }
  let entry = artifactKernels.get(ref);
  if (!entry) {
    try {
      entry = kernelFromArtifacts({ symvers: ref });
    } catch (e) {
      throw new Error(`Error: Kernel image does not exist: ${image} (${(e as Error).message})`);
    }
    artifactKernels.set(ref, entry);
  }
  return entry;
}

/** A module by catalog id or .ko path. */
export function resolveModule(catalog: Catalog, ref: string): ModuleEntry {
  const m = catalog.modules.get(ref);
  if (m) return m;
  let entry = artifactModules.get(ref);
  if (!entry) {
    try {
      entry = moduleRef(ref, catalog);
    } catch (e) {
      throw new Error(`module '${ref}': ${(e as Error).message}`);
    }
    artifactModules.set(ref, entry);
  }
  return entry;
}
