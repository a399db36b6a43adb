// Service keytabs on the netns driver: kadmin.local ktadd (through the service layer's KDC) into a
// file in the guest's own directory on this machine (0600, in a 0700 directory), where smoke's
// kinit -k and `cellctl export --format client` read it.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KeytabAttrs } from '../../plan/resources.js';
import { kadmin, propagate } from '../services/kerberos.js';
import type { Services } from '../services/placement.js';
import type { Runner } from './exec.js';
import type { Layout } from './layout.js';

/** Where a guest keeps a service keytab (the guest's own directory; 0600, in a 0700 directory). */
export function keytabPath(L: Layout, guest: string, principal: string): string {
  return join(L.guestDir(guest), 'keytabs', `${principal.replace(/[^A-Za-z0-9.@-]/g, '_')}.keytab`);
}

/**
 * The principal with a random key, extracted with kadmin.local ktadd (which re-randomizes: the
 * keytab and the KDC agree) into the guest's keytab. `enctypes`: those of the file the KDC makes
 * (notes.ts); none: the KDC's default key types. Returns the key types the keytab really holds.
 */
export function createKeytab(r: Runner, L: Layout, x: Services, a: KeytabAttrs, enctypes: readonly string[]): Promise<Record<string, string | number | string[]>> {
  return x.krbLock.run(async () => {
    if (!a.guest) throw new Error(`keytab ${a.principal}: no guest to install it on`);
    const file = keytabPath(L, a.guest, a.principal);
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    if ((await kadmin(x, `getprinc ${a.principal}`)).failed) {
      const add = await kadmin(x, `addprinc -randkey ${a.principal}`);
      if (add.failed) throw new Error(`kadmin.local addprinc -randkey ${a.principal}: ${add.out}`);
    }
    rmSync(file, { force: true });
    const e = enctypes.length ? ` -e ${enctypes.map((t) => `${t}:normal`).join(',')}` : '';
    const res = await kadmin(x, `ktadd -k ${file}${e} ${a.principal}`);
    if (res.failed || !existsSync(file)) throw new Error(`kadmin.local ktadd ${a.principal}: ${res.out}`);
    chmodSync(file, 0o600);
    await propagate(x);
    const list = await r.run('klist', ['-k', '-e', '-t', file]);
    const held = [...new Set([...list.stdout.matchAll(/\(([a-z0-9-]+)\)\s*$/gm)].map((m) => m[1]!))];
    return { principal: `${a.principal}@${a.realm}`, keytab: file, enctypes: held };
  });
}

export function deleteKeytab(L: Layout, x: Services, a: KeytabAttrs): Promise<void> {
  return x.krbLock.run(async () => {
    if (Object.keys(x.reg.kdcs).length) {
      const res = await kadmin(x, `delprinc -force ${a.principal}`);
      if (res.failed && !/does not exist/.test(res.out)) throw new Error(`kadmin.local delprinc ${a.principal}: ${res.out}`);
      await propagate(x);
    }
    if (a.guest) rmSync(keytabPath(L, a.guest, a.principal), { force: true });
  });
}
