// catalog, explain, completion: what cellctl knows, from the command line.
import { loadCatalog } from '../../catalog/load.js';
import { findingCodes } from '../../compat/codes.js';
import { suggest } from '../../config/suggest.js';
import { UserError } from '../../diagnostics.js';
import { CATALOG_KINDS, catalogEntry, catalogKind, entriesOf } from '../../ops/catalog.js';
import { renderEntry, renderKind, renderKinds } from '../../render/catalog.js';
import { renderCode, renderCodeList } from '../../render/codes.js';
import type { Command } from '../command.js';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import { out, terminalWidth } from '../output.js';

export const catalogCmd: Command = async (args, flags) => {
  const catalog = loadCatalog();
  const [word, id] = args;
  if (word === undefined) {
    if (flags.json) out(JSON.stringify(Object.fromEntries(CATALOG_KINDS.map((k) => [k, [...entriesOf(catalog, k).keys()]])), null, 2));
    else out(renderKinds(catalog).join('\n'));
    return 0;
  }
  const kind = catalogKind(word);
  if (id === undefined) {
    if (flags.json) out(JSON.stringify([...entriesOf(catalog, kind).values()], null, 2));
    else out(renderKind(catalog, kind).join('\n'));
    return 0;
  }
  const d = catalogEntry(catalog, kind, id);
  if (flags.json) out(JSON.stringify({ kind, id, entry: d.entry, related: Object.fromEntries(d.lists.map((l) => [l.title, l.items])) }, null, 2));
  else out(renderEntry(d).join('\n'));
  return 0;
};

export const explainCmd: Command = async (args, flags) => {
  const codes = findingCodes(loadCatalog());
  const [code] = args;
  if (code === undefined) {
    out(flags.json ? JSON.stringify(codes, null, 2) : renderCodeList(codes).join('\n'));
    return 0;
  }
  const wanted = code.replace(/^\[|\]$/g, '');
  const c = codes.find((x) => x.code === wanted);
  if (!c) {
    const near = suggest(wanted, codes.map((x) => x.code));
    throw new UserError([{ message: `unknown finding code '${code}'`, hint: near ? `did you mean ${near}?` : 'cellctl explain lists them' }]);
  }
  out(flags.json ? JSON.stringify(c, null, 2) : renderCode(c, Math.min(terminalWidth() ?? 80, 100)).join('\n'));
  return 0;
};

export const completionCmd: Command = async (args) => {
  const shell = args[0];
  if (!(SHELLS as readonly string[]).includes(shell)) {
    const near = suggest(shell, SHELLS);
    throw new UserError([{ message: `no completion for shell '${shell}'`, hint: near ? `did you mean ${near}?` : `expected ${SHELLS.join(', ')}` }]);
  }
  process.stdout.write(completionScript(shell as Shell, loadCatalog()));
  return 0;
};
