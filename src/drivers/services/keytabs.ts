// Service keytabs in the guests: kadmin.local ktadd in the master KDC's guest (a scratch file there),
// copied into the keytab's guest as a 0600 file in a 0700 directory, where kinit -k uses it. Any
// placement whose guests have their own files (qemu, libvirt); netns keeps keytabs on this machine.
import { randomBytes } from 'node:crypto';
import type { KeytabAttrs } from '../../plan/resources.js';
import type { CheckResult } from '../driver.js';
import { fail, pass } from './checks.js';
import { masterOf } from './kdc-backend.js';
import { realmBackend, writeKrb5Conf } from './kerberos.js';
import type { Placement, Services } from './placement.js';
import { lastLines } from './util.js';

const DIR = '/etc/cellctl/keytabs';

/** Where a guest keeps a service keytab: host/x.example -> /etc/cellctl/keytabs/host_x.example.keytab. */
export const guestKeytab = (principal: string) => `${DIR}/${principal.replace(/[^A-Za-z0-9.@-]/g, '_')}.keytab`;

/** The key types `klist -k -e` shows. */
const keyTypes = (out: string) => [...new Set([...out.matchAll(/\(([a-z0-9-]+)\)\s*$/gm)].map((m) => m[1]!))];

/**
 * The principal with a random key, extracted by the realm's KDC (MIT ktadd or Heimdal ext_keytab: new keys the
 * KDC keeps too) in its guest, copied here; `enctypes`: those the KDC makes of the file's (none: its defaults).
 * Returns the key types the keytab really holds.
 */
export function createKeytab(x: Services, a: KeytabAttrs, enctypes: readonly string[]): Promise<Record<string, string | number | string[]>> {
  return x.krbLock.run(async () => {
    if (!a.guest) throw new Error(`keytab ${a.principal}: no guest to install it on`);
    const kdc = x.place(masterOf(x, a.realm));
    const scratch = `${kdc.paths.tmp}/ktadd-${randomBytes(4).toString('hex')}/k.keytab`;
    const b = realmBackend(x, a.realm);
    await b.addRandom(x, a.realm, a.principal);
    const keys = await b.extract(x, a.realm, a.principal, scratch, enctypes);
    const data = await kdc.readFile(scratch);
    await kdc.remove(scratch.slice(0, scratch.lastIndexOf('/')));
    if (!data) throw new Error(`keytab ${a.principal}: the KDC wrote no ${scratch}`);
    const p = x.place(a.guest);
    const file = guestKeytab(a.principal);
    await p.mkdir([DIR], 0o700);
    await p.writeFiles([{ path: file, data, mode: 0o600 }]);
    const list = await p.run('klist', ['-k', '-e', '-t', file]);
    return { principal: `${a.principal}@${a.realm}`, keytab: `${a.guest}:${file}`, kvno: keys.kvno, enctypes: keyTypes(list.stdout) };
  });
}

export function deleteKeytab(x: Services, a: KeytabAttrs): Promise<void> {
  return x.krbLock.run(async () => {
    if (Object.entries(x.reg.kdcs).some(([g, k]) => k.realm === a.realm && k.role === 'master' && x.has(g))) await realmBackend(x, a.realm).delete(x, a.realm, a.principal);
    if (a.guest && x.has(a.guest)) await x.place(a.guest).remove(guestKeytab(a.principal));
  });
}

/** kinit -k with the guest's keytab, in the guest: the keytab holds the key the KDC has. */
export async function keytabKinit(x: Services, p: Placement, full: string): Promise<CheckResult> {
  const principal = full.replace(/@[^@]*$/, '');
  const file = guestKeytab(principal);
  await writeKrb5Conf(x, p);
  const ccache = `FILE:${p.paths.tmp}/krb5cc_kt_${randomBytes(4).toString('hex')}`;
  const script = 'test -f "$1" || { echo "no keytab $1"; exit 2; }; kinit -k -t "$1" "$2" || exit; echo @@klist; klist; echo @@keys; klist -k -e -t "$1"; kdestroy -q';
  const r = await p.run('sh', ['-c', script, 'sh', file, full], { env: { KRB5_CONFIG: p.paths.krb5Conf, KRB5CCNAME: ccache }, timeoutMs: 20_000 });
  if (r.code !== 0) return fail(`kinit -k -t ${file} ${full} on ${p.guest} failed: ${lastLines(r.out, 1)}`, r.out);
  const [, list = '', keys = ''] = r.out.split(/@@klist\n|@@keys\n/);
  if (!list.includes(`krbtgt/${x.realm}@${x.realm}`)) return fail('kinit -k succeeded but no TGT in the cache', r.out);
  return pass(`kinit -k -t ${file} ${full} on ${p.guest}: TGT issued (keytab keys: ${keyTypes(keys).join(', ')})`, r.out);
}
