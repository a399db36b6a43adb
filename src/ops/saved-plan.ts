// `plan --out FILE` and `apply FILE`: the plan exactly as shown, with what it was made from (the
// cell file's hash, the state's serial and lineage). Applying it is refused when any of them moved.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../diagnostics.js';
import type { Plan } from '../plan/types.js';
import { writeFileAtomic } from '../state/atomic.js';
import type { CellState } from '../state/types.js';
import type { Session } from './session.js';

const FORMAT = 'cellctl-plan';
const VERSION = 1;

export interface SavedPlan {
  format: typeof FORMAT;
  version: typeof VERSION;
  created: string;
  /** The cell file, absolute, and the SHA-256 of its bytes when planned. */
  file: string;
  file_sha256: string;
  stateDir: string;
  driver: string;
  connect?: string;
  destroy: boolean;
  /** The state the plan was made against: null when nothing was applied. */
  state: { serial: number; lineage: string | null } | null;
  plan: Plan;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export function savePlan(out: string, s: Session, p: Plan, o: { state: CellState | undefined; driver: string; connect?: string; destroy: boolean }): void {
  const saved: SavedPlan = {
    format: FORMAT, version: VERSION, created: new Date().toISOString(),
    file: s.spec.file, file_sha256: sha256(s.spec.file), stateDir: dirname(s.store.dir),
    driver: o.driver, ...(o.connect ? { connect: o.connect } : {}), destroy: o.destroy,
    state: o.state ? { serial: o.state.serial, lineage: o.state.lineage ?? null } : null,
    plan: p,
  };
  // No secret is ever part of a plan; 0600 all the same, like the state.
  writeFileAtomic(out, JSON.stringify(saved) + '\n', 0o600);
}

/** The saved plan in `file`, or undefined when the file is not one (then it is a cell file). */
export function readSavedPlan(file: string): SavedPlan | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // loading it as a cell file reports the problem
  }
  if (!text.startsWith('{"format":"cellctl-plan"')) return undefined;
  let saved: SavedPlan;
  try {
    saved = JSON.parse(text) as SavedPlan;
  } catch (e) {
    throw new UserError(`${file}: saved plan is damaged (${(e as Error).message}); run cellctl plan --out again`);
  }
  if (saved.version !== VERSION) throw new UserError(`${file}: saved plan format ${String(saved.version)}, this cellctl reads ${VERSION}; run cellctl plan --out again`);
  return saved;
}

/** Refuses a plan whose cell file or state changed since it was saved; else the plan to execute. */
export function checkSavedPlan(saved: SavedPlan, planFile: string, state: CellState | undefined): Plan {
  const again = `run cellctl plan ${saved.file} --out ${planFile} again`;
  let now: string;
  try {
    now = sha256(saved.file);
  } catch {
    throw new UserError([{ message: `${planFile}: the cell file ${saved.file} it was made from is gone`, hint: again }]);
  }
  if (now !== saved.file_sha256) throw new UserError([{ message: `${planFile}: ${saved.file} changed since the plan was saved`, hint: again }]);
  const was = saved.state;
  const moved =
    (was === null) !== (state === undefined) ||
    (was !== null && state !== undefined && (was.serial !== state.serial || was.lineage !== (state.lineage ?? null)));
  if (moved) {
    const desc = (x: { serial: number; lineage?: string | null } | null | undefined) => (x ? `serial ${x.serial}${x.lineage ? `, lineage ${x.lineage.slice(0, 8)}` : ''}` : 'no state');
    throw new UserError([{
      message: `${planFile}: the state changed since the plan was saved (then ${desc(was)}, now ${desc(state)}): it is stale`,
      hint: again,
    }]);
  }
  return saved.plan;
}
