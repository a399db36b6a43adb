// Printing: stdout for results, stderr for errors; one screen at most for bad input.
import { UserError, formatDiagnostic } from '../diagnostics.js';

// A reader that went away (`cellctl plan ... | head`) ends the output, not the command: no EPIPE stack.
const closed = { stdout: false, stderr: false };
for (const name of ['stdout', 'stderr'] as const) {
  process[name].on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    closed[name] = true;
  });
}

export const out = (s: string) => void (closed.stdout || process.stdout.write(s + '\n'));
export const err = (s: string) => void (closed.stderr || process.stderr.write(s + '\n'));

const MAX_ERROR_LINES = 20;

/** Exit code for an error; prints it without a stack unless CELLCTL_DEBUG is set. */
export function reportError(e: unknown): number {
  if (e instanceof UserError) {
    const lines = e.diagnostics.map((d) => `Error: ${formatDiagnostic(d)}`);
    for (const l of lines.slice(0, MAX_ERROR_LINES)) err(l);
    if (lines.length > MAX_ERROR_LINES) err(`... and ${lines.length - MAX_ERROR_LINES} more errors`);
    return 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  err(`Error: ${message.split('\n').slice(0, MAX_ERROR_LINES).join('\n')}`);
  if (process.env.CELLCTL_DEBUG && e instanceof Error && e.stack) err(e.stack);
  return 1;
}

/** Live progress only on a terminal, never in CI. */
export function fancyOutput(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.CI;
}
