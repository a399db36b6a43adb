// Where a cell's state lives, and reading/writing it. Layout: <state-dir>/<cell>/{state.json,lock,secrets.json,<driver>/}
// state.json is sealed (length + SHA-256, see sealed.ts): a damaged file is refused, named, and never overwritten.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../diagnostics.js';
import { RESOURCE_TYPES } from '../plan/resources.js';
import { writeFileAtomic } from './atomic.js';
import { ensurePrivateDir, ensurePrivateFile } from './modes.js';
import { seal, unsealBytes } from './sealed.js';
import type { CellState } from './types.js';

export function stateRoot(cellFile: string, flag?: string): string {
  return resolve(flag ?? process.env.CELLCTL_STATE_DIR ?? join(dirname(resolve(cellFile)), '.cellctl'));
}

/** What to do with a state file cellctl refuses to read. */
export function damagedStateAdvice(file: string): string {
  return `it was left as it is. Restore it from a backup, or move it aside (mv ${file} ${file}.damaged) to start over; ` +
    'the cell\'s running resources are not touched by that: `cellctl destroy --force` removes what the driver can still find of it';
}

export class StateStore {
  readonly dir: string;
  /** Said when a file's or directory's mode had to be corrected (never secrets). */
  warn: (line: string) => void = () => undefined;

  constructor(root: string, readonly cell: string) {
    this.dir = join(root, cell);
  }
  get stateFile(): string { return join(this.dir, 'state.json'); }
  get lockFile(): string { return join(this.dir, 'lock'); }
  get secretsFile(): string { return join(this.dir, 'secrets.json'); }

  read(): CellState | undefined {
    if (!existsSync(this.stateFile)) return undefined;
    ensurePrivateDir(this.dir, this.warn);
    ensurePrivateFile(this.stateFile, this.warn);
    let file: Buffer;
    try {
      file = readFileSync(this.stateFile);
    } catch (e) {
      throw new UserError(`${this.stateFile}: cannot read the state file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      const { body, sealed } = unsealBytes(file);
      const s = sealed ? parseState(body) : (JSON.parse(body.toString('utf8')) as CellState); // unsealed (older cellctl): parsed whole
      checkShape(s, this.cell);
      return s;
    } catch (e) {
      const why = e instanceof SyntaxError ? `it is not valid JSON: ${e.message}` : (e as Error).message;
      throw new UserError(`${this.stateFile}: the state file is damaged: ${why}; ${damagedStateAdvice(this.stateFile)}`);
    }
  }

  /** The driver a state file names, read from its first bytes even when the rest is damaged (for destroy --force). */
  peekDriver(): string | undefined {
    try {
      return /"driver":"([a-z]+)"/.exec(readFileSync(this.stateFile, 'utf8').slice(0, 4096))?.[1];
    } catch {
      return undefined;
    }
  }

  write(s: CellState): void {
    s.serial += 1;
    const { driverData, ...rest } = s;
    // The driver's world goes last, so a reader that needs only the resources can skip it (parseState).
    const head = JSON.stringify(rest);
    const text = driverData === undefined ? head : `${head.slice(0, -1)}${DRIVER_DATA_KEY}${JSON.stringify(driverData)}}`;
    ensurePrivateDir(this.dir, this.warn);
    writeFileAtomic(this.stateFile, seal(text) + '\n', 0o600);
  }
}

const DRIVER_DATA_KEY = ',"driverData":';
const TYPES = new Set<string>(RESOURCE_TYPES);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What every reader of the state relies on; a file of another shape is refused, not half-used. */
function checkShape(s: unknown, cell: string): asserts s is CellState {
  if (!isObject(s)) throw new Error('it is not a JSON object');
  if (s.version !== 1) throw new Error(`it has format version ${JSON.stringify(s.version)}; this cellctl reads version 1`);
  if (s.cell !== cell) throw new Error(`it is the state of cell ${JSON.stringify(s.cell)}, not ${cell}`);
  for (const k of ['file', 'driver'] as const) if (typeof s[k] !== 'string') throw new Error(`its "${k}" is not a string`);
  if (typeof s.serial !== 'number') throw new Error('its "serial" is not a number');
  const entries = (what: string, v: unknown) => {
    if (!isObject(v)) throw new Error(`its "${what}" is not an object`);
    return Object.entries(v);
  };
  const resource = (where: string, r: unknown) => {
    if (!isObject(r) || typeof r.type !== 'string' || !TYPES.has(r.type) || !isObject(r.attrs) || !Array.isArray(r.deps) ||
      !r.deps.every((d) => typeof d === 'string') || (r.outputs !== undefined && !isObject(r.outputs))) {
      throw new Error(`${where} is not a resource record (type, attrs, deps)`);
    }
  };
  for (const [a, r] of entries('resources', s.resources)) resource(`resource ${a}`, r);
  if (s.pending !== undefined) {
    for (const [a, p] of entries('pending', s.pending)) {
      if (!isObject(p) || !['create', 'update', 'delete'].includes(p.action as string)) throw new Error(`pending step ${a} has no valid action`);
      resource(`pending step ${a}`, p.resource);
    }
  }
}

/**
 * The state, with the driver's world (most of a large file) parsed only when something reads it:
 * `plan` and `status` of 10,000 guests need the resources alone. The key cannot occur unescaped
 * inside a JSON string, and write() puts it last at the top level; anything else is parsed whole.
 * Only for sealed text: its checksum already proved the whole document is there.
 */
function parseState(doc: Buffer): CellState {
  const whole = () => JSON.parse(doc.toString('utf8')) as CellState;
  const at = doc.lastIndexOf(DRIVER_DATA_KEY);
  if (at < 0) return whole();
  let head: CellState;
  try {
    head = JSON.parse(`${doc.toString('utf8', 0, at)}}`) as CellState;
  } catch {
    return whole(); // not the layout write() makes
  }
  let world: unknown;
  let parsed = false;
  Object.defineProperty(head, 'driverData', {
    enumerable: true,
    configurable: true,
    get: () => {
      if (!parsed) {
        world = JSON.parse(doc.toString('utf8', at + Buffer.byteLength(DRIVER_DATA_KEY), doc.lastIndexOf('}')));
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
