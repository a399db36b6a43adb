// What a Xen release can host: dom0 OS, paravirtualised guest OS and kernel interface, hvm.
import { guestKernel } from '../../kmod/resolve.js';
import type { CodeDoc, Finding } from '../types.js';
import { compareVersions } from '../../catalog/versions.js';
import { kernelXen, osFamilyNames, placedGuests, type Rule, xenInterfaceFits } from './util.js';
import { addr } from '../../plan/addrs.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: 'dom0-os-unsupported', severity: 'error', title: "the host's OS cannot run dom0 under its Xen release",
    explanation: "Each Xen release boots only the dom0 kernels ported to it: Xen 3 hosts run Linux 2.6 or NetBSD 4.0_BETA/-current, Xen 2 also Linux 2.4 and NetBSD 2.0. A host whose OS is not among them never gets a control domain, so nothing on it can start.",
    fix: "Install a dom0 OS the host's Xen release supports, or run a Xen release that supports the OS (`cellctl catalog xen` lists both).",
  },
  {
    code: 'guest-os-unsupported', severity: 'error', title: 'the guest OS cannot run paravirtualised on the host\'s Xen',
    explanation: "A paravirtualised (pv) guest runs a kernel ported to the Xen interface. Xen 3 runs Linux 2.6, NetBSD 3.1/4.0 and Solaris 10 as pv guests; Xen 2 also Linux 2.4, FreeBSD 5, NetBSD 2.0 and Plan 9. Other OSes have no pv kernel for that release.",
    fix: 'Put the guest on a host whose Xen runs that OS, pick a guest OS the release supports, or run it unmodified (type: hvm) on a CPU with vmx or svm.',
  },
  {
    code: 'hvm-needs-vmx-svm', severity: 'error', title: 'an hvm guest needs Intel VT-x or AMD-V and Xen 3',
    explanation: "Unmodified (hvm) guests need hardware virtualisation: Intel VT-x (vmx) or AMD-V (svm, 'Pacifica') on the host's CPU, enabled in the BIOS, and a Xen release with hvm support (3.0 and later). xm create answers 'HVM guest support is unavailable' otherwise.",
    fix: "Add vmx or svm to the host's cpu_features if its CPU has them, run Xen 3 on it, or run the guest paravirtualised (type: pv) with a domU kernel.",
  },
  {
    code: 'kernel-xen-mismatch', severity: 'error', title: 'the guest kernel was built for another Xen interface',
    explanation: "A pv kernel is built against one Xen interface version. The domain builder refuses a kernel built for another major version ('xc_dom: Will only load images built for Xen v3.0'), and a kernel built for a newer 3.0.x interface than the host runs calls hypercalls the hypervisor does not have.",
    fix: "Use a domU kernel built for the host's Xen release or an older one of the same major version, or upgrade the host's Xen (`cellctl catalog kernels` shows what each kernel was built for).",
  },
  {
    code: 'kernel-os-mismatch', severity: 'error', title: "the guest kernel is not one of the guest OS's kernels",
    explanation: 'A Linux kernel does not boot a NetBSD userland, and a kernel built for one release of an OS is not the kernel of another. The catalog records which OSes each kernel is meant for.',
    fix: "Use a kernel meant for the guest's OS (the finding lists them), or change the guest's os to the one the kernel belongs to.",
  },
  {
    code: "kernel-cmdline-too-long", severity: "error", title: "the guest's kernel command line is longer than its kernel keeps",
    explanation: "Xen hands the domain builder's command line (root=..., extra=...) to the kernel, which copies at most COMMAND_LINE_SIZE - 1 bytes (255 on i386 Linux 2.6/2.4): the rest is cut silently, and a cut root= boots the wrong device or none.",
    fix: "Shorten root:/extra so the command line fits (the finding says how many bytes the kernel keeps).",
  },
];

export const dom0OsUnsupported: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  for (const h of Object.values(spec.hosts)) {
    const xen = catalog.xen.get(h.xen);
    const os = catalog.os.get(h.os);
    if (!xen || !os || xen.dom0_os.includes(os.family)) continue;
    const others = [...catalog.xen.values()].filter((x) => x.dom0_os.includes(os.family)).map((x) => x.id);
    out.push({
      code: 'dom0-os-unsupported',
      severity: 'error',
      subject: addr.host(h.name),
      message: `${h.name}: ${os.name} cannot run dom0 under Xen ${xen.id}; Xen ${xen.id} hosts run ${osFamilyNames(xen.dom0_os, catalog)}`,
      fix: others.length
        ? `run ${h.name} on Xen ${others.join(' or ')}, or install a dom0 OS Xen ${xen.id} supports`
        : `install a dom0 OS Xen ${xen.id} supports (${xen.dom0_os.join(', ')})`,
      pos: spec.posOf(['hosts', h.name, 'os']),
    });
  }
  return out;
};

export const guestOsUnsupported: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  for (const { g, h, xen, os } of placedGuests(spec, catalog)) {
    if (g.type !== 'pv' || xen.domu_os.includes(os.family)) continue;
    const others = [...catalog.xen.values()].filter((x) => x.domu_os.includes(os.family)).map((x) => x.id);
    out.push({
      code: 'guest-os-unsupported',
      severity: 'error',
      subject: addr.guest(g.name),
      message: `${g.name}: Xen ${xen.id} on ${h.name} cannot run ${os.name} as a paravirtualised domU; its domU OSes are ${osFamilyNames(xen.domu_os, catalog)}`,
      fix: others.length
        ? `put ${g.name} on a host running Xen ${others.join(' or ')}, or pick a guest OS Xen ${xen.id} supports`
        : `pick a guest OS Xen ${xen.id} supports, or run it unmodified with type: hvm on a vmx/svm host`,
      pos: spec.posOf(['guests', g.name, 'os']),
    });
  }
  return out;
};

