// What `xm create -c` and `xm console` show: xm's own lines, then the guest kernel's boot messages
// rendered from the catalog's transcript template with figures derived from the domain's memory.
import type { KernelEntry } from '../../catalog/types.js';
import type { SimDomain } from './world.js';

// One simulated CPU for every host. The seed shows it twice: NetBSD prints "2999.99 MHz",
// Linux "Xen reported: 2999.994 MHz processor." (the kernel entry says how many decimals).
export const CPU_MHZ = 2999.994;
const MIB = 1024 * 1024;

/** Values for the template placeholders (catalog BOOT_PLACEHOLDERS). */
export function bootValues(d: SimDomain, kernel: KernelEntry): Record<string, string> {
  const bm = kernel.boot_memory ?? {};
  const root = d.root ?? '';
  return {
    name: d.name,
    memory: String(d.memory),
    total_mb: String(d.memory + (bm.total_delta ?? 0)),
    avail_mb: String(d.memory + (bm.avail_delta ?? 0)),
    // Linux's e820 line: end of the guest's pseudo-physical RAM, 16 hex digits.
    mem_end_hex: (d.memory * MIB).toString(16).padStart(16, '0'),
    lowmem_mb: String(d.memory + (bm.lowmem_delta ?? 0)),
    root,
    cmdline: root ? `root=${root}` : '',
    mhz: CPU_MHZ.toFixed(kernel.boot_mhz_decimals ?? 2),
    cpus: String(d.vcpus),
    host: d.host,
  };
}

export function fill(template: string, values: Record<string, string>): string {
  // Unknown placeholders are left as written: the catalog loader already rejects them.
  return template.replace(/\{([a-z_]+)\}/g, (m, key: string) => (Object.hasOwn(values, key) ? values[key]! : m));
}

/** Kernels read from real artifacts have no transcript: a short banner with what is known. */
function genericBoot(kernel: KernelEntry): string[] {
  if (kernel.kernel_kind === 'linux') {
    return [
      `Linux version ${kernel.release || 'unknown'} #1 SMP`,
      'BIOS-provided physical RAM map:',
      'Xen: 0000000000000000 - {mem_end_hex} (usable)',
      'Kernel command line: {cmdline}',
      'Xen reported: {mhz} MHz processor.',
    ];
  }
  return [`${kernel.kernel_kind} ${kernel.release} booting on Xen, {memory} MB`];
}

/** The console transcript of `xm create -c NAME`, as in the seed. */
export function bootTranscript(d: SimDomain, kernel: KernelEntry): string[] {
  // Without a transcript, print the clock the way Linux does (three decimals).
  const k = kernel.boot.length > 0 ? kernel : { ...kernel, boot_mhz_decimals: kernel.boot_mhz_decimals ?? 3 };
  const values = bootValues(d, k);
  const template = kernel.boot.length > 0 ? kernel.boot : genericBoot(k);
  return [`Using config file "${d.name}".`, `Started domain ${d.name}`, ...template.map((l) => fill(l, values))];
}

/** What the guest prints when it halts after `xm shutdown`. */
export function haltLines(d: SimDomain): string[] {
  if (d.kernel_kind === 'netbsd') return ['syncing disks... done', 'The operating system has halted.'];
  if (d.kernel_kind === 'linux') return ['System halted.'];
  return ['halted'];
}

/** A crash injected by the sim (a test asks for it); worded so no one mistakes it for a real oops. */
export function panicLines(d: SimDomain, why: string): string[] {
  if (d.kernel_kind === 'netbsd') return [`panic: ${why}`];
  if (d.kernel_kind === 'linux') return [`Kernel panic - not syncing: ${why}`];
  return [`panic: ${why}`];
}

/** Toolstack events shown between kernel output, in brackets like a console logger would mark them. */
export function note(text: string): string {
  return `[${text}]`;
}
