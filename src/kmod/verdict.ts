// Can this module load into this kernel? The same check serves catalog entries and real .ko/Module.symvers.
import type { KernelEntry, LicenceTable, ModuleEntry } from '../catalog/types.js';
import type { Finding } from '../compat/types.js';

export function isGplCompatible(licence: string | undefined, table: LicenceTable): boolean {
  return licence !== undefined && table.gpl_compatible.includes(licence);
}

/**
 * The loader's same_magic() (kernel/module/version.c): when the module carries __versions, the first
 * word of vermagic (the kernel release) is not compared; the CRCs say more than the release does.
 */
export function sameMagic(module: string, kernel: string, hasCrcs: boolean): boolean {
  const tail = (s: string) => (hasCrcs ? s.slice(s.indexOf(' ') < 0 ? s.length : s.indexOf(' ')) : s);
  return tail(module.trim()) === tail(kernel.trim());
}

/** Findings for loading `mod` into `kernel`, worded like the kernel's own log ("openafs: Unknown symbol x"). */
export function checkModuleLoad(
  mod: ModuleEntry,
  kernel: KernelEntry,
  licences: LicenceTable,
  subject: string,
): Finding[] {
  const findings: Finding[] = [];
  if (mod.kernel_kind === 'linux' && mod.license === undefined) {
    // modpost (scripts/mod/modpost.c, read_symbols) refuses to make a .ko of it; a hand-made one
    // would load as 'unspecified', which is not GPL-compatible (below).
    findings.push({
      code: 'module-licence-missing',
      severity: 'error',
      subject,
      message: `ERROR: modpost: missing MODULE_LICENSE() in ${mod.name}.o`,
      fix: `add MODULE_LICENSE("GPL") (or the module's real licence) to ${mod.name}'s source and rebuild`,
    });
  }
  const gpl = isGplCompatible(mod.license, licences);
  const gplOnly: string[] = [];
  const missing: string[] = [];
  for (const sym of mod.imports) {
    // Own properties only: a symbol named "constructor" must not find Object.prototype.
    const exp = Object.hasOwn(kernel.exports, sym) ? kernel.exports[sym] : undefined;
    if (exp === undefined) missing.push(sym);
    else if (!gpl && exp.startsWith('EXPORT_SYMBOL_GPL')) gplOnly.push(sym);
  }
  if (gplOnly.length > 0) {
    findings.push({
      code: 'module-gpl-only-symbol',
      severity: 'error',
      subject,
      message:
        `${mod.name}: module license '${mod.license ?? 'unspecified'}' taints kernel; ` +
        gplOnly.map((s) => `${mod.name}: Unknown symbol ${s}`).join('; ') +
        ` (kernel ${kernel.release} exports ${gplOnly.join(', ')} EXPORT_SYMBOL_GPL only)`,
      // The Xen hint is about xenified 2.6.16 kernels (seed); a real kernel file has no Xen release.
      fix: `use a kernel that exports ${gplOnly.join(', ')} with EXPORT_SYMBOL${kernel.xen ? ' (for Xen, a kernel from Xen >= 3.0.3)' : ''}, or a GPL-compatible module`,
    });
  }
  if (missing.length > 0) {
    findings.push({
      code: 'module-unknown-symbol',
      severity: 'error',
      subject,
      message: missing.map((s) => `${mod.name}: Unknown symbol ${s}`).join('; ') + ` (not exported by kernel ${kernel.release})`,
      fix: `build ${mod.name} against kernel ${kernel.release}, or use a kernel that exports ${missing.join(', ')}`,
    });
  }
  const present = (mod.options_absent ?? []).filter((o) => kernel.options.includes(o));
  const absent = (mod.options_present ?? []).filter((o) => !kernel.options.includes(o));
  if (present.length > 0 || absent.length > 0) {
    const parts = [
      present.length ? `built with ${present.join(',')}` : '',
      absent.length ? `built without ${absent.join(',')}` : '',
    ].filter(Boolean);
    findings.push({
      code: 'module-kernel-options',
      severity: 'error',
      subject,
      message: `${mod.name}: kernel ${kernel.id} is ${parts.join(' and ')}, but module ${mod.id} is not built that way`,
      fix: `rebuild the kernel ${present.length ? `without options ${present.join(',')}` : `with options ${absent.join(',')}`} (or use a matching kernel such as a -nodiag build)`,
    });
  }
  if (mod.vermagic && kernel.vermagic && !sameMagic(mod.vermagic, kernel.vermagic, mod.modversions === true)) {
    findings.push({
      code: 'module-vermagic-mismatch',
      severity: 'error',
      subject,
      message: `${mod.name}: version magic '${mod.vermagic}' should be '${kernel.vermagic}'`, // as the loader prints it
      fix: `rebuild ${mod.name} against the guest's kernel ${kernel.release}`,
    });
  }
  return findings;
}
