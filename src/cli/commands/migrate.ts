import { UserError } from '../../diagnostics.js';
import { migrate } from '../../ops/migrate.js';
import { openSession, type Command } from '../command.js';
import { out } from '../output.js';

export const migrateCmd: Command = async (args, flags) => {
  const s = openSession(args[0], flags);
  const guest = args[1];
  if (!flags.to) throw new UserError([{ message: 'missing --to HOST', hint: `the host to move ${guest} to (hosts: ${Object.keys(s.spec.hosts).join(', ')})` }]);
  const r = await migrate(s, guest, flags.to, { cold: flags.cold });
  const fileSays = s.spec.guests[guest]?.host;
  if (flags.json) {
    out(JSON.stringify({ guest, from: r.from, to: r.to, outputs: r.outputs ?? {}, file_disagrees: r.fileDisagrees }, null, 2));
    return 0;
  }
  const domid = r.outputs && 'domid' in r.outputs ? ` (domain id ${String(r.outputs.domid)})` : '';
  out(`Migrated ${guest} from ${r.from} to ${r.to}${domid}${flags.cold ? ' (cold: it was stopped meanwhile)' : ''}.`);
  if (r.fileDisagrees) out(`Note: the cell file still says host: ${fileSays}; update it, or the next apply moves ${guest} back.`);
  return 0;
};
