// One KDC service, two implementations: MIT krb5kdc (kdc-mit.ts) and Heimdal's kdc (kdc-heimdal.ts).
// Which one serves a realm is catalog data: the software the cell declares, or its stand-in when the
// driver runs that product (capabilities.kdcProducts); else the driver's first product stands in.
import type { KdcAttrs } from '../../plan/resources.js';
import type { Placement, Services } from './placement.js';

export type KdcProduct = 'mit-krb5' | 'heimdal';

export interface PrincipalKeys {
  kvno: number;
  enctypes: string[];
}

/** What a KDC implementation does for the service layer; principal operations act on the realm's master. */
export interface KdcBackend {
  readonly product: KdcProduct;
  /** Config and database (the master's created, a replica's loaded from the master), then the daemon; idempotent. */
  start(x: Services, p: Placement, a: KdcAttrs, masterPw: string): Promise<{ runs: string; database: string; log: string; propagation?: string }>;
  /** The running daemon's pid (the master process), if it runs. */
  pid(p: Placement): Promise<number | undefined>;
  /** Ends the daemon and removes its directory. */
  remove(p: Placement): Promise<void>;
  /** Copies the master's database to every replica of the realm that is up. */
  propagate(x: Services, realm: string): Promise<void>;
  get(x: Services, realm: string, principal: string): Promise<PrincipalKeys | undefined>;
  /** Adds the principal with keys from pw (or sets pw when it exists); enctypes: exactly these keys, else the KDC's defaults. */
  setPassword(x: Services, realm: string, principal: string, pw: string, enctypes?: readonly string[]): Promise<void>;
  /** Adds the principal with random keys unless it exists. */
  addRandom(x: Services, realm: string, principal: string): Promise<void>;
  /**
   * New random keys of `enctypes` (none: the KDC's defaults) written to `file`, mode 0600, on the master's
   * guest; the KDC keeps the same keys. Returns the key types the file holds.
   */
  extract(x: Services, realm: string, principal: string, file: string, enctypes: readonly string[]): Promise<PrincipalKeys>;
  /** Deletes the principal; an absent one is fine. */
  delete(x: Services, realm: string, principal: string): Promise<void>;
}

/** The realm's master KDC guest. */
export function masterOf(x: Services, realm = x.realm): string {
  const m = Object.entries(x.reg.kdcs).find(([, k]) => k.role === 'master' && k.realm === realm)?.[0];
  if (!m) throw new Error(`realm ${realm} has no master KDC yet (create its kdc resource first)`);
  return m;
}

/** Every realm with a KDC recorded, the cell's own first. */
export function realmsOf(x: Services): string[] {
  const all = new Set(Object.values(x.reg.kdcs).map((k) => k.realm));
  return [...all].sort((a, b) => (a === x.realm ? -1 : b === x.realm ? 1 : a.localeCompare(b)));
}

/** The realm a guest's KDC serves (the cell's own when the guest runs none). */
export function realmOfKdc(x: Services, guest: string): string {
  return x.reg.kdcs[guest]?.realm ?? x.realm;
}
