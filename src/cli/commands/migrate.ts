import { UserError } from '../../diagnostics.js';
import { migrate } from '../../ops/migrate.js';
import { openSession, requireArg, type Command } from '../command.js';
import { out } from '../output.js';

export const migrateCmd: Command = async (args, flags) => {
  const s = openSession(args, flags);
  const guest = requireArg(args, 1, 'guest to migrate (cellctl migrate CELL.yaml GUEST --to HOST)');
  if (!flags.to) throw new UserError('missing --to HOST');
  const r = await migrate(s, guest, flags.to);
  const domid = r.outputs && 'domid' in r.outputs ? ` (domain id ${String(r.outputs.domid)})` : '';
  out(`Migrated ${guest} from ${r.from} to ${r.to}${domid}.`);
  if (r.fileDisagrees) out(`Note: the cell file still says host: ${s.spec.guests[guest]?.host}; update it, or the next apply moves ${guest} back.`);
  return 0;
};
