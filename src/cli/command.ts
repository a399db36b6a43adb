// What every command shares: its flags, its cell file argument, its Session, its progress view.
import { UserError } from '../diagnostics.js';
import type { ExecuteHooks } from '../engine/execute.js';
import { Session } from '../ops/session.js';
import { renderFinding } from '../render/findings.js';
import { wrapText } from '../render/wrap.js';
import { err, fancyOutput, out, terminalWidth } from './output.js';
import type { Flags } from './spec.js';
import { jsonView } from './views/json.js';
import { listrView } from './views/listr.js';
import { plainView } from './views/plain.js';

export type { Flags } from './spec.js';

export type Command = (args: string[], flags: Flags) => Promise<number>;

/** A progress view: the engine's hooks, the drivers' log lines, and a wait for the last redraw. */
export interface View extends ExecuteHooks {
  log(line: string): void;
  finished?(): Promise<void>;
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
  return flags.refresh !== 'false';
}

/** The cell's Session; the drivers' log lines go to `log` (the view's), else plain lines unless --quiet. */
export function openSession(file: string, flags: Flags, log?: (line: string) => void): Session {
  return Session.load(file, {
    stateDir: flags['state-dir'], driver: flags.driver, connect: flags.connect,
    log: log ?? (flags.quiet || flags.json ? undefined : (l) => out(`  ${l}`)),
    warn: (l) => err(`Warning: ${l}`),
    ...(flags.force ? { force: true } : {}),
  });
}

/** Findings on stderr (errors) and stdout (warnings), wrapped at the terminal's width. */
export function printFindings(s: Session): void {
  for (const f of s.findings) {
    const stream = f.severity === 'error' ? process.stderr : process.stdout;
    (f.severity === 'error' ? err : out)(wrapText(renderFinding(f), terminalWidth(stream)));
  }
}

/** The progress view for an apply: JSON lines, listr2 on a terminal, plain lines otherwise, nothing with --quiet. */
export async function progressView(flags: Flags): Promise<View> {
  if (flags.json) return jsonView((e) => out(JSON.stringify(e)));
  if (flags.quiet) return { log: () => undefined };
  if (fancyOutput()) return listrView(out);
  return plainView(out);
}
