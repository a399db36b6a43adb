// A PV domU's boot files (the kit's kernel, a domU initramfs) and its xl config. The config is
// what `cellctl export --format xl` writes for the guest (renderXl), with what a booting guest
// needs on top: the kernel that exists here instead of the catalog's image path, the initramfs
// (ramdisk =), the kit's boot parameters (extra =) and the control vif its agent is reached on.
import { renderXl } from '../../export/xl.js';
import { xlEscape } from '../../export/template.js';
import type { GuestAttrs } from '../../plan/resources.js';
import { guestBootParams } from '../vm/guest-init.js';
import { guestInitramfs, type Initramfs } from '../vm/initramfs.js';
import { guestKernel, type GuestKernel, type KernelChoice } from '../vm/kernel.js';
import { CONTROL_BRIDGE } from './dom0-setup.js';
import { controlMac } from './domu-agent.js';
import { DOMU_MODULES, domuScripts } from './domu-init.js';

export interface DomuBoot {
  kernel: GuestKernel; // kernel.boot: the ELF vmlinux (Xen's domain builder loads it as is: no decompression in dom0)
  initramfs: Initramfs;
}

/** The domU kernel (by default the one the kit boots everywhere) and the domU initramfs for it, cached. */
export async function prepareDomuBoot(choice: KernelChoice = {}): Promise<DomuBoot> {
  const kernel = await guestKernel(choice);
  if (!kernel.modulesDir) throw new Error(`kernel ${kernel.release}: no modules directory; the domU initramfs needs xen-netfront, xen-blkfront, ext4`);
  const initramfs = await guestInitramfs(kernel, { modules: DOMU_MODULES, scripts: domuScripts(), name: 'domu.cpio.gz' });
  return { kernel, initramfs };
}

export interface DomuOptions {
  gateway?: string; // the guest's default route
  prefix?: number | ((ip: string) => number); // the cell vifs' prefix length, or how to find it from the address (default 24)
  extra?: string; // more kernel parameters
}

/**
 * The xl config of guest `name`: renderXl's, with kernel = the kit's kernel, the control vif
 * appended to vif = [...], and ramdisk/extra lines. Memory, vcpus, the cell's vifs and disks,
 * root= are the guest's own, untouched.
 */
export function domuConfig(name: string, g: GuestAttrs, boot: DomuBoot, o: DomuOptions = {}): string {
  const ctl = controlMac(name);
  const base = renderXl(name, {
    ...g,
    type: 'pv',
    kernel_image: boot.kernel.boot,
    vifs: [...g.vifs, { mac: ctl, bridge: CONTROL_BRIDGE }],
  });
  const params = guestBootParams({
    hostname: name,
    nics: g.vifs.map((v) => ({ mac: v.mac, ...(v.ip ? { ip: v.ip, prefix: typeof o.prefix === 'function' ? o.prefix(v.ip) : (o.prefix ?? 24) } : {}) })),
    gateway: o.gateway,
  });
  const extra = ['console=hvc0', ...params, `cellctl.ctl=${ctl}`, o.extra ?? ''].filter(Boolean).join(' ');
  return `${base.trimEnd()}\nramdisk = "${xlEscape(boot.initramfs.path)}"\nextra = "${xlEscape(extra)}"\n`;
}
