// References the schema cannot check in the realms and the AFS cell's contents: realms and trusts,
// keytabs, pts users and groups, replicas, mount points and ACLs. Written against possibly
// ill-typed data (the schema's errors are reported alongside), so every access checks its type.
import { cellPath, foreignRealm, mountTarget, ptsName, realmAuthGroup, SYSTEM_GROUPS } from './afs.js';
import { hintFor } from './suggest.js';
import type { Path } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strings = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === 'string');
const entries = (v: unknown): [string, unknown][] => (isObj(v) ? Object.entries(v) : []);

/** What the semantic checker lends these checks. */
export interface Checks {
  add(message: string, path: Path, hint?: string | (() => string | undefined), atKey?: boolean): void;
  guestRef(name: unknown, path: Path, atKey?: boolean): void;
  catalogRef(table: Map<string, unknown>, what: string, path: Path): void;
  software: Map<string, unknown>;
}

/** The cell's realm and the others: each realm's principals, its KDC guests, its keytabs. */
export function checkRealms(c: Checks, data: Obj): void {
  const cellRealm = str(data.realm) ?? str(data.cell)?.toUpperCase();
  const kdcOf = new Map<string, string>(); // guest -> realm
  const realmKdcs = (realm: string | undefined, r: Obj, at: Path) => {
    list(r.kdcs).forEach((g, i) => {
      if (typeof g !== 'string' || realm === undefined) return;
      const other = kdcOf.get(g);
      if (other !== undefined && other !== realm) {
        c.add(`guest '${g}' is a KDC of ${other} and of ${realm}; cellctl runs one realm per KDC guest`, [...at, 'kdcs', i], 'give each realm its own KDC guests');
      }
      kdcOf.set(g, realm);
    });
    keytabs(c, r, at);
  };
  if (isObj(data.kerberos)) realmKdcs(cellRealm, data.kerberos, ['kerberos']);
  for (const [name, r] of entries(data.realms)) {
    if (!isObj(r)) continue;
    if (name === cellRealm) c.add(`realm ${name} is the cell's own realm (realm:, served by kerberos:)`, ['realms', name], 'name another realm here, or drop it', true);
    c.catalogRef(c.software, 'software', ['realms', name, 'software']);
    list(r.kdcs).forEach((g, i) => c.guestRef(g, ['realms', name, 'kdcs', i]));
    realmKdcs(name, r, ['realms', name]);
  }
  const known = Object.keys(isObj(data.realms) ? data.realms : {});
  if (isObj(data.kerberos)) {
    list(data.kerberos.trusts).forEach((t, i) => {
      if (typeof t !== 'string' || known.includes(t)) return;
      c.add(`kerberos.trusts names realm ${t}, which is not one of realms:`, ['kerberos', 'trusts', i], () => hintFor(t, known) ?? 'add it under realms: with its KDCs');
    });
  }
}

function keytabs(c: Checks, r: Obj, at: Path): void {
  const principals = new Set(strings(r.principals));
  const seen = new Map<string, number>();
  list(r.keytabs).forEach((k, i) => {
    if (!isObj(k)) return;
    const p = str(k.principal);
    c.guestRef(k.guest, [...at, 'keytabs', i, 'guest']);
    if (p === undefined) return;
    if (principals.has(p)) {
      c.add(`keytab for ${p}: it is a password principal of this realm; ktadd would give it a random key and its password would stop working`, [...at, 'keytabs', i, 'principal'], 'drop it from principals (a keytab principal has a random key), or drop the keytab');
    }
    const first = seen.get(p);
    if (first !== undefined) c.add(`duplicate keytab for ${p}`, [...at, 'keytabs', i, 'principal'], `it is also keytabs[${first}]`);
    else seen.set(p, i);
  });
}

