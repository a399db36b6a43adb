// What plan and apply say before --driver netns runs, beyond the software stand-ins: the keytab keys
// it makes where the cell asks for others. Catalog data only (plan stays fast).
import type { Catalog } from '../../catalog/types.js';
import type { Resource } from '../../plan/resources.js';

/**
 * What a keytab's keys must suit (catalog id): Debian's MIT krb5 1.20, the clients that use keytabs here
 * (kinit -k, aklog, the exported files), whichever KDC (MIT or Heimdal 7.8) made them.
 */
export const NETNS_KDC = 'mit-krb5-1.20';
/** The OpenAFS this driver runs whatever the cell declares (catalog id): Debian's 1.8.9. */
export const NETNS_OPENAFS = 'openafs-1.8.9';

/** The enctypes of `asked` the netns KDC makes; none of them: it makes its default keys. */
export function keytabEnctypes(asked: readonly string[], catalog: Catalog): string[] {
  const makes = catalog.software.get(NETNS_KDC)?.kdc_enctypes?.supported ?? [];
  return asked.filter((e) => (makes as readonly string[]).includes(e));
}

export function netnsNotes(resources: Resource[], catalog: Catalog): string[] {
  const kdc = catalog.software.get(NETNS_KDC);
  const notes: string[] = [];
  for (const r of resources) {
    if (r.type !== 'keytab') continue;
    const made = keytabEnctypes(r.attrs.enctypes, catalog);
    const missing = r.attrs.enctypes.filter((e) => !made.includes(e));
    if (!missing.length) continue;
    const name = `${kdc?.product ?? 'the'} ${kdc?.version ?? ''}`.replace(/\s+/g, ' ');
    notes.push(`${r.address}: ${name} (the KDC or the clients here) takes no ${missing.join(', ')}: ${made.length ? `keyed ${made.join(', ')} only` : "keyed with the KDC's default key types (smoke lists them)"}`);
  }
  return notes;
}
