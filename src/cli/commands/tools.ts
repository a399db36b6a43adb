// export (xl.cfg / libvirt XML) and check-module (a real .ko against a real Module.symvers).
import { loadCatalog } from '../../catalog/load.js';
import { checkModuleFile } from '../../kmod/check-file.js';
import { UserError } from '../../diagnostics.js';
import { exportCell } from '../../export/index.js';
import { desiredResources } from '../../plan/desired.js';
import { renderFinding } from '../../render/plan.js';
import { openSession, requireArg, type Command } from '../command.js';
import { err, out } from '../output.js';

export const exportCmd: Command = async (args, flags) => {
  const s = openSession(args, flags);
  const format = flags.format ?? 'xl';
  if (format !== 'xl' && format !== 'libvirt') throw new UserError(`--format ${format}: expected xl or libvirt`);
  if (!flags.out) throw new UserError('missing --out DIR');
  const written = exportCell(desiredResources(s.spec, s.catalog), format, flags.out, { cell: s.spec.cell });
  for (const f of written) out(f);
  return 0;
};

export const checkModuleCmd: Command = async (args, flags) => {
  const ko = requireArg(args, 0, 'module (cellctl check-module MODULE.ko --symvers Module.symvers)');
  if (!flags.symvers) throw new UserError('missing --symvers Module.symvers');
  const { module, kernel, findings } = checkModuleFile(ko, { symvers: flags.symvers, config: flags.config, licences: loadCatalog().licences });
  if (flags.json) {
    out(JSON.stringify({ module: { name: module.name, license: module.license ?? null, vermagic: module.vermagic ?? null, imports: module.imports.length },
      kernel: { release: kernel.release, exports: Object.keys(kernel.exports).length }, findings }, null, 2));
  } else {
    for (const f of findings) (f.severity === 'error' ? err : out)(renderFinding(f));
    out(`${module.name}: ${module.imports.length} imported symbols checked against ${Object.keys(kernel.exports).length} exports: ` +
      (findings.some((f) => f.severity === 'error') ? 'the kernel would refuse it.' : 'loads.'));
  }
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
};
