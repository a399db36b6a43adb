// Xen virtual-device numbers and names (as written in xm/xl disk specs) -> libvirt disk targets.
//
// Xen encodes a vdev the way Linux numbers block devices: major << 8 | minor.
//   0x301 = major 3 (IDE, first controller), minor 1 -> hda1; 0x810 = sdb; 0xca00 = xvda.
//   1 << 28 | disk << 8 | partition is the extended xvd form (disks beyond xvdp).
// Numbers below 0x100 (major 0) are not Linux devices. The seed's NetBSD guest uses
// 0x01..0x04: NetBSD's xbd driver treats the number as a plain handle and attaches the
// disks in order, so handle n becomes the n-th xvd disk (0x01 -> xvda, 0x04 -> xvdd).
//
// A pv guest sees exactly the device xm named, partition included: Xen's blkback exports
// 0x301 as hda1 and the seed's root=/dev/hda1 relies on that, so the libvirt target keeps
// the partition too ('hda1'; libvirt's schema and Xen driver accept it). `disk` is the
// whole-disk name, for checks that two specs do not land on one disk.

export interface DiskTarget {
  dev: string; // libvirt <target dev>: xvda, hda1, sdb
  disk: string; // the whole disk: hda for hda1
  prefix: 'xvd' | 'hd' | 'sd';
  index: number; // 0-based disk index within the prefix (xvda = 0)
  partition: number; // 0 when the vdev names a whole disk
  cdrom: boolean; // xm 'hdc:cdrom'
}

// Linux block majors (Documentation/admin-guide/devices.txt), as xend's blkdev_name_to_number
// (tools/python/xen/util/blkif.py) uses them. IDE: two disks per major (minor >> 6), 63 partitions;
// SCSI: 16 disks per major (minor >> 4), 15 partitions; xvd: 16 disks of 15 partitions, and the
// extended form 1 << 28 | disk << 8 | partition (Xen's vbd-interface.txt: disk < 2^20, partition < 256).
const IDE_MAJORS = [3, 22, 33, 34, 56, 57, 88, 89, 90, 91];
const SCSI_MAJORS = [8, 65, 66, 67, 68, 69, 70, 71, 128, 129, 130, 131, 132, 133, 134, 135];
const XVD_MAJOR = 202;
const XVD_EXTENDED = 1 << 28;
const XVD_EXTENDED_DISKS = 1 << 20;
const LIMITS = {
  hd: { disks: IDE_MAJORS.length * 2, partitions: 63 },
  sd: { disks: SCSI_MAJORS.length * 16, partitions: 15 },
  xvd: { disks: XVD_EXTENDED_DISKS, partitions: 255 }, // past 15, or past xvdp, in the extended form
} as const;

/** 0 -> 'a', 25 -> 'z', 26 -> 'aa' (the kernel's and libvirt's disk-name letters). */
export function diskLetters(index: number): string {
  let s = '';
  let n = index;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}

function lettersIndex(letters: string): number {
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 96);
  return n - 1;
}

function target(prefix: DiskTarget['prefix'], index: number, partition: number, cdrom: boolean): DiskTarget {
  const disk = prefix + diskLetters(index);
  return { dev: partition ? `${disk}${partition}` : disk, disk, prefix, index, partition, cdrom };
}

