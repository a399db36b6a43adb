// check-module: a real .ko against a real Module.symvers, judged as modpost and the loader would.
import { loadCatalog } from '../../catalog/load.js';
import { UserError } from '../../diagnostics.js';
import { checkModuleFile } from '../../kmod/check-file.js';
import { renderFinding } from '../../render/findings.js';
import { wrapText } from '../../render/wrap.js';
import type { Command } from '../command.js';
import { err, out, terminalWidth } from '../output.js';

export const checkModuleCmd: Command = async (args, flags) => {
  const ko = args[0];
  if (!flags.symvers) throw new UserError([{ message: 'missing --symvers Module.symvers', hint: "the kernel's Module.symvers, e.g. /usr/src/linux-headers-$(uname -r)/Module.symvers" }]);
  const { module, kernel, findings } = checkModuleFile(ko, { symvers: flags.symvers, config: flags.config, licences: loadCatalog().licences });
  if (flags.json) {
    out(JSON.stringify({ module: { name: module.name, license: module.license ?? null, vermagic: module.vermagic ?? null, imports: module.imports.length },
      kernel: { release: kernel.release, exports: Object.keys(kernel.exports).length }, findings }, null, 2));
  } else {
    for (const f of findings) (f.severity === 'error' ? err : out)(wrapText(renderFinding(f), terminalWidth(f.severity === 'error' ? process.stderr : process.stdout)));
    out(`${module.name}: ${module.imports.length} imported symbols checked against ${Object.keys(kernel.exports).length} exports: ` +
      (findings.some((f) => f.severity === 'error') ? 'the kernel would refuse it.' : 'loads.'));
  }
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
};
