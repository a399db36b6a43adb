// Flags and the arguments every command shares.
import { Session } from '../ops/session.js';
import { UserError } from '../diagnostics.js';
import { out } from './output.js';

export interface Flags {
  json?: boolean; 'detailed-exitcode'?: boolean; 'state-dir'?: string; driver?: string; connect?: string;
  'skip-compat'?: boolean; junit?: string; to?: string; format?: string; out?: string; symvers?: string;
  config?: string; quiet?: boolean; concurrency?: string;
}

export type Command = (args: string[], flags: Flags) => Promise<number>;

export function requireArg(args: string[], i: number, what: string): string {
  const v = args[i];
  if (!v) throw new UserError(`missing ${what}`);
  return v;
}

export function openSession(args: string[], flags: Flags): Session {
  return Session.load(requireArg(args, 0, 'cell file (cellctl <command> CELL.yaml)'), {
    stateDir: flags['state-dir'], driver: flags.driver, connect: flags.connect,
    log: flags.quiet ? undefined : (l) => out(`  ${l}`),
  });
}

