// What plan and apply say before --driver qemu runs: kernels stood in for, memory raised to what a
// real guest needs, modules realized by their Debian stand-in or judged through a probe.
// Catalog data and file-system reads only (plan stays fast).
import type { Catalog } from '../../catalog/types.js';
import type { Resource } from '../../plan/resources.js';
import { moduleNotes } from '../linux-guest/notes.js';
import { netnsNotes } from '../netns/notes.js';
import { bootChoice, guestMemory } from './boot.js';

export function qemuNotes(resources: Resource[], catalog: Catalog): string[] {
  const notes: string[] = [];
  for (const r of resources) {
    if (r.type !== 'guest') continue;
    const b = bootChoice(r.attrs, catalog);
    if (b.standIn) notes.push(`guest ${r.name}: ${b.standIn}`);
    else if (b.image) notes.push(`guest ${r.name}: boots the cell's kernel image ${b.image}`);
    const m = guestMemory(r.attrs.memory, catalog);
    if (m.raised) notes.push(`guest ${r.name}: ${m.raised}`);
  }
  // keytabs: the guests run the same Debian MIT KDC as netns, which makes the same key types
  return [...notes, ...moduleNotes(resources, catalog), ...netnsNotes(resources, catalog)];
}
