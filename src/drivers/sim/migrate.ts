// xm migrate --live: refused unless the target can carry the domain as it is (same broadcast
// domain, disks on storage both hosts reach, memory free); on success the domain gets a new id
// on the target, as Xen gives it, and keeps running with everything on it.
import type { Catalog } from '../../catalog/types.js';
import type { Attrs } from '../../plan/resources.js';
import { note } from './console.js';
import { describeUsage, hvmCapable, requireHost, usage } from './hosts.js';
import { diskClash, track } from './indexes.js';
import { advance, domainOf, SECONDS, xendLog, type SimDisk, type SimDomain, type SimHost, type World } from './world.js';
import { compareVersions } from '../../catalog/versions.js';

/** Is `path` one of the prefixes or below one of them? */
function under(path: string, prefixes: string[]): boolean {
  return prefixes.some((p) => {
    const base = p.replace(/\/+$/, '');
    return path === base || path.startsWith(`${base}/`) || base === '';
  });
}

function diskReason(w: World, d: SimDomain, disk: SimDisk, src: SimHost, dst: SimHost): string | null {
  const both = `shared_storage of ${src.name}: ${src.shared_storage.join(', ') || 'none'}; of ${dst.name}: ${dst.shared_storage.join(', ') || 'none'}`;
  if (disk.kind === 'phy') {
    if (!dst.devices.includes(disk.target)) return `disk ${disk.raw}: device ${disk.target} does not exist on ${dst.name}`;
  }
  if (!under(disk.target, src.shared_storage) || !under(disk.target, dst.shared_storage)) {
    return `disk ${disk.raw}: ${disk.target} is not on storage both hosts reach (${both})`;
  }
  if (!diskClash(w, dst.name, d.name, disk.target, disk.mode)) return null;
  // In use: name the first holder in the world's order (a scan, on this refusal only).
  const clash = Object.values(w.domains).find((o) => o.host === dst.name && o.name !== d.name && o.domid !== null &&
    o.disks.some((x) => x.target === disk.target && (x.mode === 'w' || disk.mode === 'w')));
  if (clash) return `disk ${disk.raw}: ${disk.target} is in use by ${clash.name} on ${dst.name}`;
  return null;
}

/** Every reason the migration can't happen (empty: it can). */
export function migrationBlockers(w: World, catalog: Catalog, d: SimDomain, dst: SimHost): string[] {
  const src = w.hosts[d.host]!;
  const reasons: string[] = [];
  const srcMajor = catalog.xen.get(src.xen)?.major;
  const dstMajor = catalog.xen.get(dst.xen)?.major;
  if (srcMajor !== dstMajor) reasons.push(`${dst.name} runs Xen ${dst.xen}, ${src.name} runs Xen ${src.xen}: no migration across major versions`);
  else if (compareVersions(dst.xen, src.xen) < 0) reasons.push(`${dst.name} runs Xen ${dst.xen}, older than ${src.name}'s ${src.xen}: a domain can't move to an older hypervisor`);
  if (d.type === 'hvm') {
    // HVM save/restore (and so live migration) arrived in Xen 3.1.
    if (compareVersions(src.xen, '3.1') < 0 || compareVersions(dst.xen, '3.1') < 0) reasons.push(`${d.name} is an HVM guest: Xen before 3.1 cannot migrate HVM domains`);
    if (!hvmCapable(catalog, dst)) reasons.push(`${dst.name} has no vmx/svm for the HVM guest ${d.name}`);
  }
  for (const [i, v] of d.vifs.entries()) {
    if (!dst.bridges.includes(v.bridge)) {
      reasons.push(`vif ${i} (${v.mac}) is on bridge ${v.bridge}, which ${dst.name} does not have: the hosts are not on the same broadcast domain`);
    }
  }
  for (const disk of d.disks) {
    const r = diskReason(w, d, disk, src, dst);
    if (r) reasons.push(r);
  }
  const u = usage(w, dst.name);
  if (d.memory > u.free) {
    // Even a same-host (localhost) migration needs room for the second copy while it runs.
    reasons.push(`(12, 'Cannot allocate memory'): ${d.name} needs ${d.memory} MiB but ${describeUsage(dst.name, u)}`);
  }
  return reasons;
}

export function migrate(w: World, catalog: Catalog, guest: string, toHost: string): Attrs {
  const cmd = `xm migrate --live ${guest} ${toHost}`;
  const d = domainOf(w, guest);
  if (!d) throw new Error(`${cmd}: Error: Domain '${guest}' does not exist.`);
  if (d.domid === null || d.state === 'crashed') throw new Error(`${cmd}: Error: domain ${guest} is ${d.state}; only a live domain can migrate`);
  const dst = requireHost(w, toHost, cmd);
  const reasons = migrationBlockers(w, catalog, d, dst);
  if (reasons.length > 0) throw new Error(`${cmd}: refused: ${reasons.join('; ')}`);
  const src = w.hosts[d.host]!;
  const oldId = d.domid;
  const newId = dst.next_domid++;
  xendLog(w, src, `Domain ${guest} (${oldId}) migrated live to ${toHost}; destroyed here`);
  d.host = toHost;
  d.domid = newId;
  track(w, guest);
  xendLog(w, dst, `Domain ${guest} (${newId}) received live from ${src.name} (was ${oldId}): ${d.memory} MiB`);
  d.console.push(note(`xm migrate --live ${guest} ${toHost}: domain ${oldId} on ${src.name} -> domain ${newId} on ${toHost}, ${d.memory} MiB moved`));
  advance(w, SECONDS.migrate);
  return { host: toHost, domid: newId };
}
