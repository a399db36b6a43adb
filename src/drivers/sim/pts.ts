// The protection database (PRDB) in the sim: users (with the ids the cell file fixes, users of other
// realms as name@realm), groups with owners and members, system:administrators. Writes need a ubik
// quorum, as pts does; messages are pts's own.
import { cpsOf } from '../../config/afs.js';
import type { Attrs, PtsGroupAttrs, PtsUserAttrs } from '../../plan/resources.js';
import { requireDbRead, requireQuorum } from './afs.js';
import { advance, own, SECONDS, type SimAfsCell, type SimPtsEntry, type World } from './world.js';

const ADMINS = 'system:administrators';

/** The next id the ptserver hands out: above every user id, below every group id. */
function nextId(cell: SimAfsCell, kind: 'user' | 'group'): number {
  const ids = Object.values(cell.prdb.entries).filter((e) => e.kind === kind).map((e) => e.id);
  if (kind === 'user') return Math.max(cell.prdb.next_user_id, ...ids.filter((i) => i !== 32766).map((i) => i + 1));
  return Math.min(cell.prdb.next_group_id ?? -205, ...ids.map((i) => i - 1));
}

function idTaken(cell: SimAfsCell, id: number): string | undefined {
  return Object.entries(cell.prdb.entries).find(([, e]) => e.id === id)?.[0];
}

function setMember(cell: SimAfsCell, group: string, user: string, member: boolean): void {
  const g = own(cell.prdb.entries, group);
  if (!g) return;
  g.members = g.members.filter((m) => m !== user);
  if (member) g.members.push(user);
}

/** pts createuser NAME [-id N]; an administrator also goes into system:administrators. */
export function createPtsUser(w: World, a: PtsUserAttrs): Attrs {
  const cell = requireQuorum(w, `pts createuser ${a.user}`);
  if (own(cell.prdb.entries, a.user)) throw new Error(`pts: Entry for name already exists ; unable to create user ${a.user}`);
  if (a.id !== undefined && idTaken(cell, a.id)) throw new Error(`pts: Entry for id already exists ; unable to create user ${a.user} with id ${a.id}`);
  const id = a.id ?? nextId(cell, 'user');
  cell.prdb.entries[a.user] = { id, kind: 'user', members: [] };
  cell.prdb.next_user_id = Math.max(cell.prdb.next_user_id, id + 1);
  if (a.admin) setMember(cell, ADMINS, a.user, true);
  advance(w, SECONDS.admin);
  return { id, admin: a.admin };
}

export function updatePtsUser(w: World, a: PtsUserAttrs): Attrs {
  const cell = requireQuorum(w, `pts ${a.admin ? 'adduser' : 'removeuser'} ${a.user} ${ADMINS}`);
  const e = own(cell.prdb.entries, a.user);
  if (!e) throw new Error(`pts: User or group doesn't exist ; unable to change ${a.user}`);
  setMember(cell, ADMINS, a.user, a.admin);
  advance(w, SECONDS.admin);
  return { id: e.id, admin: a.admin };
}

export function deletePtsUser(w: World, a: PtsUserAttrs): void {
  if (!w.afs || !own(w.afs.prdb.entries, a.user)) return;
  const cell = requireQuorum(w, `pts delete ${a.user}`);
  for (const e of Object.values(cell.prdb.entries)) if (e.kind === 'group') e.members = e.members.filter((m) => m !== a.user);
  delete cell.prdb.entries[a.user];
  advance(w, SECONDS.admin);
}

/** A group's owner and members as the file says: pts chown, pts adduser, pts removeuser. */
function setGroup(cell: SimAfsCell, a: PtsGroupAttrs, g: SimPtsEntry): void {
  for (const m of a.members) {
    const e = own(cell.prdb.entries, m);
    if (e?.kind !== 'user') throw new Error(`pts: User or group doesn't exist ; unable to add user ${m} to group ${a.group}`);
  }
  if (a.owner !== ADMINS && !own(cell.prdb.entries, a.owner)) throw new Error(`pts: User or group doesn't exist ; unable to change owner of ${a.group} to ${a.owner}`);
  g.owner = a.owner;
  g.members = [...a.members];
}

export function createPtsGroup(w: World, a: PtsGroupAttrs): Attrs {
  const cell = requireQuorum(w, `pts creategroup ${a.group}`);
  if (own(cell.prdb.entries, a.group)) throw new Error(`pts: Entry for name already exists ; unable to create group ${a.group}`);
  if (a.id !== undefined && idTaken(cell, a.id)) throw new Error(`pts: Entry for id already exists ; unable to create group ${a.group} with id ${a.id}`);
  const colon = a.group.indexOf(':');
  if (colon > 0 && !a.group.startsWith('system:') && a.group.slice(0, colon) !== a.owner) {
    throw new Error(`pts: Badly formed name (group prefix doesn't match owner?) ; unable to create group ${a.group}`);
  }
  const id = a.id ?? nextId(cell, 'group');
  const g: SimPtsEntry = { id, kind: 'group', members: [], owner: ADMINS };
  setGroup(cell, a, g);
  cell.prdb.entries[a.group] = g;
  cell.prdb.next_group_id = Math.min(cell.prdb.next_group_id ?? -205, id - 1);
  advance(w, SECONDS.admin);
  return { id, owner: g.owner!, members: g.members.length };
}

export function updatePtsGroup(w: World, a: PtsGroupAttrs): Attrs {
  const cell = requireQuorum(w, `pts adduser/removeuser ${a.group}`);
  const g = own(cell.prdb.entries, a.group);
  if (g?.kind !== 'group') throw new Error(`pts: User or group doesn't exist ; unable to change ${a.group}`);
  setGroup(cell, a, g);
  advance(w, SECONDS.admin);
  return { id: g.id, owner: g.owner!, members: g.members.length };
}

export function deletePtsGroup(w: World, a: PtsGroupAttrs): void {
  if (!w.afs || !own(w.afs.prdb.entries, a.group)) return;
  const cell = requireQuorum(w, `pts delete ${a.group}`);
  delete cell.prdb.entries[a.group];
  advance(w, SECONDS.admin);
}

/** The groups a user is in (minus the implicit system groups). */
export function groupsOf(cell: SimAfsCell, user: string): string[] {
  return Object.entries(cell.prdb.entries).filter(([, e]) => e.kind === 'group' && e.members.includes(user)).map(([n]) => n);
}

/** The name of an AFS id, as the ptserver answers pts examine -nameorid. */
export function nameOf(cell: SimAfsCell, id: number): string | undefined {
  return Object.entries(cell.prdb.entries).find(([, e]) => e.id === id)?.[0];
}

/** What the fileserver asks the ptserver for a caller: its CPS and whether it administers the cell. */
export function callerOf(w: World, user: string | null): { cps: string[]; admin: boolean } {
  if (user === null || !w.afs) return { cps: cpsOf(null, [], () => false), admin: false };
  const cell = requireDbRead(w, 'pts getcps');
  const groups = groupsOf(cell, user);
  return { cps: cpsOf(user, groups, (g) => own(cell.prdb.entries, g)?.kind === 'group'), admin: groups.includes(ADMINS) };
}
