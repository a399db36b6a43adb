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
      const s = JSON.parse(readFileSync(this.stateFile, 'utf8')) as CellState;
      if (s.version !== 1 || typeof s.resources !== 'object') throw new Error('unknown state format');
      return s;
    } catch (e) {
      throw new UserError(`${this.stateFile}: state file is not readable (${(e as Error).message}); move it aside to start over`);
    }
  }

  write(s: CellState): void {
    s.serial += 1;
    writeFileAtomic(this.stateFile, JSON.stringify(s) + '\n', 0o600);
  }
}
