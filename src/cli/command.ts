// What every command shares: its flags, its cell file argument, its Session, its progress view.
import { UserError } from '../diagnostics.js';
import type { ExecuteHooks } from '../engine/execute.js';
import { Session } from '../ops/session.js';
import { renderFinding } from '../render/findings.js';
import { err, fancyOutput, out } from './output.js';
import { listrView } from './views/listr.js';
import { plainView } from './views/plain.js';

export interface Flags {
  json?: boolean; 'detailed-exitcode'?: boolean; 'state-dir'?: string; driver?: string; connect?: string;
  'skip-compat'?: boolean; junit?: string; to?: string; format?: string; out?: string; symvers?: string;
  config?: string; quiet?: boolean; concurrency?: string; refresh?: string; force?: boolean;
}

export type Command = (args: string[], flags: Flags) => Promise<number>;

export function requireArg(args: string[], i: number, what: string): string {
  const v = args[i];
  if (!v) throw new UserError(`missing ${what}`);
  return v;
}

/** --concurrency N: a whole number from 1 to 64, or undefined for the driver's default. */
export function concurrencyFlag(flags: Flags): number | undefined {
  const v = flags.concurrency;
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 64) {
    throw new UserError(`--concurrency ${v}: expected a whole number from 1 to 64 (steps run at once)`);
  }
  return Number(v);
}

/** --refresh=false skips reading the live cell back (as terraform's -refresh=false); default true. */
export function refreshFlag(flags: Flags): boolean {
  const v = flags.refresh;
  if (v === undefined || v === 'true') return true;
  if (v === 'false') return false;
  throw new UserError(`--refresh ${v}: expected true or false`);
}

export function openSession(args: string[], flags: Flags): Session {
  return Session.load(requireArg(args, 0, 'cell file (cellctl <command> CELL.yaml)'), {
    stateDir: flags['state-dir'], driver: flags.driver, connect: flags.connect,
    log: flags.quiet ? undefined : (l) => out(`  ${l}`),
    warn: (l) => err(`Warning: ${l}`),
    ...(flags.force ? { force: true } : {}),
  });
}

export function printFindings(s: Session): void {
  for (const f of s.findings) (f.severity === 'error' ? err : out)(renderFinding(f));
}

/** The progress view for an apply: listr2 on a terminal, plain lines otherwise, nothing with --quiet. */
export async function progressView(flags: Flags): Promise<ExecuteHooks & { finished?(): Promise<void> }> {
  if (flags.quiet) return {};
  if (fancyOutput()) return listrView();
  return plainView(out);
}
