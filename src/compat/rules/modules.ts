// Will every kernel module a guest loads at boot actually load? (checkModuleLoad does the per-pair work.)
import { clientModule, guestKernel, guestModules } from '../../kmod/resolve.js';
import { checkModuleLoad } from '../../kmod/verdict.js';
import type { CodeDoc, Finding } from '../types.js';
import { type Rule, xenInterfaceFits } from './util.js';
import { addr } from '../../plan/addrs.js';

/**
 * The codes of the module verdict (kmod/verdict.ts) and of `check-module` (kmod/check-file.ts), which
 * this rule reports for the modules guests load; for `cellctl explain` and docs/finding-codes.md.
 */
export const CODES: readonly CodeDoc[] = [
  {
    code: 'module-gpl-only-symbol', severity: 'error', title: 'a non-GPL module imports symbols the kernel exports GPL-only',
    explanation: "The Linux module loader lets a module whose MODULE_LICENSE is not GPL-compatible link only against EXPORT_SYMBOL exports; EXPORT_SYMBOL_GPL ones stay unresolved and the load fails ('openafs: module license ... taints kernel', 'openafs: Unknown symbol force_evtchn_callback'). The seed's case: OpenAFS 1.4.2 on 2.6.16-xen from Xen 3.0.2, whose Xen headers' inline helpers call force_evtchn_callback and xen_features, exported GPL-only there and plainly from Xen 3.0.3 on.",
    fix: 'Use a kernel that exports those symbols with EXPORT_SYMBOL (for the seed: a kernel from Xen 3.0.3 or later), or a module under a GPL-compatible licence.',
  },
  {
    code: 'module-unknown-symbol', severity: 'error', title: 'the module imports symbols the kernel does not export',
    explanation: "Every undefined symbol of a module must be exported by the running kernel; one that is not makes insmod fail with 'Unknown symbol'. Usually the module was built against another kernel.",
    fix: "Build the module against the guest's kernel, or use a kernel that exports the symbols.",
  },
  {
    code: 'module-kernel-options', severity: 'error', title: 'the kernel is built with options the module is not (or without ones it needs)',
    explanation: "Some options change kernel structures a module sees: the stock NetBSD Xen domU kernel is built with DEBUG and DIAGNOSTIC, Arla's nnpfs module is not, so it does not work until the kernel is rebuilt without them (the seed's tproa.net caveat).",
    fix: 'Rebuild the kernel with the options the module was built for (e.g. the -nodiag NetBSD kernel), or rebuild the module to match.',
  },
  {
    code: 'module-vermagic-mismatch', severity: 'error', title: "the module's version magic is not the kernel's",
    explanation: "Linux refuses a module whose vermagic string (kernel release, SMP, preemption, compiler) differs from the running kernel's: 'version magic ... should be ...'.",
    fix: "Rebuild the module against the guest's kernel.",
  },
  {
    code: 'module-kernel-kind', severity: 'error', title: "the module is built for another kind of kernel",
    explanation: 'A Linux module does not load into a NetBSD or Solaris kernel (and the reverse): a guest can only load modules of its own kernel kind.',
    fix: "Load a build of the module for the guest's kernel, or drop it from extra_modules.",
  },
  {
    code: 'module-namespace-not-imported', severity: 'error', checkModuleOnly: true, title: 'the module uses a namespaced symbol without importing the namespace',
    explanation: "Since Linux 5.4 exports can live in a namespace; a module must say MODULE_IMPORT_NS(NS) to use them. modpost refuses to build it, and the loader says 'module uses symbol (X) from namespace NS, but does not import it'.",
    fix: "Add MODULE_IMPORT_NS(NS); to the module's source and rebuild.",
  },
  {
    code: 'module-symbol-version-mismatch', severity: 'error', checkModuleOnly: true, title: "a symbol's CRC differs from the kernel's (CONFIG_MODVERSIONS)",
    explanation: "With CONFIG_MODVERSIONS each imported symbol carries the CRC of its prototype; the loader refuses a module whose CRC differs from the kernel's Module.symvers ('disagrees about version of symbol'). The module was built against other headers.",
    fix: "Rebuild the module against the headers of the kernel it loads into (the same Module.symvers).",
  },
  {
    code: "module-name-conflict", severity: "error", title: "a guest loads two different modules with the same name",
    explanation: "The kernel knows modules by name: once one named openafs is loaded, inserting another one of that name fails with 'File exists' (the AFS client's module and an extra_modules entry, say).",
    fix: "Load one module of each name on a guest: drop one of the two.",
  },
  {
    code: "module-licence-missing", severity: "error", title: "the module declares no licence",
    explanation: "modpost refuses a module without MODULE_LICENSE() ('ERROR: modpost: missing MODULE_LICENSE()'), and a kernel that loads one anyway treats it as proprietary: it taints the kernel and cannot use EXPORT_SYMBOL_GPL symbols.",
    fix: "Add MODULE_LICENSE(...) with the module's real licence and rebuild.",
  },
];

