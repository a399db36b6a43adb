// Printing: stdout for results, stderr for errors; one screen at most for bad input.
import { UserError, formatDiagnostic } from '../diagnostics.js';
import { errorDiagnostics } from '../render/diagnostics.js';
import { ui } from '../render/events.js';

// A reader that goes away (`cellctl plan ... | head`) must not kill a run half way: the work goes on,
// the state is saved, and what is left to print is dropped (no EPIPE stack).
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
export function reportError(e: unknown, o: { json?: boolean } = {}): number {
  // --json: the same diagnostics on stdout too, one event line each (as apply/destroy --json stream them).
  if (o.json) for (const d of errorDiagnostics(e)) out(JSON.stringify(ui.diagnostic(d)));
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

/** The width to wrap text at: the terminal's, or undefined off a terminal (no wrapping). */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  return stream.isTTY && stream.columns ? stream.columns : undefined;
}
