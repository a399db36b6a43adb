// Driver registry. Real drivers load lazily so `cellctl plan` stays fast.
import { UserError } from '../diagnostics.js';
import type { DriverOptions } from './capabilities.js';
import { DRIVER_NAMES, type Driver, type DriverContext, type DriverName } from './driver.js';

export { capabilitiesOf, planNotes, type DriverOptions } from './capabilities.js';
export { DRIVER_NAMES, type DriverName } from './driver.js';

export function isDriverName(s: string): s is DriverName {
  return (DRIVER_NAMES as readonly string[]).includes(s);
}

export async function openDriver(name: DriverName, ctx: DriverContext, opts: DriverOptions = {}): Promise<Driver> {
  switch (name) {
    case 'sim':
      return (await import('./sim/index.js')).createSimDriver(ctx);
    case 'netns': {
      const netns = await import('./netns/index.js');
      const pre = netns.netnsPrerequisites();
      if (!pre.ok) throw new UserError(`--driver netns: ${pre.reason}`);
      return netns.createNetnsDriver(ctx);
    }
    case 'libvirt':
      return (await import('./libvirt/index.js')).createLibvirtDriver(ctx, opts);
    case 'qemu': {
      const qemu = await import('./qemu/index.js');
      const pre = qemu.qemuPrerequisites();
      if (!pre.ok) throw new UserError(`--driver qemu: ${pre.reason}`);
      return qemu.createQemuDriver(ctx);
    }
    case 'xen': {
      const xen = await import('./xen/driver/index.js');
      const pre = xen.xenPrerequisites(ctx.catalog);
      if (!pre.ok) throw new UserError(`--driver xen: ${pre.reason}`);
      return xen.createXenDriver(ctx);
    }
  }
}
