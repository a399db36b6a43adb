// A guest's disks among themselves, and disk images shared between guests: what xend's device
// set-up (the vbd's device number, the block script's check_sharing) refuses.
import type { DiskSpec } from '../../config/types.js';
import { diskLetters, vdevToTarget, type DiskTarget } from '../../config/vdev.js';
import type { CodeDoc, Finding } from '../types.js';
import type { Rule } from './util.js';
import { addr } from '../../plan/addrs.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: "duplicate-vdev", severity: "error", title: "two disks of a guest are the same virtual device",
    explanation: "xend numbers every disk by its virtual device (0x301 is hda1, 0x01 the first NetBSD xbd): two specs that map to the same device, or a whole disk and one of its partitions, cannot both be connected; the second fails with 'Device ... (vbd) could not be connected'.",
    fix: "Give each disk its own virtual device (xvda, xvdb...; hda1, hda2...), and don't export a whole disk together with one of its partitions.",
  },
  {
    code: "image-shared", severity: "error", title: "one file: image is given to two guests, one of them writable",
    explanation: "A file: disk is loop-mounted in dom0; xend refuses to attach an image that another domain has writable ('File ... is loopback-mounted, which is mounted in a guest domain, and so cannot be mounted now'), because two kernels writing one filesystem corrupt it.",
    fix: "Give each guest its own image, or attach the shared image read-only (,r) in every guest.",
  },
];

/** Two targets that are one device, or a whole disk and one of its partitions. */
function overlap(a: DiskTarget, b: DiskTarget): boolean {
  return a.disk === b.disk && (a.partition === b.partition || a.partition === 0 || b.partition === 0);
}

/**
 * Two disks of a guest on one virtual device (0x301 and hda1), or on a disk and its partition (hda and
 * hda1): xend refuses the second vbd ("Device 769 (vbd) is already connected"), and blkfront could not
 * register the partition's minors inside the whole disk's.
 */
export const duplicateVdev: Rule = (spec) => {
  const out: Finding[] = [];
  for (const g of Object.values(spec.guests)) {
    // Grouped by whole disk: comparing every pair of 256 disks is quadratic.
    const byDisk = new Map<string, { t: DiskTarget; d: DiskSpec; i: number }[]>();
    g.disks.forEach((d, i) => {
      const t = vdevToTarget(d.vdev);
      const seen = byDisk.get(t.disk) ?? [];
      const prior = seen.find((s) => overlap(s.t, t));
      if (prior) {
        const same = prior.t.dev === t.dev;
        out.push({
          code: 'duplicate-vdev',
          severity: 'error',
          subject: addr.guest(g.name),
          message: same
            ? `${g.name}: Error: Device ${d.vdev} (vbd) could not be connected: disks ${prior.i} ('${prior.d.raw}') and ${i} ('${d.raw}') are both ${t.dev}`
            : `${g.name}: Error: Device ${d.vdev} (vbd) could not be connected: ${t.dev} (disk ${i}) overlaps ${prior.t.dev} (disk ${prior.i}); a whole disk and its partition cannot both be attached`,
          fix: `give disk ${i} of ${g.name} a device of its own, e.g. ${freeDevice(g.disks.map((x) => vdevToTarget(x.vdev)), t)}`,
          pos: spec.posOf(['guests', g.name, 'disks', i]),
        });
      }
      seen.push({ t, d, i });
      byDisk.set(t.disk, seen);
    });
  }
  return out;
};

/** The first disk of the same kind no disk of the guest touches, for the fix text. */
function freeDevice(used: DiskTarget[], like: DiskTarget): string {
  const taken = new Set(used.filter((t) => t.prefix === like.prefix).map((t) => t.index));
  let i = 0;
  while (taken.has(i)) i++;
  const name = `${like.prefix}${diskLetters(i)}`;
  try {
    return vdevToTarget(name).dev;
  } catch {
    return 'a free xvd device';
  }
}

const modeName = (m: 'r' | 'w') => (m === 'w' ? 'writable' : 'read-only');

/**
 * A file: or tap: image attached by two guests on one host (or twice by one guest) with one of them
 * writable: xend's block script finds its loop device in use and refuses, as for a phy: device.
 */
export const imageShared: Rule = (spec) => {
  const out: Finding[] = [];
  const uses = new Map<string, { guest: string; index: number; mode: 'r' | 'w' }[]>(); // host + image -> uses
  for (const g of Object.values(spec.guests)) {
    g.disks.forEach((d, index) => {
      if (d.kind === 'phy') return;
      const key = `${g.host}\0${d.target}`;
      const list = uses.get(key);
      if (list) list.push({ guest: g.name, index, mode: d.mode });
      else uses.set(key, [{ guest: g.name, index, mode: d.mode }]);
    });
  }
  for (const [key, list] of uses) {
    if (list.length < 2 || !list.some((u) => u.mode === 'w')) continue;
    const [host, image] = key.split('\0') as [string, string];
    const holder = list[0]!;
    for (const u of list.slice(1)) {
      out.push({
        code: 'image-shared',
        severity: 'error',
        subject: addr.guest(u.guest),
        message:
          `${u.guest}: Error: Device ${u.index} (vbd) could not be connected. File ${image} is loopback-mounted, which is mounted in a guest domain, ` +
          `and so cannot be mounted now (${holder.guest === u.guest ? `${u.guest} already has it as disk ${holder.index}` : `${holder.guest} has it`}` +
          ` ${modeName(holder.mode)}, this one asks ${modeName(u.mode)}, on ${host})`,
        fix: `give each guest its own image file, or attach ${image} read-only (,r) everywhere`,
        pos: spec.posOf(['guests', u.guest, 'disks', u.index]),
      });
    }
  }
  return out;
};
