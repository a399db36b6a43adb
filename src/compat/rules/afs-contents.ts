// What the ptserver, fs setacl and the cache manager make of the cell's users, groups, ACLs and
// mount points (OpenAFS src/ptserver/ptutils.c, src/libacl, the Administration Guide's "Rules of
// Mount Point Traversal").
import { cellPath, mountTarget } from '../../config/afs.js';
import { addr } from '../../plan/addrs.js';
import type { CodeDoc, Finding } from '../types.js';
import type { Rule } from './util.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: 'pts-group-prefix', severity: 'error', title: "a group's owner:name prefix is not its owner",
    explanation: "A group named owner:name belongs to the user or group called owner; the ptserver refuses to create kula:friends for anyone else ('Badly formed name'), since the prefix is how pts examine, pts listowned and ACLs show who controls it.",
    fix: "Name the group after its owner (amy:friends for owner amy), or give it a plain name an administrator owns.",
  },
  {
    code: 'pts-id-conflict', severity: 'error', title: 'two AFS users or groups with one id, or a reserved id',
    explanation: "pts createuser -id and pts creategroup -id refuse an id that is taken ('Entry for id already exists'); 32766 is anonymous, -101, -102 and -204 are system:anyuser, system:authuser and system:administrators.",
    fix: 'Give each user and group its own id, away from the reserved ones (or leave the id out: the ptserver picks one).',
  },
  {
    code: 'acl-without-lookup', severity: 'warning', title: 'an ACL entry grants rights but not l (lookup)',
    explanation: "Without l a user cannot list the directory or reach anything in it by name, so the r, i, w and d rights of the same entry are of no use (the fileserver checks l first). Usually a slip: rl was meant, not r.",
    fix: 'Add l to the entry (read is rl, write is rlidwk), or drop the entry.',
  },
  {
    code: 'ro-clone-unreachable', severity: 'warning', title: "a replicated volume is mounted in a volume that is not replicated",
    explanation: "The cache manager follows a regular mount point to a read-only clone only from a read-only volume (rule 2); from a read/write one it stays read/write (rule 3). A volume mounted only from unreplicated volumes is read from its RW however many RO sites it has (/afs/<cell> is in root.afs: replicate root.afs too).",
    fix: 'Replicate the volume holding the mount point too (and so up to root.afs), or mount NAME.readonly explicitly.',
  },
];

/** owner:name groups whose owner is someone else. */
export const ptsGroupPrefix: Rule = (spec) => {
  const out: Finding[] = [];
  for (const g of spec.afs?.groups ?? []) {
    const colon = g.name.indexOf(':');
    if (colon < 0 || g.name.slice(0, colon) === g.owner) continue;
    out.push({
      code: 'pts-group-prefix', severity: 'error', subject: addr.ptsGroup(g.name),
      message: `pts creategroup ${g.name} -owner ${g.owner}: Badly formed name (the prefix ${g.name.slice(0, colon)} is not the owner ${g.owner})`,
      fix: `name it ${g.owner}:${g.name.slice(colon + 1)}, or make ${g.name.slice(0, colon)} its owner`,
      pos: spec.posOf(['afs', 'groups', g.name]),
    });
  }
  return out;
};

const RESERVED = new Map<number, string>([[32766, 'anonymous'], [-101, 'system:anyuser'], [-102, 'system:authuser'], [-204, 'system:administrators']]);

export const ptsIdConflict: Rule = (spec) => {
  const afs = spec.afs;
  if (!afs) return [];
  const out: Finding[] = [];
  const taken = new Map<number, string>(RESERVED);
  const check = (name: string, id: number | undefined, subject: string, path: (string | number)[]) => {
    if (id === undefined) return;
    const holder = taken.get(id);
    if (holder === undefined) {
      taken.set(id, name);
      return;
    }
    out.push({
      code: 'pts-id-conflict', severity: 'error', subject,
      message: `pts: Entry for id already exists ; unable to create ${name} with id ${id} (${holder}${RESERVED.has(id) ? ', built in' : ''} has it)`,
      fix: `give ${name} another id, or leave the id out`,
      pos: spec.posOf(path),
    });
  };
  for (const [u, x] of Object.entries(afs.users)) check(u, x.id, addr.ptsName(u), ['afs', 'users', u, 'id']);
  for (const g of afs.groups) check(g.name, g.id, addr.ptsGroup(g.name), ['afs', 'groups', g.name, 'id']);
  return out;
};

export const aclWithoutLookup: Rule = (spec) => {
  const out: Finding[] = [];
  for (const a of spec.afs?.acls ?? []) {
    for (const [who, rights] of Object.entries(a.normal)) {
      if (rights.includes('l') || !/[ridwk]/.test(rights)) continue;
      out.push({
        code: 'acl-without-lookup', severity: 'warning', subject: addr.acl(a.path),
        message: `${who} has ${rights} on ${a.path} but not l (lookup): the fileserver checks l first, so those rights are unusable`,
        fix: `give ${who} l${rights} (or read: rl, write: rlidwk)`,
        pos: spec.posOf(['afs', 'acls', a.path, who]),
      });
    }
  }
  return out;
};

/** Replicated volumes whose every regular mount point is in an unreplicated volume (root.cell's is in root.afs). */
export const roCloneUnreachable: Rule = (spec) => {
  const afs = spec.afs;
  if (!afs) return [];
  const replicated = new Set(afs.volumes.filter((v) => v.replicas.length).map((v) => v.name));
  // Where each volume is mounted from: root.cell from root.afs (the client's /afs/<cell>), the rest as declared.
  const from = new Map<string, string[]>([['root.cell', ['root.afs']]]);
  const mounts = new Map(afs.mounts.map((m) => [cellPath(m.path, spec.cell)?.rel ?? '', m]));
  for (const [rel, m] of mounts) {
    if (m.rw || mountTarget(m.volume).clone) continue;
    const parent = mounts.get(rel.slice(0, rel.lastIndexOf('/')));
    const holder = parent ? mountTarget(parent.volume).base : 'root.cell';
    (from.get(m.volume) ?? from.set(m.volume, []).get(m.volume)!).push(holder);
  }
  const out: Finding[] = [];
  afs.volumes.forEach((v, i) => {
    const holders = from.get(v.name);
    if (!replicated.has(v.name) || !holders?.length || holders.some((h) => replicated.has(h))) return;
    out.push({
      code: 'ro-clone-unreachable', severity: 'warning', subject: addr.release(v.name),
      message: `${v.name} has read-only sites, but it is mounted only in ${[...new Set(holders)].join(', ')}, which ${holders.length > 1 ? 'are' : 'is'} not replicated: clients stay on the read/write path and read ${v.name}'s RW`,
      fix: `replicate ${[...new Set(holders)].join(' and ')} too`,
      pos: spec.posOf(['afs', 'volumes', i, 'replicas']),
    });
  });
  return out;
};
