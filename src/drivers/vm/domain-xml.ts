// A guest description as a libvirt domain (templates/libvirt-guest.xml.mustache): QEMU under
// libvirt, TCG (type='qemu') or KVM as the kit's probe decided, direct kernel boot of the PVH
// vmlinux, ACPI (without it the guest's poweroff only halts and the domain stays "running"), the host
// root over 9p read-only, the serial console appended to a file, the agent's virtio-serial port on a
// unix socket libvirt listens on. Pure: no libvirt is called here.
import { renderTemplate } from '../../export/template.js';
import { xmlEscape } from '../../render/xml.js';
import type { AccelChoice } from './accel.js';
import { AGENT_PORT } from './guest-agent.js';
import { virtioDev, type GuestDescription } from './guest-description.js';

export { virtioDev };
import { HOSTFS_TAG } from './guest-init.js';

export interface DomainOptions {
  name?: string; // the domain's name (default: the guest's)
  uuid?: string; // of an existing domain: libvirt redefines a domain only under its own uuid
  description?: string;
  /** One element of the caller's own in the domain's <metadata> (read back to tell its domains from others'). */
  meta?: { ns: string; attrs: Record<string, string> };
}

/** libvirt's name for the kit's -cpu choice: QEMU's "max" and "host" have modes of their own. */
function cpuView(cpu: string): { cpuMode?: string; cpuModel?: string } {
  if (cpu === 'max') return { cpuMode: 'maximum' };
  if (cpu === 'host') return { cpuMode: 'host-passthrough' };
  return { cpuModel: cpu };
}

export function domainXml(d: GuestDescription, accel: AccelChoice, o: DomainOptions = {}): string {
  if (d.hypervisor) throw new Error(`guest ${d.name}: a multiboot hypervisor (${d.hypervisor.image}) is booted by QEMU's -kernel only, not as a libvirt domain`);
  const attrs = Object.entries(o.meta?.attrs ?? {});
  for (const [k] of attrs) if (!/^[a-z][\w-]*$/.test(k)) throw new Error(`bad metadata attribute name ${JSON.stringify(k)}`);
  const view = {
    type: accel.accel === 'kvm' ? 'kvm' : 'qemu',
    name: o.name ?? d.name,
    uuid: o.uuid ?? null,
    description: o.description ?? null,
    meta: o.meta ? { ns: o.meta.ns, attrs: attrs.map(([k, v]) => ({ k, v })) } : null,
    memoryMiB: d.memoryMiB,
    cpus: d.cpus,
    kernel: d.kernel,
    initrd: d.initrd,
    cmdline: d.cmdline,
    ...cpuView(d.cpu ?? accel.cpu),
    hostRoot: d.hostRoot === null ? null : { dir: d.hostRoot, tag: HOSTFS_TAG },
    shares: d.shares.map((sh) => ({ path: sh.path, tag: sh.tag, readonly: sh.readonly === true })),
    disks: d.disks.map((disk, i) => ({ file: disk.file, dev: virtioDev(i), readonly: disk.readonly === true })),
    vifs: d.vifs.map((v) => ({ mac: v.mac, tap: v.tap, bridge: v.bridge ?? null })),
    console: d.console,
    agentSocket: d.agentSocket,
    agentPort: AGENT_PORT,
  };
  return renderTemplate('libvirt-guest.xml.mustache', view, (v) => xmlEscape(v));
}

/**
 * A disk to hot-plug (virsh attach-device --live): its serial names it in the guest
 * (/sys/block/vdX/serial), its alias ("ua-" + serial: libvirt's prefix for user aliases) names it to libvirt.
 */
export function hotplugDiskXml(disk: { file: string; dev: string; serial: string }): string {
  if (!/^[A-Za-z0-9_.-]{1,20}$/.test(disk.serial)) throw new Error(`bad disk serial ${JSON.stringify(disk.serial)}`);
  return renderTemplate('libvirt-disk.xml.mustache', { ...disk, alias: diskAlias(disk.serial) }, (v) => xmlEscape(v));
}

export function diskAlias(serial: string): string {
  return `ua-${serial}`;
}
