// The end-to-end checks of a cell, derived from the plan's resources (what was asked for is what is
// checked). Each id and name says what the check proves; the drivers exercise exactly that, with
// nothing cached. Each names the resources it exercises and the checks it needs first: smoke skips a
// check whose resources were not applied or whose prerequisite failed, so one root cause is one failure.
import type { Check } from '../drivers/driver.js';
import { addr } from '../plan/addrs.js';
import type { Resource, ResourceOf, ResourceType } from '../plan/resources.js';
import { accessChecks, AfsView } from './checks-afs.js';

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
  const realmOf = new Map(resources.filter((r) => r.type === 'principal').map((r) => [r.name, (r.attrs as { realm: string }).realm]));
  const qualified = (p: string) => (p.includes('@') ? p : `${p}@${realm}`);
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
    add({ id: `kdc-answers.${k.guest}`, kind: 'kdc-answers', name: `KDC on ${k.guest} answers an AS-REQ for ${k.realm}`, guest: k.guest, params: { realm: k.realm } }, [addr.kdc(k.guest)], [running(k.guest)]);
  }
  const kdcAnswers = (r: string) => kdcs.filter((k) => k.realm === r).map((k) => `kdc-answers.${k.guest}`);
  // kinit from every client guest (or from the KDC when the cell has no AFS client).
  const kinitFrom = clients.length ? clients.map((c) => c.guest) : kdcs.slice(0, 1).map((k) => k.guest);
  for (const g of kinitFrom) {
    for (const p of principals) {
      add({ id: `kinit.${p}@${g}`, kind: 'kinit', name: `kinit ${qualified(p)} from ${g} gets a TGT`, guest: g, params: { principal: p } }, [addr.principal(p)], [running(g), ...kdcAnswers(realmOf.get(p) ?? realm)]);
    }
  }
  for (const k of of('keytab')) {
    if (!k.guest) continue;
    const full = `${k.principal}@${k.realm}`;
    add({ id: `keytab-kinit.${full}`, kind: 'keytab-kinit', name: `kinit -k with ${full}'s keytab on ${k.guest} gets a TGT (the keytab holds the KDC's key)`, guest: k.guest, params: { principal: full } },
      [addr.keytab(k.realm === realm ? k.principal : full)], [running(k.guest), ...kdcAnswers(k.realm)]);
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
  for (const g of of('pts-group')) {
    if (!g.members.length) continue;
    add({ id: addr.ptsGroup(g.group), kind: 'pts-group', name: `the ptserver has group ${g.group} with ${g.members.join(', ')} (pts membership)`, guest: dbservers[0], params: { group: g.group, members: g.members } },
      [addr.ptsGroup(g.group)], ['afs-quorum']);
  }
  const afs = new AfsView(cell, resources);
  const tokenPrincipal = principals.find((p) => !p.includes('@'));
  // Write in root.cell as one who may by its ACL (a fresh one: system:administrators only), through
  // /afs/.<cell> when root.cell is replicated (its regular path is then the read-only clone).
  const writer = (afs.writers('root.cell', true).find((u) => u.admin) ?? afs.writers('root.cell', true).find((u) => !u.principal.includes('@')))?.principal;
  const rw = afs.replicated.has('root.cell') ? `/afs/.${cell}` : `/afs/${cell}`;
  const rootVolumes = ['root.afs', 'root.cell'].map((v) => `volume-listed.${v}`);
  for (const c of clients) {
    const g = c.guest;
    const client = addr.afsClient(g);
    const mod = resources.find((r) => r.type === 'module' && r.attrs.guest === g && r.attrs.module === c.module);
    add({ id: `client-module.${g}`, kind: 'client-module', name: `AFS client module loaded on ${g}`, guest: g, params: { module: c.module } },
      [mod?.address ?? client], [running(g)]);
    add({ id: `afs-resolves.${g}`, kind: 'afs-resolves', name: `/afs/${cell} on ${g} resolves to root.cell and its fileserver answers`, guest: g, params: { path: `/afs/${cell}` } },
      [client], [`client-module.${g}`, 'afs-quorum', ...rootVolumes]);
    add({ id: `anon-write-refused-by-fileserver.${g}`, kind: 'client-anon-refused', name: `the fileserver refuses an anonymous write in ${rw} from ${g}`, guest: g, params: { path: `${rw}/anonymous-write-test` } },
      [client], [`afs-resolves.${g}`]);
    if (tokenPrincipal) {
      const token = `token-accepted-by-fileserver.${g}`;
      add({ id: token, kind: 'client-tokens', name: `a fileserver accepts ${tokenPrincipal}'s token from ${g} (authenticated call)`, guest: g, params: { principal: tokenPrincipal } },
        [client, addr.principal(tokenPrincipal), addr.ptsUser(tokenPrincipal), addr.serviceKey(cell)], [`client-module.${g}`, `kinit.${tokenPrincipal}@${g}`, 'afs-quorum']);
      if (writer) {
        add({ id: `client-file-rw.${g}`, kind: 'client-file-rw', name: `write a file in ${rw} from ${g} as ${writer} and read it back from the fileserver`, guest: g, params: { principal: writer, path: `${rw}/cellctl-smoke-${g}.txt` } },
          [client, addr.principal(writer)], [token, `afs-resolves.${g}`, `kinit.${writer}@${g}`]);
      }
      if (g === clients[0]!.guest) {
        for (const d of accessChecks(afs, resources, g, realm, { token, resolves: `afs-resolves.${g}` })) add(d.check, d.resources, d.needs);
      }
    }
  }
  return checks;
}
