// output: the applied cell's addresses, KDCs, servers and principals (terraform output).
import { suggest } from '../../config/suggest.js';
import { UserError } from '../../diagnostics.js';
import { cellOutputs, OUTPUT_NAMES } from '../../ops/client.js';
import { renderOutputs } from '../../render/outputs.js';
import { openSession, type Command } from '../command.js';
import { out } from '../output.js';

export const outputCmd: Command = async (args, flags) => {
  const name = args[1];
  if (name !== undefined && !(OUTPUT_NAMES as readonly string[]).includes(name)) {
    const near = suggest(name, OUTPUT_NAMES);
    throw new UserError([{ message: `no output '${name}'`, hint: near ? `did you mean ${near}?` : `outputs: ${OUTPUT_NAMES.join(', ')}` }]);
  }
  const o = await cellOutputs(openSession(args[0]!, flags), { secrets: Boolean(flags['show-secrets']) });
  const key = name as (typeof OUTPUT_NAMES)[number] | undefined;
  if (flags.json) out(JSON.stringify(key ? o[key] : o, null, 2));
  else out(renderOutputs(o, key).join('\n'));
  return 0;
};
