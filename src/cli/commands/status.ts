import { consoles, status } from '../../ops/status.js';
import { renderStatus, statusJson } from '../../render/status.js';
import { openSession, refreshFlag, type Command } from '../command.js';
import { out } from '../output.js';

export const statusCmd: Command = async (args, flags) => {
  const s = openSession(args[0], flags);
  const r = await status(s, { refresh: refreshFlag(flags) });
  if (!r) {
    out(flags.json ? JSON.stringify({ cell: s.spec.cell, applied: false }) : `Cell ${s.spec.cell}: nothing applied (no state in ${s.store.dir}).`);
    return 0;
  }
  if (flags.json) out(JSON.stringify(statusJson(r), null, 2));
  else {
    for (const l of renderStatus(r)) out(l);
    if (r.driver !== 'sim') for (const l of s.standIns(r.driver, undefined, false)) out(`Note (--driver ${r.driver}): ${l}.`);
  }
  return flags['detailed-exitcode'] && r.drift.changes.length > 0 ? 2 : 0;
};

export const consoleCmd: Command = async (args, flags) => {
  const all = await consoles(openSession(args[0], flags), args[1]);
  if (flags.json) {
    out(JSON.stringify(all, null, 2));
    return 0;
  }
  for (const c of all) {
    if (all.length > 1) out(`==> ${c.guest} <==`);
    out(c.text);
  }
  return 0;
};
