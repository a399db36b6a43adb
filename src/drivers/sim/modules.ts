// Kernel modules a guest loads at boot. Whether one loads is decided by checkModuleLoad (the same
// rule compat uses); what the guest logs follows the real loaders: Linux 2.6's load_module(), which
// checks vermagic, then prints the licence taint (once per boot), then one "Unknown symbol" per
// unresolved import, and NetBSD's modload, which links the LKM against /netbsd.
import type { Catalog, KernelEntry, ModuleEntry } from '../../catalog/types.js';
import { checkModuleLoad, isGplCompatible } from '../../kmod/verdict.js';
import type { Finding } from '../../compat/types.js';
import type { Attrs, ModuleAttrs } from '../../plan/resources.js';
import { isModulePath } from '../../config/refs.js';
import { resolveKernel, resolveModule } from './kernels.js';
import { advance, domainOf, isUp, klog, own, requireUp, SECONDS, type SimDomain, type World } from './world.js';
import { addr } from '../../plan/addrs.js';

function loaderName(kind: SimDomain['kernel_kind']): string {
  return kind === 'linux' ? 'modprobe' : 'modload';
}

function modulePath(ref: string, mod: ModuleEntry, kernel: KernelEntry): string {
  if (isModulePath(ref)) return ref;
  if (kernel.kernel_kind === 'linux') return `/lib/modules/${kernel.release}/fs/${mod.name}.ko`;
  if (kernel.kernel_kind === 'netbsd') return `/usr/lkm/${mod.name}_mod.o`;
  return `/kernel/fs/${mod.name}`;
}

function hint(findings: Finding[]): string {
  const fix = findings.find((f) => f.fix)?.fix;
  return fix ? `\nfix: ${fix}` : '';
}

/** Linux: the kernel log lines load_module() prints, and modprobe's verdict. */
function linuxLoad(w: World, d: SimDomain, mod: ModuleEntry, kernel: KernelEntry, catalog: Catalog, path: string, findings: Finding[]): string | null {
  const lines: string[] = [];
  const codes = new Set(findings.map((f) => f.code));
  const fatal = (why: string) => `FATAL: Error inserting ${mod.name} (${path}): ${why}`;
  if (codes.has('module-vermagic-mismatch')) {
    lines.push(klog(w, d, `${mod.name}: version magic '${mod.vermagic}' should be '${kernel.vermagic}'`));
    return [fatal('Invalid module format'), ...lines].join('\n');
  }
  const gpl = isGplCompatible(mod.license, catalog.licences);
  if (!gpl && !d.tainted) {
    lines.push(klog(w, d, `${mod.name}: module license '${mod.license ?? 'unspecified'}' taints kernel.`));
    d.tainted = true; // the taint sticks even if the load then fails
  }
  // A non-GPL module can't see EXPORT_SYMBOL_GPL symbols: the kernel reports them as unknown, like missing ones.
  for (const sym of mod.imports) {
    const exp = Object.hasOwn(kernel.exports, sym) ? kernel.exports[sym] : undefined;
    if (exp === undefined || (!gpl && exp.startsWith('EXPORT_SYMBOL_GPL'))) lines.push(klog(w, d, `${mod.name}: Unknown symbol ${sym}`));
  }
  if (codes.has('module-gpl-only-symbol') || codes.has('module-unknown-symbol')) {
    return [fatal('Unknown symbol in module, or unknown parameter (see dmesg)'), ...lines].join('\n');
  }
  if (findings.length > 0) return [fatal('Invalid module format'), ...lines, ...findings.map((f) => f.message)].join('\n');
  return null;
}

