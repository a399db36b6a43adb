// Where a cell's state lives, and reading/writing it. Layout: <state-dir>/<cell>/{state.json,lock,secrets.json,<driver>/}
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../diagnostics.js';
import { writeFileAtomic } from './atomic.js';
import type { CellState } from './types.js';

export function stateRoot(cellFile: string, flag?: string): string {
  return resolve(flag ?? process.env.CELLCTL_STATE_DIR ?? join(dirname(resolve(cellFile)), '.cellctl'));
}

export class StateStore {
  readonly dir: string;
  constructor(root: string, readonly cell: string) {
    this.dir = join(root, cell);
  }
  get stateFile(): string { return join(this.dir, 'state.json'); }
  get lockFile(): string { return join(this.dir, 'lock'); }
  get secretsFile(): string { return join(this.dir, 'secrets.json'); }

  read(): CellState | undefined {
    if (!existsSync(this.stateFile)) return undefined;
    try {
      const s = parseState(readFileSync(this.stateFile, 'utf8'));
      if (s.version !== 1 || typeof s.resources !== 'object') throw new Error('unknown state format');
      return s;
    } catch (e) {
      throw new UserError(`${this.stateFile}: state file is not readable (${(e as Error).message}); move it aside to start over`);
    }
  }

  write(s: CellState): void {
    s.serial += 1;
    const { driverData, ...rest } = s;
    // The driver's world goes last, so a reader that needs only the resources can skip it (parseState).
    const head = JSON.stringify(rest);
    const text = driverData === undefined ? head : `${head.slice(0, -1)}${DRIVER_DATA_KEY}${JSON.stringify(driverData)}}`;
    writeFileAtomic(this.stateFile, text + '\n', 0o600);
  }
}

const DRIVER_DATA_KEY = ',"driverData":';

/**
 * The state, with the driver's world (most of a large file) parsed only when something reads it:
 * `plan` and `status` of 10,000 guests need the resources alone. The key cannot occur unescaped
 * inside a JSON string, and write() puts it last at the top level; anything else is parsed whole.
 */
function parseState(text: string): CellState {
  const at = text.lastIndexOf(DRIVER_DATA_KEY);
  if (at < 0) return JSON.parse(text) as CellState;
  let head: CellState;
  try {
    head = JSON.parse(text.slice(0, at) + '}') as CellState;
  } catch {
    return JSON.parse(text) as CellState; // not the layout write() makes
  }
  let world: unknown;
  let parsed = false;
  Object.defineProperty(head, 'driverData', {
    enumerable: true,
    configurable: true,
    get: () => {
      if (!parsed) {
        world = JSON.parse(text.slice(at + DRIVER_DATA_KEY.length, text.trimEnd().length - 1));
        parsed = true;
      }
      return world;
    },
    set: (v: unknown) => {
      world = v;
      parsed = true;
    },
  });
  return head;
}
