// export: the cell as xl.cfg files or libvirt domain XML.
import { UserError } from '../../diagnostics.js';
import { exportCell } from '../../export/index.js';
import { desiredResources } from '../../plan/desired.js';
import { openSession, type Command } from '../command.js';
import { out } from '../output.js';

export const exportCmd: Command = async (args, flags) => {
  const s = openSession(args[0], flags);
  const format = flags.format ?? 'xl';
  if (format !== 'xl' && format !== 'libvirt') throw new UserError(`--format ${format}: expected xl or libvirt`);
  if (!flags.out) throw new UserError([{ message: 'missing --out DIR', hint: 'the directory to write the files to' }]);
  const written = exportCell(desiredResources(s.spec, s.catalog), format, flags.out, { cell: s.spec.cell });
  if (flags.json) out(JSON.stringify({ cell: s.spec.cell, format, files: written }, null, 2));
  else for (const f of written) out(f);
  return 0;
};
