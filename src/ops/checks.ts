// The end-to-end checks of a cell, derived from the plan's resources (what was asked for is what is checked).
// Each id and name says what the check proves; the drivers exercise exactly that, with nothing cached.
import type { Check } from '../drivers/driver.js';
import type { Resource, ResourceOf, ResourceType } from '../plan/resources.js';
import { adminPrincipals } from '../plan/desired.js';

export function deriveChecks(cell: string, realm: string, resources: Resource[]): Check[] {
  const of = <T extends ResourceType>(type: T) => resources.filter((r): r is Resource & ResourceOf<T> => r.type === type).map((r) => r.attrs);
  const guests = resources.filter((r) => r.type === 'guest').map((r) => r.name);
  const kdcs = of('kdc');
  const principals = resources.filter((r) => r.type === 'principal').map((r) => r.name);
  const dbservers = resources.filter((r) => r.type === 'afs-db').map((r) => r.name);
  const fileservers = resources.filter((r) => r.type === 'afs-fs').map((r) => r.name);
  const clients = of('afs-client');
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);

  for (const g of guests) add({ id: `guest-running.${g}`, kind: 'guest-running', name: `guest ${g} is running`, guest: g, params: { guest: g } });
  for (const k of kdcs) add({ id: `kdc-answers.${k.guest}`, kind: 'kdc-answers', name: `KDC on ${k.guest} answers an AS-REQ for ${realm}`, guest: k.guest, params: { realm } });
  // kinit from every client guest (or from the KDC when the cell has no AFS client).
  const kinitFrom = clients.length ? clients.map((c) => c.guest) : kdcs.slice(0, 1).map((k) => k.guest);
  for (const g of kinitFrom) {
    for (const p of principals) add({ id: `kinit.${p}@${g}`, kind: 'kinit', name: `kinit ${p}@${realm} from ${g} gets a TGT`, guest: g, params: { principal: p } });
  }
  if (dbservers.length) {
    add({ id: 'afs-quorum', kind: 'afs-quorum', name: `ubik quorum with one sync site among ${dbservers.join(', ')}`, guest: dbservers[0], params: { dbservers } });
  }
  for (const s of new Set([...dbservers, ...fileservers])) {
    add({ id: `bos-instances-answer.${s}`, kind: 'bos-status', name: `bos instances on ${s} run (bos status) and each answers an RPC`, guest: s, params: {} });
  }
  for (const v of of('volume')) {
    add({ id: `volume-listed.${v.volume}`, kind: 'volume-listed', name: `volume ${v.volume} on-line on ${v.server} ${v.partition} and in the VLDB`, guest: v.server, params: { volume: v.volume, server: v.server, partition: v.partition } });
  }
  for (const u of of('pts-user')) {
    add({ id: `pts-user.${u.user}`, kind: 'pts-user', name: `the ptserver has user ${u.user} (pts examine)`, guest: dbservers[0], params: { user: u.user } });
  }
  const tokenPrincipal = principals[0];
  // A fresh root.cell is writable by system:administrators only: write as an administrator.
  const writer = [...adminPrincipals(principals)][0];
  for (const c of clients) {
    const g = c.guest;
    add({ id: `client-module.${g}`, kind: 'client-module', name: `AFS client module loaded on ${g}`, guest: g, params: { module: c.module } });
    add({ id: `afs-resolves.${g}`, kind: 'afs-resolves', name: `/afs/${cell} on ${g} resolves to root.cell and its fileserver answers`, guest: g, params: { path: `/afs/${cell}` } });
    add({ id: `anon-write-refused-by-fileserver.${g}`, kind: 'client-anon-refused', name: `the fileserver refuses an anonymous write in /afs/${cell} from ${g}`, guest: g, params: { path: `/afs/${cell}/anonymous-write-test` } });
    if (tokenPrincipal) {
      add({ id: `token-accepted-by-fileserver.${g}`, kind: 'client-tokens', name: `a fileserver accepts ${tokenPrincipal}'s token from ${g} (authenticated call)`, guest: g, params: { principal: tokenPrincipal } });
      add({ id: `client-file-rw.${g}`, kind: 'client-file-rw', name: `write a file in /afs/${cell} from ${g} as ${writer} and read it back from the fileserver`, guest: g, params: { principal: writer, path: `/afs/${cell}/cellctl-smoke-${g}.txt` } });
    }
  }
  return checks;
}
