// libvirt domain XML for one guest, from its plan attrs (the Xen driver's dialect:
// <domain type='xen'>, pv kernel boot, bridge interfaces, file/block disks).
import type { DiskSpec } from '../config/types.js';
import type { GuestAttrs, HostAttrs } from '../plan/resources.js';
import { xmlEscape } from '../render/xml.js';
import { renderTemplate } from './template.js';
import { vdevToTarget } from '../config/vdev.js';

/** Namespace of cellctl's <metadata> element; the libvirt driver reads host and cell back from it. */
export const CELLCTL_XMLNS = 'https://cellctl.dev/xmlns/libvirt/1';

export interface LibvirtMeta {
  cell?: string; // recorded in <metadata>, so status can tell this cell's domains from others'
  uuid?: string; // of an existing domain: libvirt redefines a domain only under its own uuid
}

// tap:<driver>:<path> -> libvirt storage format (aio, sync and ram read raw images).
const TAP_FORMATS: Record<string, string> = { aio: 'raw', sync: 'raw', ram: 'raw', qcow: 'qcow', qcow2: 'qcow2', vmdk: 'vmdk', vhd: 'vpc' };

interface DiskView {
  type: 'file' | 'block'; device: 'disk' | 'cdrom'; driver: string; format: string | null;
  file: string | null; dev: string | null; target: string; bus: string; readonly: boolean;
}

function diskView(d: DiskSpec, pv: boolean): DiskView {
  const t = vdevToTarget(d.vdev);
  // libvirt's Xen driver puts every pv disk on the xen bus whatever its name; hvm disks are
  // emulated on the bus their name implies.
  const bus = pv || t.prefix === 'xvd' ? 'xen' : t.prefix === 'hd' ? 'ide' : 'scsi';
  const base = { device: t.cdrom ? 'cdrom' as const : 'disk' as const, target: t.dev, bus, readonly: d.mode === 'r' };
  if (d.kind === 'phy') return { ...base, type: 'block', driver: 'phy', format: null, file: null, dev: d.target };
  if (d.kind === 'tap') {
    // The spec keeps only the path in `target`; the tap driver is in the raw text.
    const driver = /^tap:([a-z0-9]+):/.exec(d.raw)?.[1] ?? 'aio';
    return { ...base, type: 'file', driver: 'tap', format: TAP_FORMATS[driver] ?? 'raw', file: d.target, dev: null };
  }
  return { ...base, type: 'file', driver: 'file', format: null, file: d.target, dev: null };
}

/**
 * The libvirt domain XML for guest `name` on a host with attrs `host`. Memory is in KiB
 * (<memory> = maxmem, <currentMemory> = memory). Every value is XML-escaped.
 * Throws when two disks overlap: the same target, or a whole disk and one of its partitions (hda and 0x301).
 */
export function renderLibvirt(name: string, g: GuestAttrs, host: HostAttrs, meta: LibvirtMeta = {}): string {
  const pv = g.type === 'pv';
  const disks = g.disks.map((d) => diskView(d, pv));
  const targets = g.disks.map((d) => vdevToTarget(d.vdev));
  targets.forEach((t, i) => {
    const j = targets.findIndex((o, k) => k < i && o.disk === t.disk && (o.partition === t.partition || !o.partition || !t.partition));
    if (j >= 0) throw new Error(`guest ${name}: disks '${g.disks[j].raw}' and '${g.disks[i].raw}' both map to libvirt disk ${t.disk} (${targets[j].dev}, ${t.dev})`);
  });
  const view = {
    ns: CELLCTL_XMLNS,
    name,
    uuid: meta.uuid ?? null,
    host: g.host,
    cell: meta.cell ?? null,
    os: g.os,
    kernel: g.kernel,
    description:
      `cellctl guest ${name}${meta.cell ? ` of cell ${meta.cell}` : ''} on host ${g.host}` +
      ` (Xen ${host.xen}, dom0 ${host.os}); ${g.os}, kernel ${g.kernel}`,
    memoryKiB: g.memory * 1024,
    maxmemKiB: Math.max(g.maxmem, g.memory) * 1024,
    vcpus: g.vcpus,
    pv,
    hvm: !pv,
    kernel_image: g.kernel_image,
    cmdline: g.root ? `root=${g.root}` : null, // what xm made of root = "..."
    pae: host.cpu_features.includes('pae'),
    disks,
    vifs: g.vifs.map((v) => ({ mac: v.mac, bridge: v.bridge })),
  };
  return renderTemplate('libvirt-domain.xml.mustache', view, (v) => xmlEscape(v));
}
