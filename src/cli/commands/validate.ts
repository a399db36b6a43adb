// validate: the file and the compat rules; --json prints diagnostics on stdout even for a file
// that cannot be read (terraform's `validate -json` shape).
import type { Session } from '../../ops/session.js';
import { errorDiagnostics, findingJson, validateJson } from '../../render/diagnostics.js';
import { openSession, printFindings, type Command } from '../command.js';
import { out } from '../output.js';

export const validate: Command = async (args, flags) => {
  if (flags.json) {
    let s: Session;
    try {
      s = openSession(args[0], flags);
    } catch (e) {
      out(JSON.stringify(validateJson(errorDiagnostics(e)), null, 2));
      return 1;
    }
    out(JSON.stringify(validateJson(s.findings.map(findingJson), { cell: s.spec.cell, file: s.spec.file }), null, 2));
    return s.errors.length ? 1 : 0;
  }
  const s = openSession(args[0], flags);
  printFindings(s);
  out(s.errors.length ? `${s.spec.file}: ${s.errors.length} error(s) block apply.` : `${s.spec.file}: valid (cell ${s.spec.cell}, ${Object.keys(s.spec.guests).length} guests).`);
  return s.errors.length ? 1 : 0;
};
