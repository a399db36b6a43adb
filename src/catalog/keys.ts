// Which software really runs, and the keys it makes and takes: catalog queries every stage shares
// (compat checks a cell against them, plan keys afs/<cell> with them).
import type { Catalog, SoftwareEntry } from './types.js';

/** Which software a plan is for: the catalog's (the simulator models it) or what really runs in its place. */
export type Runs = 'catalog' | 'stand-ins';

/** The software entry that runs for `id`: itself, or its stand-in on the real drivers. */
export function running(catalog: Catalog, id: string, runs: Runs): SoftwareEntry | undefined {
  const sw = catalog.software.get(id);
  return runs === 'stand-ins' && sw?.stand_in ? catalog.software.get(sw.stand_in.id) : sw;
}

/**
 * The catalog entry of the KDC software that really runs for `id` on a driver that runs `products`:
 * its stand-in (catalog stand_in) when that product is among them, else the first product's entry
 * that runs here.
 */
export function kdcServing(catalog: Catalog, id: string, products: readonly string[]): SoftwareEntry | undefined {
  const real = running(catalog, id, 'stand-ins');
  if (real?.runs_here && products.includes(real.product)) return real;
  return [...catalog.software.values()].find((s) => s.product === products[0] && s.runs_here && s.roles.includes('kdc'));
}

/** When the catalog says nothing: what OpenAFS 1.8's rxkad-k5 takes and Debian's KDC issues. */
const FALLBACK_ENCTYPES = ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96'];

/**
 * The afs/<cell> key's enctypes: those the AFS servers take (in their order of preference) that the
 * KDC makes. Empty when none: rule afs-service-key-enctype says why.
 */
export function serviceKeyEnctypes(catalog: Catalog, afsSoftware: string, kdcSoftware: string, runs: Runs): string[] {
  const takes = running(catalog, afsSoftware, runs)?.service_key?.enctypes ?? FALLBACK_ENCTYPES;
  const makes = running(catalog, kdcSoftware, runs)?.kdc_enctypes?.supported;
  return makes ? takes.filter((e) => (makes as string[]).includes(e)) : [...takes];
}

/** Strongest first: what two KDCs share for a cross-realm key. */
const PREFERENCE = ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96', 'des3-cbc-sha1', 'arcfour-hmac', 'des-cbc-crc'];

export function sharedEnctypes(catalog: Catalog, a: string, b: string, runs: Runs): string[] {
  const of = (id: string): string[] => (running(catalog, id, runs)?.kdc_enctypes?.supported as string[] | undefined) ?? PREFERENCE;
  const both = PREFERENCE.filter((e) => of(a).includes(e) && of(b).includes(e));
  return both.slice(0, 2);
}
