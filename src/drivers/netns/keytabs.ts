// Service keytabs on the netns driver: new random keys extracted by the realm's KDC (MIT's ktadd or
// Heimdal's ext_keytab, through the service layer) into a file in the guest's own directory on this
// machine (0600, in a 0700 directory), where smoke's kinit -k and `cellctl export --format client` read it.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KeytabAttrs } from '../../plan/resources.js';
import { realmBackend } from '../services/kerberos.js';
import type { Services } from '../services/placement.js';
import type { Runner } from './exec.js';
import type { Layout } from './layout.js';

/** Where a guest keeps a service keytab (the guest's own directory; 0600, in a 0700 directory). */
export function keytabPath(L: Layout, guest: string, principal: string): string {
  return join(L.guestDir(guest), 'keytabs', `${principal.replace(/[^A-Za-z0-9.@-]/g, '_')}.keytab`);
}

/**
 * The principal with a random key, extracted into the guest's keytab (the keytab and the KDC agree).
 * `enctypes`: those of the file the KDC makes (notes.ts); none: the KDC's default key types. Returns
 * the key types the keytab really holds (klist -k).
 */
export function createKeytab(r: Runner, L: Layout, x: Services, a: KeytabAttrs, enctypes: readonly string[]): Promise<Record<string, string | number | string[]>> {
  return x.krbLock.run(async () => {
    if (!a.guest) throw new Error(`keytab ${a.principal}: no guest to install it on`);
    const file = keytabPath(L, a.guest, a.principal);
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    const b = realmBackend(x, a.realm);
    await b.addRandom(x, a.realm, a.principal);
    const keys = await b.extract(x, a.realm, a.principal, file, enctypes);
    const list = await r.run('klist', ['-k', '-e', '-t', file]);
    const held = [...new Set([...list.stdout.matchAll(/\(([a-z0-9-]+)\)\s*$/gm)].map((m) => m[1]!))];
    return { principal: `${a.principal}@${a.realm}`, keytab: file, kvno: keys.kvno, enctypes: held };
  });
}

export function deleteKeytab(L: Layout, x: Services, a: KeytabAttrs): Promise<void> {
  return x.krbLock.run(async () => {
    if (Object.values(x.reg.kdcs).some((k) => k.realm === a.realm && k.role === 'master')) await realmBackend(x, a.realm).delete(x, a.realm, a.principal);
    if (a.guest) rmSync(keytabPath(L, a.guest, a.principal), { force: true });
  });
}