function fromNumber(n: number, vdev: string, cdrom: boolean): DiskTarget {
  // A device number is major << 8 | minor (both < 256), or the extended xvd form below 2^29.
  if (!(n < 0x10000 || (n >= XVD_EXTENDED && n < 2 * XVD_EXTENDED))) {
    throw new Error(`disk vdev '${vdev}' is not a Xen device number (major and minor below 256, or the extended xvd form 1<<28 | disk<<8 | partition)`);
  }
  if (n & XVD_EXTENDED) return target('xvd', (n >> 8) & 0xfffff, n & 0xff, cdrom);
  const major = n >> 8;
  const minor = n & 0xff;
  if (major === 0) return target('xvd', Math.max(n - 1, 0), 0, cdrom); // NetBSD-style handle, see top
  const ide = IDE_MAJORS.indexOf(major);
  if (ide >= 0) return target('hd', ide * 2 + (minor >> 6), minor & 63, cdrom);
  const scsi = SCSI_MAJORS.indexOf(major);
  if (scsi >= 0) return target('sd', scsi * 16 + (minor >> 4), minor & 15, cdrom);
  if (major === XVD_MAJOR) return target('xvd', minor >> 4, minor & 15, cdrom);
  throw new Error(
    `disk vdev '${vdev}': major ${major} is not an IDE, SCSI or xvd block major; write the device as xvdN, hdN or sdN`,
  );
}

/** The device number Xen uses for a vdev (what xend prints as "Device 769 (vbd)"). */
export function vdevNumber(vdev: string): number {
  const v = vdev.trim().toLowerCase().replace(/^ioemu:/, '').replace(/:(cdrom|disk)$/, '');
  if (/^0x[0-9a-f]+$/.test(v)) return parseInt(v.slice(2), 16);
  if (/^[0-9]+$/.test(v)) return parseInt(v, 10);
  const t = vdevToTarget(vdev);
  switch (t.prefix) {
    case 'hd':
      return (IDE_MAJORS[t.index >> 1] << 8) | ((t.index & 1) << 6) | t.partition;
    case 'sd':
      return (SCSI_MAJORS[t.index >> 4] << 8) | ((t.index & 15) << 4) | t.partition;
    case 'xvd':
      return t.index < 16 && t.partition < 16 ? (XVD_MAJOR << 8) | (t.index << 4) | t.partition : XVD_EXTENDED | (t.index << 8) | t.partition;
  }
}

/** Map one vdev as written in a disk spec ('0x01', '0x301', '769', 'hda1', 'xvdb', 'ioemu:hdc:cdrom'). */
export function vdevToTarget(vdev: string): DiskTarget {
  let v = vdev.trim().toLowerCase();
  if (v.startsWith('ioemu:')) v = v.slice('ioemu:'.length); // xm's hvm prefix, no meaning to libvirt
  let cdrom = false;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    const kind = v.slice(colon + 1);
    if (kind !== 'cdrom' && kind !== 'disk') throw new Error(`disk vdev '${vdev}': unknown device type '${kind}' (expected cdrom or disk)`);
    cdrom = kind === 'cdrom';
    v = v.slice(0, colon);
  }
  // Digits beyond 10 are no device number; parseInt would round them.
  if (/^0x[0-9a-f]{1,10}$/.test(v)) return fromNumber(parseInt(v.slice(2), 16), vdev, cdrom);
  if (/^[0-9]{1,10}$/.test(v)) return fromNumber(parseInt(v, 10), vdev, cdrom);
  const m = /^(xvd|hd|sd)([a-z]{1,3})([1-9][0-9]{0,2})?$/.exec(v);
  if (!m) throw new Error(`disk vdev '${vdev}' is neither a device number (0x301) nor a name like xvda, hda1, sdb (partitions count from 1)`);
  const prefix = m[1] as DiskTarget['prefix'];
  const index = lettersIndex(m[2]);
  const partition = m[3] ? parseInt(m[3], 10) : 0;
  const limit = LIMITS[prefix];
  if (index >= limit.disks) {
    throw new Error(`disk vdev '${vdev}': ${prefix}${m[2]} is past the last ${prefix} disk, ${prefix}${diskLetters(limit.disks - 1)} (${limit.disks} disks)`);
  }
  if (partition > limit.partitions) {
    throw new Error(`disk vdev '${vdev}': partition ${partition} is past the last ${prefix} partition, ${limit.partitions}`);
  }
  return target(prefix, index, partition, cdrom);
}
