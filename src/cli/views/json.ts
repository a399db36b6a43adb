// --json progress: one JSON event per line for every step (terraform's `-json` UI).
import { performance } from 'node:perf_hooks';
import type { Step } from '../../engine/execute.js';
import { ui, type UiEvent } from '../../render/events.js';
import type { View } from '../command.js';

export function jsonView(emit: (e: UiEvent) => void): View {
  const began = new Map<string, number>();
  const key = (s: Step) => `${s.phase}:${s.address}`;
  const seconds = (s: Step) => (performance.now() - (began.get(key(s)) ?? performance.now())) / 1000;
  return {
    started: (s) => {
      began.set(key(s), performance.now());
      emit(ui.applyStart(s));
    },
    done: (s, outputs) => emit(ui.applyComplete(s, outputs, seconds(s))),
    failed: (s, message) => emit(ui.applyErrored(s, message, seconds(s))),
    skipped: (s, why) => emit(ui.applySkipped(s, why)),
    log: (line) => emit(ui.log(line)),
  };
}
