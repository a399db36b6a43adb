// How AFS names things, for every stage: pts names of principals, rights as fs la prints them, and
// paths in the cell (/afs/<cell>/x and /afs/.<cell>/x are one directory, reached RO-first or RW).

/**
 * The pts name of a principal: kula/admin -> kula.admin (AFS writes a Kerberos 5 instance after a
 * dot); a principal of another realm keeps its realm, lower-cased: bob@ATHENA.NET -> bob@athena.net
 * (OpenAFS src/aklog/aklog.c, src/ptserver/ptprocs.c).
 */
export function ptsName(principal: string, realm?: string, cellRealm?: string): string {
  const name = principal.replace('/', '.');
  return realm && cellRealm && realm !== cellRealm ? `${name}@${realm.toLowerCase()}` : name;
}

/** The realm a foreign pts name comes from (upper-cased), or undefined for the cell's own users. */
export function foreignRealm(pts: string): string | undefined {
  const at = pts.indexOf('@');
  return at < 0 ? undefined : pts.slice(at + 1).toUpperCase();
}

/** The letters of the AFS rights, in the order fs la prints them. */
export const RIGHTS_ORDER = 'rlidwkaABCDEFGH';
const WORDS: Record<string, string> = { all: 'rlidwka', read: 'rl', write: 'rlidwk' };

/** fs setacl's rights ("all", "rl", "-w") as { negative, letters in fs la order }. */
export function parseRights(text: string): { negative: boolean; rights: string } {
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const letters = WORDS[body] ?? body;
  return { negative, rights: [...RIGHTS_ORDER].filter((c) => letters.includes(c)).join('') };
}

/** `a` without the letters in `minus`. */
export function withoutRights(a: string, minus: string): string {
  return [...a].filter((c) => !minus.includes(c)).join('');
}

export function unionRights(...all: string[]): string {
  const joined = all.join('');
  return [...RIGHTS_ORDER].filter((c) => joined.includes(c)).join('');
}

/**
 * Where a path is in the cell: `rel` is the path below /afs/<cell> ('' for the cell's root), `rw` says
 * it was written through /afs/.<cell>. Undefined for /afs itself and for paths outside the cell.
 */
export function cellPath(path: string, cell: string): { rel: string; rw: boolean } | undefined {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== 'afs' || parts.length < 2) return undefined;
  const top = parts[1]!;
  if (top !== cell && top !== `.${cell}`) return undefined;
  return { rel: parts.slice(2).map((p) => `/${p}`).join(''), rw: top === `.${cell}` };
}

/** The volume name and clone a mount point names: home, home.readonly, home.backup. */
export function mountTarget(volume: string): { base: string; clone: 'rw' | 'ro' | 'backup' | undefined } {
  if (volume.endsWith('.readonly')) return { base: volume.slice(0, -'.readonly'.length), clone: 'ro' };
  if (volume.endsWith('.backup')) return { base: volume.slice(0, -'.backup'.length), clone: 'backup' };
  return { base: volume, clone: undefined };
}

/** The groups every cell has; their members are implicit (anyuser, authuser) or the administrators. */
export const SYSTEM_GROUPS = ['system:anyuser', 'system:authuser', 'system:administrators'] as const;

/** system:authuser@<realm>: the group a trusted realm's users are in (instead of system:authuser). */
export function realmAuthGroup(realm: string): string {
  return `system:authuser@${realm.toLowerCase()}`;
}

/**
 * The rights a caller has in a directory, as the fileserver works them out: the union of the normal
 * entries of every name in its CPS (current protection subdomain: system:anyuser, and for an
 * authenticated user itself, system:authuser or system:authuser@realm, its groups), minus the union
 * of the negative ones; system:administrators always have a and l on top.
 */
export function effectiveRights(acl: { normal: Record<string, string>; negative: Record<string, string> }, cps: readonly string[], admin: boolean): string {
  const pick = (m: Record<string, string>) => unionRights(...cps.map((n) => (Object.hasOwn(m, n) ? m[n]! : '')));
  const rights = withoutRights(pick(acl.normal), pick(acl.negative));
  return admin ? unionRights(rights, 'al') : rights;
}

/**
 * A user's CPS: system:anyuser; an authenticated user, itself, system:authuser (a user of another realm:
 * system:authuser@realm, when that group exists) and its groups.
 */
export function cpsOf(user: string | null, groups: readonly string[], hasGroup: (g: string) => boolean): string[] {
  if (user === null) return ['system:anyuser'];
  const realm = foreignRealm(user);
  const auth = realm ? (hasGroup(realmAuthGroup(realm)) ? [realmAuthGroup(realm)] : []) : ['system:authuser'];
  return ['system:anyuser', user, ...auth, ...groups];
}
