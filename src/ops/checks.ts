// The end-to-end checks of a cell, derived from the plan's resources (what was asked for is what is
// checked). Each id and name says what the check proves; the drivers exercise exactly that, with
// nothing cached. Each names the resources it exercises and the checks it needs first: smoke skips a
// check whose resources were not applied or whose prerequisite failed, so one root cause is one failure.
import type { Check } from '../drivers/driver.js';
import { addr } from '../plan/addrs.js';
import { adminPrincipals } from '../plan/desired.js';
import type { Resource, ResourceOf, ResourceType } from '../plan/resources.js';

export interface PlannedCheck extends Check {
  /** Resources the check exercises: not applied, the check is skipped. */
  resources: string[];
  /** Ids of checks that must pass first: failed or skipped, this one is skipped. */
  needs: string[];
}

export function deriveChecks(cell: string, realm: string, resources: Resource[]): PlannedCheck[] {
  const of = <T extends ResourceType>(type: T) => resources.filter((r): r is Resource & ResourceOf<T> => r.type === type).map((r) => r.attrs);
  const present = new Set(resources.map((r) => r.address));
  const guests = resources.filter((r) => r.type === 'guest').map((r) => r.name);
  const kdcs = of('kdc');
  const principals = resources.filter((r) => r.type === 'principal').map((r) => r.name);
  const dbservers = resources.filter((r) => r.type === 'afs-db').map((r) => r.name);
  const fileservers = resources.filter((r) => r.type === 'afs-fs').map((r) => r.name);
  const clients = of('afs-client');
  const checks: PlannedCheck[] = [];
  const ids = new Set<string>();
  const add = (c: Check, resources: string[], needs: string[]) => {
    checks.push({ ...c, resources: resources.filter((r) => present.has(r)), needs: needs.filter((n) => ids.has(n)) });
    ids.add(c.id);
  };
  const running = (g: string) => `guest-running.${g}`;

  for (const g of guests) add({ id: `guest-running.${g}`, kind: 'guest-running', name: `guest ${g} is running`, guest: g, params: { guest: g } }, [addr.guest(g)], []);
  for (const k of kdcs) {
    add({ id: `kdc-answers.${k.guest}`, kind: 'kdc-answers', name: `KDC on ${k.guest} answers an AS-REQ for ${realm}`, guest: k.guest, params: { realm } }, [addr.kdc(k.guest)], [running(k.guest)]);
  }
  const kdcAnswers = kdcs.map((k) => `kdc-answers.${k.guest}`);
  // kinit from every client guest (or from the KDC when the cell has no AFS client).
  const kinitFrom = clients.length ? clients.map((c) => c.guest) : kdcs.slice(0, 1).map((k) => k.guest);
  for (const g of kinitFrom) {
    for (const p of principals) {
      add({ id: `kinit.${p}@${g}`, kind: 'kinit', name: `kinit ${p}@${realm} from ${g} gets a TGT`, guest: g, params: { principal: p } }, [addr.principal(p)], [running(g), ...kdcAnswers]);
    }
  }
  if (dbservers.length) {
    add({ id: 'afs-quorum', kind: 'afs-quorum', name: `ubik quorum with one sync site among ${dbservers.join(', ')}`, guest: dbservers[0], params: { dbservers } },
      dbservers.map(addr.afsDb), dbservers.map(running));
  }
  const bos = (s: string) => `bos-instances-answer.${s}`;
  for (const s of new Set([...dbservers, ...fileservers])) {
    add({ id: bos(s), kind: 'bos-status', name: `bos instances on ${s} run (bos status) and each answers an RPC`, guest: s, params: {} },
      [...(dbservers.includes(s) ? [addr.afsDb(s)] : []), ...(fileservers.includes(s) ? [addr.afsFs(s)] : [])], [running(s)]);
  }
  for (const v of of('volume')) {
    add({ id: `volume-listed.${v.volume}`, kind: 'volume-listed', name: `volume ${v.volume} on-line on ${v.server} ${v.partition} and in the VLDB`, guest: v.server, params: { volume: v.volume, server: v.server, partition: v.partition } },
      [addr.volume(v.volume)], ['afs-quorum', bos(v.server)]);
  }
  for (const u of of('pts-user')) {
    add({ id: addr.ptsUser(u.principal), kind: 'pts-user', name: `the ptserver has user ${u.user} (pts examine)`, guest: dbservers[0], params: { user: u.user } }, [addr.ptsUser(u.principal)], ['afs-quorum']);
  }
  const tokenPrincipal = principals[0];
  // A fresh root.cell is writable by system:administrators only: write as an administrator.
  const writer = [...adminPrincipals(principals)][0];
  const rootVolumes = ['root.afs', 'root.cell'].map((v) => `volume-listed.${v}`);
  for (const c of clients) {
    const g = c.guest;
    const client = addr.afsClient(g);
    const mod = resources.find((r) => r.type === 'module' && r.attrs.guest === g && r.attrs.module === c.module);
    add({ id: `client-module.${g}`, kind: 'client-module', name: `AFS client module loaded on ${g}`, guest: g, params: { module: c.module } },
      [mod?.address ?? client], [running(g)]);
    add({ id: `afs-resolves.${g}`, kind: 'afs-resolves', name: `/afs/${cell} on ${g} resolves to root.cell and its fileserver answers`, guest: g, params: { path: `/afs/${cell}` } },
      [client], [`client-module.${g}`, 'afs-quorum', ...rootVolumes]);
    add({ id: `anon-write-refused-by-fileserver.${g}`, kind: 'client-anon-refused', name: `the fileserver refuses an anonymous write in /afs/${cell} from ${g}`, guest: g, params: { path: `/afs/${cell}/anonymous-write-test` } },
      [client], [`afs-resolves.${g}`]);
    if (tokenPrincipal) {
      const token = `token-accepted-by-fileserver.${g}`;
      add({ id: token, kind: 'client-tokens', name: `a fileserver accepts ${tokenPrincipal}'s token from ${g} (authenticated call)`, guest: g, params: { principal: tokenPrincipal } },
        [client, addr.principal(tokenPrincipal), addr.serviceKey(cell)], [`client-module.${g}`, `kinit.${tokenPrincipal}@${g}`, 'afs-quorum']);
      add({ id: `client-file-rw.${g}`, kind: 'client-file-rw', name: `write a file in /afs/${cell} from ${g} as ${writer} and read it back from the fileserver`, guest: g, params: { principal: writer, path: `/afs/${cell}/cellctl-smoke-${g}.txt` } },
        [client, addr.principal(writer)], [token, `afs-resolves.${g}`, `kinit.${writer}@${g}`]);
      add({ id: `fs-listacl.${g}`, kind: 'client-acl-list', name: `fs listacl /afs/${cell} from ${g} as ${writer} shows the fileserver's ACL`, guest: g, params: { principal: writer, path: `/afs/${cell}` } },
        [client, addr.principal(writer)], [token, `afs-resolves.${g}`]);
      // Another principal than the administrator is granted a directory; the administrator keeps only rl there.
      const other = principals.find((p) => p !== writer);
      if (other) {
        add({ id: `fs-setacl-write-allowed-and-refused.${g}`, kind: 'client-acl-write', name: `fs setacl from ${g}: ${other} may write in a directory of /afs/${cell}, ${writer} is refused there`, guest: g,
          params: { admin: writer, allowed: other, refused: writer, dir: `/afs/${cell}/cellctl-acl-${g}` } },
        [client, addr.principal(writer), addr.principal(other), addr.ptsUser(other)], [`client-file-rw.${g}`, `fs-listacl.${g}`, `kinit.${other}@${g}`]);
      }
    }
    add({ id: `fs-listquota.${g}`, kind: 'client-quota', name: `fs listquota /afs/${cell} from ${g}: root.cell's quota and usage from its fileserver`, guest: g, params: { path: `/afs/${cell}`, volume: 'root.cell' } },
      [client], [`afs-resolves.${g}`]);
    add({ id: `fs-checkservers.${g}`, kind: 'client-servers', name: `fs checkservers from ${g}: every fileserver the client knows answers`, guest: g, params: { fileservers } },
      [client], [`afs-resolves.${g}`]);
  }
  return checks;
}
