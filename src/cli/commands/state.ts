// state list|show: what the state file records.
import { UserError } from '../../diagnostics.js';
import { stateList, stateShow } from '../../ops/state.js';
import { renderStateShow, stateShowJson } from '../../render/state.js';
import { openSession, type Command } from '../command.js';
import { out } from '../output.js';

export const stateCmd: Command = async (args, flags) => {
  const [sub, file, ...addrs] = args;
  if (sub !== 'list' && sub !== 'show') {
    throw new UserError([{ message: `unknown state subcommand '${sub}'`, hint: 'cellctl state list CELL.yaml [ADDR...] or cellctl state show CELL.yaml ADDR' }]);
  }
  const s = openSession(file, flags);
  if (sub === 'list') {
    const list = stateList(s, addrs);
    out(flags.json ? JSON.stringify(list, null, 2) : list.join('\n'));
    return 0;
  }
  if (addrs.length !== 1) throw new UserError([{ message: `cellctl state show takes one address, got ${addrs.length}`, hint: 'cellctl state show CELL.yaml ADDR' }]);
  const r = stateShow(s, addrs[0]);
  out(flags.json ? JSON.stringify(stateShowJson(r), null, 2) : renderStateShow(r).join('\n'));
  return 0;
};
