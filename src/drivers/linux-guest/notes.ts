// What plan and apply say before a real-kernel driver loads a cell's modules: realized by their
// Debian stand-in, judged through a probe, or refused. Catalog data only (plan stays fast).
import type { Catalog } from '../../catalog/types.js';
import { checkModuleLoad } from '../../kmod/verdict.js';
import type { Resource } from '../../plan/resources.js';

export function moduleNotes(resources: Resource[], catalog: Catalog): string[] {
  const notes: string[] = [];
  const kernelOf = new Map(resources.flatMap((r) => (r.type === 'guest' ? [[r.name, r.attrs.kernel] as const] : [])));
  for (const r of resources) {
    if (r.type !== 'module') continue;
    const entry = catalog.modules.get(r.attrs.module);
    if (!entry) continue; // a .ko from the cell is loaded as it is
    const k = catalog.kernels.get(kernelOf.get(r.attrs.guest) ?? '');
    const refused = k ? checkModuleLoad(entry, k, catalog.licences, r.address).some((f) => f.severity === 'error') : false;
    if (refused && entry.kernel_kind === 'linux') {
      notes.push(`${r.address}: the catalog refuses ${entry.id}; the guest's real kernel judges a probe with its licence and imports (insmod, kernel log recorded)`);
    } else if (refused) {
      notes.push(`${r.address}: the catalog refuses ${entry.id}, a ${entry.kernel_kind} module the guest's Linux kernel cannot load: apply fails there with the catalog's verdict`);
    } else if (entry.debian_stand_in) {
      notes.push(`${r.address}: ${entry.id} is realized by ${entry.debian_stand_in.description}`);
    } else if (entry.kernel_kind === 'linux') {
      notes.push(`${r.address}: no real build of ${entry.id} exists here; the guest's kernel judges a probe with its licence and imports`);
    }
  }
  return notes;
}