/** NetBSD/Solaris: modload links the object against the running kernel's symbol table. */
function bsdLoad(mod: ModuleEntry, kernel: KernelEntry, path: string, findings: Finding[]): string | null {
  const codes = new Set(findings.map((f) => f.code));
  if (codes.has('module-unknown-symbol')) {
    const missing = mod.imports.filter((s) => !Object.hasOwn(kernel.exports, s));
    return [
      ...missing.map((s) => `${path}: undefined reference to \`${s}'`),
      `modload: can't link \`${path}' creating \`${mod.name}' bound to \`/netbsd'`,
    ].join('\n');
  }
  if (codes.has('module-kernel-options')) {
    // Real modload would link it (the symbols exist) and the kernel would corrupt itself later:
    // the structures differ between DEBUG,DIAGNOSTIC and plain builds. The sim refuses, and says so.
    const present = (mod.options_absent ?? []).filter((o) => kernel.options.includes(o));
    const absent = (mod.options_present ?? []).filter((o) => !kernel.options.includes(o));
    const why = present.length
      ? `${path} was built without ${present.join(',')} but the running kernel ${kernel.ident ?? kernel.id} has them`
      : `${path} needs options ${absent.join(',')} that the running kernel ${kernel.ident ?? kernel.id} lacks`;
    return `modload: ${why}; kernel structures differ, so the simulator refuses to load ${mod.name} (on real hardware it would link and then corrupt the kernel)`;
  }
  if (findings.length > 0) return `modload: ${path}: ${findings.map((f) => f.message).join('; ')}`;
  return null;
}

/** Load one module into a running guest; throws the loader's error (with the kernel log lines). */
export function loadModule(w: World, catalog: Catalog, a: ModuleAttrs): Attrs {
  const d = requireUp(w, a.guest, `load ${a.name}`);
  const loader = `${loaderName(d.kernel_kind)} ${a.name} on ${a.guest}`;
  const kernel = resolveKernel(catalog, d.kernel, d.kernel_image);
  let mod: ModuleEntry;
  try {
    mod = resolveModule(catalog, a.module);
  } catch (e) {
    throw new Error(`${loader}: ${(e as Error).message}`);
  }
  if (d.modules[mod.name]) return { loaded: true, path: d.modules[mod.name]!.path, tainted: d.tainted };
  const path = modulePath(a.module, mod, kernel);
  let error: string | null;
  if (mod.kernel_kind !== kernel.kernel_kind) {
    error = `${path} is a ${mod.kernel_kind} module; ${a.guest} runs a ${kernel.kernel_kind} kernel (${kernel.id}): Exec format error`;
  } else {
    const findings = checkModuleLoad(mod, kernel, catalog.licences, addr.module(a.guest, a.name));
    error = kernel.kernel_kind === 'linux'
      ? linuxLoad(w, d, mod, kernel, catalog, path, findings)
      : bsdLoad(mod, kernel, path, findings);
    if (error) error += hint(findings);
  }
  advance(w, SECONDS.module);
  if (error) {
    d.modload_errors[mod.name] = error;
    throw new Error(`${loader}: ${error}`);
  }
  d.modules[mod.name] = { id: a.module, name: mod.name, path };
  delete d.modload_errors[mod.name];
  return { loaded: true, path, tainted: d.tainted };
}

/** rmmod / modunload; refused while the AFS client on the guest uses it. */
export function unloadModule(w: World, a: ModuleAttrs): void {
  const d = domainOf(w, a.guest);
  if (!d || !isUp(d)) return; // gone with the kernel that had it loaded
  const name = Object.values(d.modules).find((m) => m.id === a.module || m.name === a.name)?.name;
  if (!name) return;
  const client = own(w.clients, a.guest);
  if (client?.running && client.module === a.module) {
    throw new Error(`rmmod ${name} on ${a.guest}: ERROR: Module ${name} is in use (the AFS client afs-client.${a.guest} uses it)`);
  }
  delete d.modules[name];
  advance(w, SECONDS.admin);
}

/** Is this module (catalog id or path) loaded in the guest? */
export function moduleLoaded(d: SimDomain, ref: string): boolean {
  return Object.values(d.modules).some((m) => m.id === ref);
}
