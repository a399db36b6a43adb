// Per-cell secrets (KDC master password, principals' passwords, keys). Kept 0600, sealed (length +
// SHA-256), never printed: a damaged file is refused naming the file, never quoting it, never overwritten.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { UserError } from '../diagnostics.js';
import { writeFileAtomic } from './atomic.js';
import { ensurePrivateFile } from './modes.js';
import { seal, unseal } from './sealed.js';

export class SecretStore {
  private values: Record<string, string>;
  private dirty = false;

  /** Reads and checks the file now, so a damaged one stops a command before it changes anything. */
  constructor(readonly file: string, warn: (line: string) => void = () => undefined) {
    this.values = existsSync(file) ? readSecrets(file, warn) : {};
  }

  /** The secret for key, generated once (or taken from the environment variable envName). */
  get(key: string, envName?: string): string {
    const fromEnv = envName ? process.env[envName] : undefined;
    if (fromEnv) return fromEnv;
    let v = this.values[key];
    if (v === undefined) {
      v = randomBytes(18).toString('base64url');
      this.put(key, v);
    }
    return v;
  }

  /** A value kept only here (a key derived from a password: never in the state file). */
  put(key: string, value: string): void {
    if (this.values[key] === value) return;
    this.values[key] = value;
    this.dirty = true;
    this.save();
  }

  /** The stored value, or undefined; never generates one. */
  peek(key: string): string | undefined {
    return Object.hasOwn(this.values, key) ? this.values[key] : undefined;
  }

  /** Every secret value known, so outputs can be scanned or masked. */
  all(): string[] {
    return Object.values(this.values);
  }

  save(): void {
    if (!this.dirty) return;
    writeFileAtomic(this.file, seal(JSON.stringify(this.values)) + '\n', 0o600);
    chmodSync(this.file, 0o600);
    this.dirty = false;
  }
}

function readSecrets(file: string, warn: (line: string) => void): Record<string, string> {
  const refuse = (why: string) => new UserError(
    `${file}: the secrets file ${why}; it was left as it is. Restore it from a backup; without it the cell's passwords ` +
    'and keys are lost (`cellctl destroy --force` still removes what the driver can find, then apply makes new ones)',
  );
  ensurePrivateFile(file, warn, 'the secrets file');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw refuse(`cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let body: string;
  try {
    body = unseal(text).body;
  } catch (e) {
    throw refuse(`is damaged: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    throw refuse('is damaged: it is not valid JSON'); // the parser's message would quote the content
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw refuse('is damaged: it is not a JSON object');
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') throw refuse(`is damaged: the value of "${k}" is not a string`);
    values[k] = v;
  }
  return values;
}

/** Environment variable that may supply a principal's password: CELLCTL_PW_KULA_ADMIN for kula/admin. */
export function principalEnvName(principal: string): string {
  return 'CELLCTL_PW_' + principal.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}
export const MASTER_PASSWORD_ENV = 'CELLCTL_KDC_MASTER_PASSWORD';

/** True for the environment variables that carry passwords: never passed on to a daemon. */
export function isSecretEnv(name: string): boolean {
  return name === MASTER_PASSWORD_ENV || name.startsWith('CELLCTL_PW_');
}

/** This process's environment without the passwords in it: what daemons and tools are given. */
export function scrubbedEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isSecretEnv(k)) out[k] = v;
  return out;
}

/** The KDC master password for this cell (env CELLCTL_KDC_MASTER_PASSWORD overrides). */
export function masterPassword(store: SecretStore): string {
  return store.get('kdc-master', MASTER_PASSWORD_ENV);
}

/** A principal's password (env CELLCTL_PW_<NAME> overrides). */
export function principalPassword(store: SecretStore, principal: string): string {
  return store.get(`principal:${principal}`, principalEnvName(principal));
}