/** The AFS users the file can name: pts names of the cell realm's principals and of trusted realms' ones. */
function knownUsers(data: Obj): Set<string> {
  const cellRealm = str(data.realm) ?? str(data.cell)?.toUpperCase() ?? '';
  const out = new Set<string>();
  if (isObj(data.kerberos)) for (const p of strings(data.kerberos.principals)) out.add(ptsName(p).toLowerCase());
  for (const [realm, r] of entries(data.realms)) {
    if (isObj(r)) for (const p of strings(r.principals)) out.add(ptsName(p, realm, cellRealm).toLowerCase());
  }
  return out;
}

/** afs.users, afs.groups, replicas, afs.mounts and afs.acls. */
export function checkAfsContents(c: Checks, data: Obj, afs: Obj): void {
  const cell = str(data.cell) ?? '';
  const users = knownUsers(data);
  const userRef = (u: unknown, path: Path, atKey = false) => {
    if (typeof u !== 'string' || users.has(u)) return;
    const realm = foreignRealm(u);
    const why = realm && !(isObj(data.realms) && Object.hasOwn(data.realms, realm))
      ? `the realm ${realm} is not one of realms:` : `no principal of ${realm ?? 'the cell\'s realm'} has that pts name`;
    c.add(`unknown AFS user '${u}' (${why})`, path, () => hintFor(u, [...users]) ?? 'AFS users are the pts names of principals: kula/admin is kula.admin, bob@OTHER.REALM is bob@other.realm', atKey);
  };
  for (const [u] of entries(afs.users)) userRef(u, ['afs', 'users', u], true);

  const groups = new Set(Object.keys(isObj(afs.groups) ? afs.groups : {}));
  for (const [g, spec] of entries(afs.groups)) {
    const at: Path = ['afs', 'groups', g];
    if (g !== 'system:administrators' && (g.startsWith('system:') || SYSTEM_GROUPS.includes(g as never))) {
      c.add(`group ${g} is made by the ptserver${g.startsWith('system:authuser@') ? ' (cellctl adds it for a trusted realm)' : ''}; its membership is implicit`, at, 'only system:administrators takes declared members', true);
      continue;
    }
    if (!isObj(spec)) continue;
    if (g === 'system:administrators' && (spec.owner !== undefined || spec.id !== undefined)) {
      c.add('system:administrators takes members only: its owner and id are fixed (-204)', at, undefined, true);
    }
    const owner = str(spec.owner);
    if (owner !== undefined && owner !== 'system:administrators' && !groups.has(owner)) userRef(owner, [...at, 'owner']);
    list(spec.members).forEach((m, i) => userRef(m, [...at, 'members', i]));
  }

  const fileservers = isObj(afs.fileservers) ? afs.fileservers : {};
  const volumes = new Map<string, Obj>();
  list(afs.volumes).forEach((v, i) => {
    if (!isObj(v)) return;
    if (typeof v.name === 'string') volumes.set(v.name, v);
    const sites = new Set<string>();
    list(v.replicas).forEach((s, j) => {
      if (!isObj(s)) return;
      const at = (k: string): Path => ['afs', 'volumes', i, 'replicas', j, k];
      const server = str(s.server);
      const partition = str(s.partition);
      if (server === undefined) return;
      const parts = fileservers[server];
      if (!Array.isArray(parts)) {
        c.add(`read-only site of '${String(v.name)}' is on '${server}', which is not an AFS fileserver`, at('server'), () => hintFor(server, Object.keys(fileservers)));
        return;
      }
      if (partition !== undefined && !parts.includes(partition)) {
        c.add(`read-only site of '${String(v.name)}' is on partition '${partition}', which fileserver '${server}' does not have`, at('partition'), () => hintFor(partition, strings(parts)));
      }
      const key = `${server} ${partition}`;
      if (sites.has(key)) c.add(`two read-only sites of '${String(v.name)}' on ${server} ${partition} (vos addsite: RO already exists on partition)`, at('server'));
      sites.add(key);
    });
  });

  // Mount points: below the cell, in a directory that is the cell's root or another mount point.
  const mounted = new Map<string, string>(); // rel -> path as written
  const mounts = entries(afs.mounts).map(([path, m]) => ({ path, m, at: ['afs', 'mounts', path] as Path, where: cellPath(path, cell) }));
  mounts.sort((a, b) => (a.where?.rel.split('/').length ?? 0) - (b.where?.rel.split('/').length ?? 0));
  for (const { path, m, at, where } of mounts) {
    if (!where || where.rel === '') {
      c.add(`mount point ${path} is not below /afs/${cell}`, at, `mount points go in the cell, e.g. /afs/${cell}/home (the cell's root is root.cell, mounted by the client)`, true);
      continue;
    }
    const first = mounted.get(where.rel);
    if (first !== undefined) {
      c.add(`mount point ${path} is the same directory entry as ${first} (/afs/${cell} and /afs/.${cell} are one volume, root.cell)`, at, 'keep one of them', true);
      continue;
    }
    const parent = where.rel.slice(0, where.rel.lastIndexOf('/'));
    if (parent !== '' && !mounted.has(parent)) {
      c.add(`mount point ${path} is in ${path.slice(0, path.lastIndexOf('/'))}, which is neither /afs/${cell} nor a mount point of afs.mounts`, at, 'cellctl makes no directories: mount the parent first', true);
    }
    mounted.set(where.rel, path);
    const volume = typeof m === 'string' ? m : isObj(m) ? str(m.volume) : undefined;
    if (volume === undefined) continue;
    const t = mountTarget(volume);
    const v = volumes.get(t.base);
    const vat: Path = typeof m === 'string' ? at : [...at, 'volume'];
    if (!v) c.add(`mount point ${path} names volume '${t.base}', which is not in afs.volumes`, vat, () => hintFor(t.base, [...volumes.keys()]));
    else if (t.clone === 'ro' && list(v.replicas).length === 0) c.add(`mount point ${path} names ${volume}, but ${t.base} has no replicas (no read-only clone)`, vat, `add replicas to ${t.base}, or mount ${t.base}`);
    else if (t.clone === 'backup' && v.backup !== true) c.add(`mount point ${path} names ${volume}, but ${t.base} has no backup volume`, vat, `set backup: true on ${t.base}`);
    if (t.clone && isObj(m) && m.rw === true) c.add(`a read/write mount point cannot name the read-only ${volume}`, [...at, 'rw'], `mount ${t.base} instead`);
  }

  // ACLs: on /afs, the cell's root or a mount point; entries are users, groups or the system groups.
  const trusted = isObj(data.kerberos) ? strings(data.kerberos.trusts) : [];
  const names = new Set([...users, ...groups, ...SYSTEM_GROUPS, ...trusted.map(realmAuthGroup)]);
  const seen = new Map<string, string>();
  for (const [path, acl] of entries(afs.acls)) {
    const at: Path = ['afs', 'acls', path];
    const where = cellPath(path, cell);
    const key = path === '/afs' || path === '/afs/' ? '/afs' : where ? `cell:${where.rel}` : undefined;
    if (key === undefined || (where && where.rel !== '' && !mounted.has(where.rel))) {
      c.add(`ACL for ${path}: not a volume's root directory cellctl knows (/afs, /afs/${cell}, or a mount point of afs.mounts)`, at, 'cellctl makes no other directories', true);
      continue;
    }
    const first = seen.get(key);
    if (first !== undefined) c.add(`ACL for ${path} is the ACL of ${first} (the same directory)`, at, 'keep one of them', true);
    seen.set(key, path);
    for (const [who] of entries(acl)) {
      if (names.has(who)) continue;
      const realm = foreignRealm(who);
      if (realm && who.startsWith('system:authuser@')) c.add(`ACL for ${path} names ${who}, but ${realm} is not in kerberos.trusts`, [...at, who], `trust ${realm}, or drop the entry`, true);
      else c.add(`ACL for ${path} names '${who}', which is no AFS user or group of the cell`, [...at, who], () => hintFor(who, [...names]), true);
    }
  }
}
