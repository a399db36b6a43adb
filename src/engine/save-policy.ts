// When the executor saves state: every SAVE_EVERY_STEPS steps or SAVE_EVERY_MS, whichever comes
// first, which bounds what a kill -9 loses; but never sooner than SAVE_COST_FACTOR times the last
// save's cost, so a large state (MBs) is not rewritten every step.
import { performance } from 'node:perf_hooks';

const SAVE_EVERY_STEPS = 32;
const SAVE_EVERY_MS = 50;
const SAVE_COST_FACTOR = 4;

export class SavePolicy {
  private last = performance.now();
  private cost = 0;
  private unsaved = 0;

  /** Count a finished step; true when a save is due. */
  due(): boolean {
    const elapsed = performance.now() - this.last;
    return (++this.unsaved >= SAVE_EVERY_STEPS || elapsed >= SAVE_EVERY_MS) && elapsed >= SAVE_COST_FACTOR * this.cost;
  }

  /** Run a save, remembering what it cost. */
  measure(save: () => void): void {
    const t0 = performance.now();
    save();
    this.last = performance.now();
    this.cost = this.last - t0;
    this.unsaved = 0;
  }
}
