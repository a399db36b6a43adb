// Per-cell secrets (KDC master password, principals' passwords). Kept 0600, never printed.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, chmodSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

export class SecretStore {
  private values: Record<string, string>;
  private dirty = false;

  constructor(readonly file: string) {
    this.values = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  }

  /** The secret for key, generated once (or taken from the environment variable envName). */
  get(key: string, envName?: string): string {
    const fromEnv = envName ? process.env[envName] : undefined;
    if (fromEnv) return fromEnv;
    let v = this.values[key];
    if (v === undefined) {
      v = randomBytes(18).toString('base64url');
      this.values[key] = v;
      this.dirty = true;
      this.save();
    }
    return v;
  }

  /** Every secret value known, so outputs can be scanned or masked. */
  all(): string[] {
    return Object.values(this.values);
  }

  save(): void {
    if (!this.dirty) return;
    writeFileAtomic(this.file, JSON.stringify(this.values, null, 2) + '\n', 0o600);
    chmodSync(this.file, 0o600);
    this.dirty = false;
  }
}

/** Environment variable that may supply a principal's password: CELLCTL_PW_KULA_ADMIN for kula/admin. */
export function principalEnvName(principal: string): string {
  return 'CELLCTL_PW_' + principal.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}
export const MASTER_PASSWORD_ENV = 'CELLCTL_KDC_MASTER_PASSWORD';

/** The KDC master password for this cell (env CELLCTL_KDC_MASTER_PASSWORD overrides). */
export function masterPassword(store: SecretStore): string {
  return store.get('kdc-master', MASTER_PASSWORD_ENV);
}

/** A principal's password (env CELLCTL_PW_<NAME> overrides). */
export function principalPassword(store: SecretStore, principal: string): string {
  return store.get(`principal:${principal}`, principalEnvName(principal));
}
