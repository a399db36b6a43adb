// Progress as plain lines, one per finished step: CI logs, pipes, --quiet off a terminal.
import type { Step } from '../../engine/execute.js';
import type { Attrs } from '../../plan/resources.js';
import type { View } from '../command.js';

const PAST = { create: 'created', update: 'updated', replace: 'replaced', delete: 'destroyed' } as const;

export function stepTitle(s: Step): string {
  const sym = s.phase === 'delete' ? '-' : s.action === 'update' ? '~' : '+';
  return `${sym} ${s.address}`;
}

/** A few scalar outputs worth seeing: domid, ip, pid. */
export function outputSummary(outputs: Attrs | void): string {
  if (!outputs) return '';
  const parts = Object.entries(outputs)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .slice(0, 4)
    .map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function plainView(print: (line: string) => void): View {
  return {
    done: (s, outputs) => print(`${stepTitle(s)}: ${s.moot ? `no step of its own: ${s.moot}` : s.phase === 'delete' ? 'destroyed' : PAST[s.action]}${outputSummary(outputs)}`),
    failed: (s, message) => print(`${stepTitle(s)}: FAILED: ${message}`),
    log: (line) => print(`  ${line}`),
  };
}
