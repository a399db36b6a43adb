// What a guest actually runs: its kernel and the modules it loads, from catalog ids or real artifacts on disk.
import { statSync } from 'node:fs';
import type { CellSpec, GuestSpec } from '../config/types.js';
import { kernelFromArtifacts, moduleFromKo } from './artifacts.js';
import type { Catalog, KernelEntry, ModuleEntry, OsEntry } from '../catalog/types.js';
import { isModulePath } from '../config/refs.js';

// Artifacts read once per process while unchanged: every rule asks for each guest's kernel and modules.
const artifacts = new Map<string, { stamp: string; value: unknown }>();

function memo<T>(key: string, files: (string | undefined)[], read: () => T): T {
  const stamp = files.map((f) => {
    if (f === undefined) return '-';
    try {
      const st = statSync(f);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }).join('|');
  const hit = artifacts.get(key);
  if (hit && hit.stamp === stamp) return hit.value as T;
  const value = read();
  artifacts.set(key, { stamp, value });
  return value;
}

/** A kernel from its Module.symvers (and .config), read once while the files are unchanged. */
export function artifactKernel(ref: { symvers: string; config?: string; release?: string; xen?: string }): KernelEntry {
  return memo(`kernel\0${ref.symvers}\0${ref.config ?? ''}\0${ref.release ?? ''}\0${ref.xen ?? ''}`, [ref.symvers, ref.config], () => kernelFromArtifacts(ref));
}

/** A module from its .ko file, read once while the file is unchanged. */
export function artifactModule(path: string): ModuleEntry {
  return memo(`module\0${path}`, [path], () => moduleFromKo(path));
}

/** The guest's kernel: the catalog entry it names, or one read from its Module.symvers/.config. */
export function guestKernel(g: GuestSpec, catalog: Catalog): KernelEntry {
  const ref = g.kernel;
  if ('catalog' in ref) {
    const k = catalog.kernels.get(ref.catalog);
    // The spec loader rejects unknown ids with a position; reaching here means a caller skipped it.
    if (!k) throw new Error(`guest ${g.name}: kernel '${ref.catalog}' is not in the catalog`);
    return k;
  }
  return artifactKernel(ref);
}

/** Kernel kind of the guest: its kernel's, which is what modules and client software care about. */
export function guestKernelKind(g: GuestSpec, catalog: Catalog): OsEntry['kernel_kind'] {
  return guestKernel(g, catalog).kernel_kind;
}

/** The AFS client module the guest needs, if it is an AFS client whose software has one for its kernel kind. */
export function clientModule(spec: CellSpec, guest: string, catalog: Catalog): ModuleEntry | undefined {
  const swId = spec.afs?.clients[guest];
  if (swId === undefined) return undefined;
  const sw = catalog.software.get(swId);
  const g = spec.guests[guest];
  if (!sw || !g) return undefined;
  const modId = sw.client_modules?.[guestKernelKind(g, catalog)];
  return modId === undefined ? undefined : catalog.modules.get(modId);
}

/** A module named by catalog id or by path to a .ko file. */
export function moduleRef(ref: string, catalog: Catalog): ModuleEntry {
  const m = catalog.modules.get(ref);
  if (m) return m;
  if (isModulePath(ref)) return artifactModule(ref);
  throw new Error(`module '${ref}' is neither a catalog id nor a path to a .ko file`);
}

/** Every module the guest loads at boot: its AFS client module first, then extra_modules in order. */
export function guestModules(spec: CellSpec, guest: string, catalog: Catalog): ModuleEntry[] {
  const g = spec.guests[guest];
  if (!g) return [];
  const mods: ModuleEntry[] = [];
  const client = clientModule(spec, guest, catalog);
  if (client) mods.push(client);
  // A module listed twice, or listed and loaded by the client anyway, is loaded once (modprobe is
  // a no-op for a loaded module); two different modules of one name are the module-name-conflict rule's.
  for (const ref of g.extra_modules) {
    const m = moduleRef(ref, catalog);
    if (!mods.some((x) => x.id === m.id)) mods.push(m);
  }
  return mods;
}
