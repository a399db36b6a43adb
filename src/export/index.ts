// `cellctl export`: write one config per guest of the plan, as xl configs or libvirt XML.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostAttrs, Resource } from '../plan/resources.js';
import { renderLibvirt, type LibvirtMeta } from './libvirt.js';
import { renderXl } from './xl.js';

export type ExportFormat = 'xl' | 'libvirt';

export { renderXl, parseXlConfig } from './xl.js';
export { renderLibvirt, CELLCTL_XMLNS } from './libvirt.js';
export { vdevToTarget } from '../config/vdev.js';

/**
 * Render every guest resource and write <outDir>/<guest>.cfg (xl) or <guest>.xml (libvirt).
 * Returns the written paths in plan order. Every guest is rendered before anything is
 * written, so a bad guest leaves no half-exported directory behind.
 */
export function exportCell(resources: Resource[], format: ExportFormat, outDir: string, meta: LibvirtMeta = {}): string[] {
  const hosts = new Map<string, HostAttrs>();
  for (const r of resources) if (r.type === 'host') hosts.set(r.name, r.attrs);
  const files: { path: string; text: string }[] = [];
  for (const r of resources) {
    if (r.type !== 'guest') continue;
    const g = r.attrs;
    // The name becomes a file name: never let it leave outDir.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(r.name)) throw new Error(`guest name '${r.name}' cannot be used as a file name`);
    if (format === 'xl') {
      files.push({ path: join(outDir, `${r.name}.cfg`), text: renderXl(r.name, g) });
    } else {
      const host = hosts.get(g.host);
      if (!host) throw new Error(`guest ${r.name}: its host '${g.host}' is not among the resources to export`);
      files.push({ path: join(outDir, `${r.name}.xml`), text: renderLibvirt(r.name, g, host, meta) });
    }
  }
  mkdirSync(outDir, { recursive: true });
  for (const f of files) writeFileSync(f.path, f.text);
  return files.map((f) => f.path);
}
