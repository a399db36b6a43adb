// Will every kernel module a guest loads at boot actually load? (checkModuleLoad does the per-pair work.)
import { clientModule, guestKernel, guestModules } from '../../kmod/resolve.js';
import { checkModuleLoad } from '../../kmod/verdict.js';
import type { Finding } from '../types.js';
import { type Rule, xenInterfaceFits } from './util.js';

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
      const subject = `module.${g.name}.${mod.name}`;
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
        subject: `module.${g.name}.${mod.name}`,
        message: `${g.name}: FATAL: Error inserting ${mod.name} (${mod.id}): File exists (module ${mod.name} is already loaded from ${other})`,
        fix: `load one module named ${mod.name} on ${g.name}: drop ${mod.id} or ${other}`,
        pos: spec.posOf(extra >= 0 ? ['guests', g.name, 'extra_modules', extra] : ['guests', g.name]),
      });
    }
  }
  return out;
};
