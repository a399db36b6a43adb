import { openSession, printFindings, type Command } from '../command.js';
import { out } from '../output.js';

export const validate: Command = async (args, flags) => {
  const s = openSession(args, flags);
  if (flags.json) out(JSON.stringify({ cell: s.spec.cell, file: s.spec.file, findings: s.findings, errors: s.errors.length }, null, 2));
  else {
    printFindings(s);
    out(s.errors.length ? `${s.spec.file}: ${s.errors.length} error(s) block apply.` : `${s.spec.file}: valid (cell ${s.spec.cell}, ${Object.keys(s.spec.guests).length} guests).`);
  }
  return s.errors.length ? 1 : 0;
};
