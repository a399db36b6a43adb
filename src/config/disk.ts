// Xen disk specs in xm syntax ("file:/x/wd0.img,0x01,w"), which xl still reads.
import { UserError } from '../diagnostics.js';
import type { DiskSpec } from './types.js';
import { vdevToTarget } from './vdev.js';

// Virtual devices as xm accepts them: a device number (0x01, 0x301, 769) or a Linux-style name
// (hda1, sdb, xvda2), optionally "ioemu:" for hvm guests and ":cdrom"/":disk" after it.
const VDEV = /^(ioemu:)?(0x[0-9a-f]+|[0-9]+|(hd|sd|xvd)[a-z]{1,3}[0-9]{0,3})(:(cdrom|disk))?$/i;
const TAP_DRIVERS = new Set(['aio', 'sync', 'qcow', 'qcow2', 'vmdk', 'ram', 'vhd']);
const EXAMPLE = "e.g. 'file:/local/xen/x/wd0.img,0x01,w' or 'phy:/dev/wd2d,0x02,w'";

function fail(raw: string, problem: string, hint?: string): never {
  throw new UserError([{ message: `bad disk '${raw}': ${problem}`, hint: hint ?? EXAMPLE }]);
}

/** Parse one disk spec; throws UserError (without a position, the caller adds it) when malformed. */
export function parseDisk(raw: string): DiskSpec {
  const parts = raw.split(',');
  if (parts.length !== 3) fail(raw, `expected 3 comma-separated fields (backend:target, virtual device, mode), found ${parts.length}`);
  const [where, vdevRaw, modeRaw] = parts.map((p) => p.trim());
  const colon = where.indexOf(':');
  if (colon < 0) fail(raw, `'${where}' has no backend prefix`, "prefix the target with file:, phy: or tap:aio:");
  const prefix = where.slice(0, colon);
  let rest = where.slice(colon + 1);
  let kind: DiskSpec['kind'];
  if (prefix === 'file' || prefix === 'phy') {
    kind = prefix;
  } else if (prefix === 'tap') {
    kind = 'tap';
    const c2 = rest.indexOf(':');
    const driver = c2 < 0 ? '' : rest.slice(0, c2);
    if (!TAP_DRIVERS.has(driver)) fail(raw, `tap: needs a driver (${[...TAP_DRIVERS].join(', ')}), as in tap:aio:/x.img`);
    rest = rest.slice(c2 + 1);
  } else {
    fail(raw, `unknown backend '${prefix}:'`, 'expected file:, phy: or tap:<driver>:');
  }
  if (rest === '') fail(raw, `no ${kind === 'phy' ? 'device' : 'image path'} after '${where}'`);
  let target = rest;
  if (kind === 'phy') {
    // xm reads "phy:sdb" as /dev/sdb; normalised so it compares with the host's device list.
    if (!target.startsWith('/')) target = `/dev/${target}`;
  } else if (!target.startsWith('/')) {
    fail(raw, `image path '${target}' is not absolute`, 'disk images are paths on the host, e.g. file:/local/xen/x/wd0.img');
  }
  if (vdevRaw === '') fail(raw, 'the virtual device (second field) is empty', 'e.g. 0x01, 0x301, hda1 or xvda');
  if (!VDEV.test(vdevRaw)) fail(raw, `'${vdevRaw}' is not a virtual device`, 'expected a device number (0x01, 0x301) or a name such as hda1, sdb or xvda');
  try {
    vdevToTarget(vdevRaw);
  } catch (e) {
    fail(raw, (e as Error).message, 'e.g. xvda, xvdb2, hda1, sdb or 0x301');
  }
  let mode: DiskSpec['mode'];
  if (modeRaw === 'r') mode = 'r';
  else if (modeRaw === 'w' || modeRaw === 'w!') mode = 'w';
  else fail(raw, `mode '${modeRaw}' is neither r nor w`, 'use r (read-only) or w (read-write; w! to share)');
  return { raw, kind, target, vdev: vdevRaw, mode };
}
