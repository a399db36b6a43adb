// The Kerberos part of the desired graph: each realm's KDCs and principals, the cell's afs/<cell>
// key, service keytabs, and the cross-realm keys of trusted realms.
import { serviceKeyEnctypes, sharedEnctypes, type Runs } from '../catalog/keys.js';
import type { Catalog } from '../catalog/types.js';
import type { CellSpec, KerberosSpec, RealmSpec } from '../config/types.js';
import { addr, names } from './addrs.js';
import type { AttrsByType, ResourceOf, ResourceType } from './resources.js';

export type { Runs } from '../catalog/keys.js';

export type Add = <T extends ResourceType>(type: T, name: string, attrs: AttrsByType[T], deps: string[]) => ResourceOf<T>;

/** Every realm of the cell: its own first, then the others. */
export function allRealms(spec: CellSpec): RealmSpec[] {
  const own: RealmSpec[] = spec.kerberos ? [{ ...spec.kerberos, realm: spec.realm }] : [];
  return [...own, ...Object.values(spec.realms)];
}

export function kerberosResources(spec: CellSpec, catalog: Catalog, add: Add, runs: Runs): void {
  for (const r of allRealms(spec)) realmResources(spec, r, add);
  const krb = spec.kerberos;
  const master = krb?.kdcs[0];
  if (!krb || !master) return;
  if (spec.afs) {
    add('service-key', names.serviceKey(spec.cell), {
      principal: `afs/${spec.cell}@${spec.realm}`, realm: spec.realm, cell: spec.cell, kdc: master,
      enctypes: serviceKeyEnctypes(catalog, spec.afs.software, krb.software, runs),
    }, [addr.kdc(master)]);
  }
  trusts(spec, krb, catalog, add, runs);
}

function realmResources(spec: CellSpec, r: RealmSpec, add: Add): void {
  const master = r.kdcs[0];
  if (!master) return;
  for (const k of r.kdcs) {
    const deps = [addr.guest(k)];
    if (k !== master) deps.push(addr.kdc(master));
    add('kdc', k, { guest: k, realm: r.realm, role: k === master ? 'master' : 'replica', master, software: r.software, kdcs: r.kdcs }, deps);
  }
  for (const p of r.principals) {
    const name = names.principal(p, r.realm, spec.realm);
    add('principal', name, { realm: r.realm, principal: p, kdc: master }, [addr.kdc(master)]);
  }
  for (const k of r.keytabs) {
    const name = names.principal(k.principal, r.realm, spec.realm);
    add('keytab', name, { principal: k.principal, realm: r.realm, kdc: master, guest: k.guest ?? null, enctypes: k.enctypes },
      [addr.kdc(master), ...(k.guest ? [addr.guest(k.guest)] : [])]);
  }
}

/** krbtgt/OTHER@REALM and krbtgt/REALM@OTHER for each trusted realm. */
function trusts(spec: CellSpec, krb: KerberosSpec, catalog: Catalog, add: Add, runs: Runs): void {
  for (const t of krb.trusts) {
    const other = spec.realms[t];
    const theirs = other?.kdcs[0];
    if (!other || !theirs) continue;
    const enctypes = sharedEnctypes(catalog, krb.software, other.software, runs);
    for (const [client, service] of [[spec.realm, t], [t, spec.realm]] as const) {
      const kdcs = client === spec.realm ? [krb.kdcs[0]!, theirs] : [theirs, krb.kdcs[0]!];
      add('cross-realm', names.crossRealm(client, service), {
        principal: `krbtgt/${service}@${client}`, client_realm: client, service_realm: service, kdcs, enctypes,
      }, kdcs.map(addr.kdc));
    }
  }
}
