// apply/destroy --json: one JSON object per line, terraform's machine-readable UI (`-json`):
// version, diagnostics, planned changes, a change summary, then apply_start / apply_complete /
// apply_errored for every step, driver log lines, and the outcome.
import type { Step } from '../engine/execute.js';
import { parseAddress } from '../plan/addrs.js';
import type { Attrs } from '../plan/resources.js';
import type { Change, Plan } from '../plan/types.js';
import { VERSION } from '../version.js';
import type { JsonDiagnostic } from './diagnostics.js';

export interface UiEvent {
  '@level': 'info' | 'warn' | 'error';
  '@message': string;
  '@module': 'cellctl.ui';
  '@timestamp': string;
  type: string;
  [payload: string]: unknown;
}

function event(type: string, message: string, payload: object = {}, level: UiEvent['@level'] = 'info'): UiEvent {
  return { '@level': level, '@message': message, '@module': 'cellctl.ui', '@timestamp': new Date().toISOString(), type, ...payload };
}

function resource(address: string) {
  const a = parseAddress(address);
  return { addr: address, resource_type: a?.type ?? null, resource_name: a?.name ?? address };
}

/** The hook action of a step: a replacement is a delete, then a create. */
const hookAction = (s: Step) => (s.phase === 'delete' ? 'delete' : s.action === 'update' ? 'update' : 'create');
const ING = { create: 'Creating...', update: 'Modifying...', delete: 'Destroying...' } as const;
const DONE = { create: 'Creation complete', update: 'Modifications complete', delete: 'Destruction complete' } as const;
const rounded = (s: number) => Math.round(s * 1000) / 1000;

export const ui = {
  version: () => event('version', `cellctl ${VERSION}`, { cellctl: VERSION, ui: '1.0' }),
  diagnostic: (d: JsonDiagnostic) => event('diagnostic', `${d.severity === 'error' ? 'Error' : 'Warning'}: ${d.summary}`, { diagnostic: d }, d.severity === 'error' ? 'error' : 'warn'),
  plannedChange: (c: Change) =>
    event('planned_change', `${c.address}: Plan to ${c.action}`, { change: { resource: resource(c.address), action: c.action, reason: c.reason ?? null } }),
  changeSummary: (p: Plan, operation: 'plan' | 'apply' | 'destroy', message?: string) => {
    const changes = { add: p.summary.add, change: p.summary.change, remove: p.summary.destroy, operation };
    return event('change_summary', message ?? `Plan: ${changes.add} to add, ${changes.change} to change, ${changes.remove} to destroy.`, { changes });
  },
  applyStart: (s: Step) => event('apply_start', `${s.address}: ${ING[hookAction(s)]}`, { hook: { resource: resource(s.address), action: hookAction(s) } }),
  applyComplete: (s: Step, outputs: Attrs | void, seconds: number) =>
    event('apply_complete', `${s.address}: ${DONE[hookAction(s)]} after ${rounded(seconds)}s`, {
      hook: { resource: resource(s.address), action: hookAction(s), elapsed_seconds: rounded(seconds), outputs: outputs ?? {} },
    }),
  applyErrored: (s: Step, message: string, seconds: number) =>
    event('apply_errored', `${s.address}: ${message}`, { hook: { resource: resource(s.address), action: hookAction(s), elapsed_seconds: rounded(seconds) } }, 'error'),
  applySkipped: (s: Step, why: string) => event('apply_skipped', `${s.address}: not run (${why})`, { hook: { resource: resource(s.address), action: hookAction(s), reason: why } }, 'warn'),
  log: (line: string) => event('log', line),
  outcome: (message: string, level: UiEvent['@level'] = 'info', payload: object = {}) => event('outcome', message, payload, level),
};