/** module-gpl-only-symbol, module-unknown-symbol, module-kernel-options (and vermagic) for each module a guest loads. */
export const moduleLoad: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  for (const g of Object.values(spec.guests)) {
    // hvm guests too: the modules load into the kernel the cell names, however it is booted.
    const kernel = guestKernel(g, catalog);
    const client = clientModule(spec, g.name, catalog);
    // Point at the kernel: it is what the fix changes (rebuild, or a kernel from a later Xen).
    const pos = spec.posOf(['guests', g.name, 'kernel']);
    const hostXen = catalog.xen.get(spec.hosts[g.host]?.xen ?? '');
    for (const mod of guestModules(spec, g.name, catalog)) {
      const subject = addr.module(g.name, mod.name);
      if (mod.kernel_kind !== kernel.kernel_kind) {
        const extra = g.extra_modules.indexOf(mod.id);
        out.push({
          code: 'module-kernel-kind',
          severity: 'error',
          subject,
          message: `${mod.name}: module ${mod.id} is built for ${mod.kernel_kind} kernels, but ${g.name} runs ${kernel.kernel_kind} kernel ${kernel.id}`,
          fix: `load a ${kernel.kernel_kind} build of ${mod.name}, or drop it from ${g.name}'s extra_modules`,
          pos: extra >= 0 ? spec.posOf(['guests', g.name, 'extra_modules', extra]) : pos,
        });
        continue;
      }
      const found = checkModuleLoad(mod, kernel, catalog.licences, subject);
      if (found.length === 0) continue;
      const why = mod === client ? ` (the ${spec.afs?.clients[g.name]} AFS client on ${g.name} needs it)` : '';
      // Name catalog kernels for this OS that the module does load into, so the fix is concrete.
      const loads = [...catalog.kernels.values()]
        .filter((k) => k.os.includes(g.os) && k.kernel_kind === mod.kernel_kind)
        .filter((k) => checkModuleLoad(mod, k, catalog.licences, subject).length === 0)
        .map((k) => {
          const built = catalog.xen.get(k.xen);
          const fits = !hostXen || (built !== undefined && xenInterfaceFits(built, hostXen));
          return fits ? `${k.id} (Xen ${k.xen})` : `${k.id} (needs Xen ${k.xen} on ${g.host})`;
        });
      const also = loads.length ? `; catalog kernels it loads into: ${loads.join(', ')}` : '';
      for (const f of found) out.push({ ...f, message: f.message + why, ...(f.fix ? { fix: f.fix + also } : {}), pos });
    }
  }
  return out;
};

/**
 * Two different modules with one name for a guest (a catalog module and a .ko file, say): the kernel
 * keeps one module per name, so the second load fails with EEXIST.
 */
export const moduleNameConflict: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  for (const g of Object.values(spec.guests)) {
    const byName = new Map<string, string>();
    for (const mod of guestModules(spec, g.name, catalog)) {
      const other = byName.get(mod.name);
      if (other === undefined) {
        byName.set(mod.name, mod.id);
        continue;
      }
      const extra = g.extra_modules.indexOf(mod.id);
      out.push({
        code: 'module-name-conflict',
        severity: 'error',
        subject: addr.module(g.name, mod.name),
        message: `${g.name}: FATAL: Error inserting ${mod.name} (${mod.id}): File exists (module ${mod.name} is already loaded from ${other})`,
        fix: `load one module named ${mod.name} on ${g.name}: drop ${mod.id} or ${other}`,
        pos: spec.posOf(extra >= 0 ? ['guests', g.name, 'extra_modules', extra] : ['guests', g.name]),
      });
    }
  }
  return out;
};
