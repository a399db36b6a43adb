// export: the cell as xl.cfg files or libvirt domain XML, or the client files to join the applied cell.
import { UserError } from '../../diagnostics.js';
import { exportCell } from '../../export/index.js';
import { desiredResources } from '../../plan/desired.js';
import { openSession, type Command } from '../command.js';
import { err, out } from '../output.js';
import { exportClientFiles } from '../../ops/client.js';

export const exportCmd: Command = async (args, flags) => {
  const s = openSession(args[0], flags);
  const format = flags.format ?? 'xl';
  if (format !== 'xl' && format !== 'libvirt' && format !== 'client') throw new UserError(`--format ${format}: expected xl, libvirt or client`);
  if (!flags.out) throw new UserError([{ message: 'missing --out DIR', hint: 'the directory to write the files to' }]);
  if (format === 'client') {
    const r = await exportClientFiles(s, flags.out);
    if (flags.json) out(JSON.stringify({ cell: s.spec.cell, format, files: r.files, skipped: r.skipped }, null, 2));
    else {
      for (const f of r.files) out(f);
      for (const k of r.skipped) err(`Note: no keytab for ${k}`);
    }
    return 0;
  }
  const written = exportCell(desiredResources(s.spec, s.catalog), format, flags.out, { cell: s.spec.cell });
  if (flags.json) out(JSON.stringify({ cell: s.spec.cell, format, files: written }, null, 2));
  else for (const f of written) out(f);
  return 0;
};
