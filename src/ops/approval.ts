// When an apply must be confirmed before it runs: a destroy, or any plan that destroys or replaces
// (changing the Kerberos software replaces both volumes). The command decides how to ask.
import type { Plan } from '../plan/types.js';

const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;

/** Why the plan needs a yes ("destroys 2 resources and replaces 1"), or undefined when it does not. */
export function approvalReason(p: Plan, destroy: boolean): string | undefined {
  const deletes = p.changes.filter((c) => c.action === 'delete').length;
  const replaces = p.changes.filter((c) => c.action === 'replace').length;
  if (deletes + replaces === 0) return undefined;
  if (destroy) return `destroys ${n(deletes, 'resource')}`;
  return [deletes ? `destroys ${n(deletes, 'resource')}` : '', replaces ? `replaces ${n(replaces, 'resource')}` : ''].filter(Boolean).join(' and ');
}