export const hvmNeedsVmxSvm: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  for (const { g, h, xen } of placedGuests(spec, catalog)) {
    if (g.type !== 'hvm') continue;
    const cpuOk = h.cpu_features.includes('vmx') || h.cpu_features.includes('svm');
    if (cpuOk && xen.hvm) continue;
    const hvmReleases = [...catalog.xen.values()].filter((x) => x.hvm).map((x) => x.id);
    out.push({
      code: 'hvm-needs-vmx-svm',
      severity: 'error',
      subject: addr.guest(g.name),
      message: !xen.hvm
        ? `${g.name}: Xen ${xen.id} on ${h.name} cannot run unmodified (hvm) guests`
        : `${g.name}: Error: HVM guest support is unavailable: is VT/AMD-V supported by your CPU and enabled in your BIOS? (${h.name} cpu_features: ${h.cpu_features.join(', ') || 'none'})`,
      fix: [
        !xen.hvm ? `run Xen ${hvmReleases.join('/')} on ${h.name}` : '',
        !cpuOk ? `use a host whose CPU has Intel VT-x (vmx) or AMD-V (svm) and list it in cpu_features` : '',
      ].filter(Boolean).join(' and ') + `, or run ${g.name} paravirtualised (type: pv) with a Xen domU kernel`,
      pos: spec.posOf(['guests', g.name, 'type']),
    });
  }
  return out;
};

export const kernelXenMismatch: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  for (const { g, h, xen, os } of placedGuests(spec, catalog)) {
    if (g.type !== 'pv') continue;
    const k = guestKernel(g, catalog);
    const built = kernelXen(k, catalog);
    if (!built || xenInterfaceFits(built, xen)) continue;
    const message =
      built.major !== xen.major
        ? `${g.name}: xc_dom: Will only load images built for Xen v${xen.major}.0 (kernel ${k.image} was built for Xen ${built.id}, ${h.name} runs Xen ${xen.id})`
        : `${g.name}: kernel ${k.image} was built for the Xen ${built.id} interface, newer than Xen ${xen.id} on ${h.name}`;
    const fits = [...catalog.kernels.values()]
      .filter((c) => c.os.includes(os.id) && catalog.xen.has(c.xen) && xenInterfaceFits(catalog.xen.get(c.xen)!, xen))
      .sort((a, b) => compareVersions(b.xen, a.xen))
      .map((c) => c.id);
    out.push({
      code: 'kernel-xen-mismatch',
      severity: 'error',
      subject: addr.guest(g.name),
      message,
      fix: fits.length
        ? `use a ${os.name} domU kernel built for Xen ${xen.major === 2 ? '2' : `<= ${xen.id}`} (${fits.join(', ')}), or upgrade ${h.name} to Xen ${built.id}`
        : `rebuild the kernel for Xen ${xen.id}, or run ${h.name} on Xen ${built.id}`,
      pos: spec.posOf(['guests', g.name, 'kernel']),
    });
  }
  return out;
};

export const kernelOsMismatch: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  for (const { g, os } of placedGuests(spec, catalog)) {
    if (g.type !== 'pv') continue;
    const k = guestKernel(g, catalog);
    // Kernels read from artifacts may not name OSes; then only their kind can be checked.
    const fits = k.kernel_kind === os.kernel_kind && (k.os.length === 0 || k.os.includes(os.id));
    if (fits) continue;
    const meant = [...catalog.kernels.values()].filter((c) => c.os.includes(os.id)).map((c) => c.id);
    out.push({
      code: 'kernel-os-mismatch',
      severity: 'error',
      subject: addr.guest(g.name),
      message:
        k.kernel_kind !== os.kernel_kind
          ? `${g.name}: kernel ${k.id} is a ${k.kernel_kind} kernel but the guest runs ${os.name}`
          : `${g.name}: kernel ${k.id} is built for ${k.os.map((o) => catalog.os.get(o)?.name ?? o).join(', ')}, not ${os.name}`,
      fix: meant.length ? `use a kernel meant for ${os.name}: ${meant.join(', ')}` : `use a domU kernel built for ${os.name}`,
      pos: spec.posOf(['guests', g.name, 'kernel']),
    });
  }
  return out;
};

/**
 * xm passes root=<root> on the kernel command line; a kernel keeps only COMMAND_LINE_SIZE bytes of it
 * (catalog data), so a longer one is cut and the kernel boots with a root= nobody wrote.
 */
export const kernelCmdlineTooLong: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  // Most command lines are far shorter than the smallest limit: no kernel to look up for them.
  const smallest = Math.min(...[...catalog.kernels.values()].map((k) => k.command_line?.size ?? Infinity));
  for (const { g } of placedGuests(spec, catalog)) {
    if (g.type !== 'pv' || g.root === undefined || Buffer.byteLength(`root=${g.root}`) < smallest) continue;
    const k = guestKernel(g, catalog);
    const size = k.command_line?.size;
    const cmdline = `root=${g.root}`;
    if (size === undefined || Buffer.byteLength(cmdline) < size) continue;
    out.push({
      code: 'kernel-cmdline-too-long',
      severity: 'error',
      subject: addr.guest(g.name),
      message: `${g.name}: the kernel command line '${cmdline.slice(0, 40)}...' is ${Buffer.byteLength(cmdline)} bytes; kernel ${k.id} keeps ${size - 1} (COMMAND_LINE_SIZE ${size}) and would cut the rest`,
      fix: `shorten root: to at most ${size - 1 - 'root='.length} bytes`,
      pos: spec.posOf(['guests', g.name, 'root']),
    });
  }
  return out;
};
