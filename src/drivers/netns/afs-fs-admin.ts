// What fs does as an administrator: mount points (fs mkmount/rmmount) and ACLs (fs setacl -clear),
// through cellctl-uafs (libuafs: the pioctls a kernel client would take) with an administrator's
// real token, in a guest of the cell, on the read/write path (/afs/.<cell>) so a replicated volume
// is changed in its RW and the release that follows carries it to the clones.
import { rmSync } from 'node:fs';
import { parseRights } from '../../config/afs.js';
import type { AclAttrs, MountAttrs } from '../../plan/resources.js';
import { Mutex, type Runner } from './exec.js';
import type { Layout } from './layout.js';
import { bosPid } from './afs-servers.js';
import { last } from './access-checks.js';
import { clientPid, getToken, uafs } from './client.js';

/** fs la's letters as the ACL bits of the fileserver (PRSFS_*; A-H are the eight user-defined rights). */
const BITS: Record<string, number> = { r: 1, w: 2, i: 4, l: 8, d: 16, k: 32, a: 64, ...Object.fromEntries([...'ABCDEFGH'].map((c, n) => [c, 2 ** (24 + n)])) };

export function aclBits(rights: string): number {
  return [...parseRights(rights).rights].reduce((s, c) => s + (BITS[c] ?? 0), 0);
}

/** VIOCGETAL's text ("npos\nnneg\n" then "name\tbits" lines) as fs la shows it: "name rights", negative ones with a '-'. */
export function aclShown(text: string): string[] {
  const [npos = 0, , ...rest] = text.trim().split('\n');
  const letters = (bits: number) => Object.entries(BITS).filter(([, b]) => bits & b).map(([c]) => c).join('');
  return rest.map((l, i) => {
    const [name, bits] = l.split('\t');
    return `${i < Number(npos) ? '' : '-'}${name} ${letters(Number(bits))}`;
  });
}

/** The ACL in VIOCSETAL's text form: "npos\nnneg\n" then one "name\tbits" line per entry. */
export function aclText(normal: Record<string, string>, negative: Record<string, string>): string {
  const lines = (m: Record<string, string>) => Object.entries(m).map(([n, r]) => `${n}\t${aclBits(r)}\n`);
  return `${Object.keys(normal).length}\n${Object.keys(negative).length}\n${lines(normal).join('')}${lines(negative).join('')}`;
}

/** /afs/<cell>/x as its read/write path /afs/.<cell>/x (dynroot's RW entry for the cell). */
export function rwPath(cell: string, path: string): string {
  const own = `/afs/${cell}`;
  return path === own || path.startsWith(`${own}/`) ? `/afs/.${cell}${path.slice(own.length)}` : path;
}

/** Where fs runs: a client guest, else a server guest (its namespaces have the cell's CellServDB). */
function fsGuest(L: Layout): string {
  const g = Object.keys(L.reg.clients).find((c) => clientPid(L, c)) ?? Object.keys(L.reg.bos).find((s) => bosPid(L, s));
  if (!g) throw new Error('no AFS client or server is running in this cell to run fs in');
  return g;
}

const fsLocks = new WeakMap<Layout, Mutex>(); // one fs change at a time per cell: they share the administrator's ticket cache and token file

/** Runs `fn` with a token of one of the cell's administrators (system:administrators has a on every directory). */
function asAdmin<T>(r: Runner, L: Layout, pw: (p: string) => string, fn: (guest: string, token: string) => Promise<T>): Promise<T> {
  const lock = fsLocks.get(L) ?? fsLocks.set(L, new Mutex()).get(L)!;
  return lock.run(() => asAdminNow(r, L, pw, fn));
}

async function asAdminNow<T>(r: Runner, L: Layout, pw: (p: string) => string, fn: (guest: string, token: string) => Promise<T>): Promise<T> {
  const admin = Object.values(L.reg.ptsUsers).find((u) => u.admin);
  if (!admin) throw new Error('the cell has no administrator (a pts user in system:administrators) to run fs as');
  const guest = fsGuest(L);
  const t = await getToken(r, L, guest, admin.principal, pw(admin.principal));
  if (!t.ok || !t.file) throw new Error(`${t.message}: ${t.detail.split('\n').slice(-2).join(' ')}`);
  try {
    return await fn(guest, t.file);
  } finally {
    rmSync(t.file, { force: true });
  }
}

const split = (p: string): [string, string] => [p.slice(0, p.lastIndexOf('/')), p.slice(p.lastIndexOf('/') + 1)];

/** fs mkmount DIR VOLUME [-rw]: converges (a mount point for another volume is replaced). */
export function createMount(r: Runner, L: Layout, pw: (p: string) => string, a: MountAttrs): Promise<Record<string, string>> {
  const target = `${a.rw ? '%' : '#'}${a.volume}.`;
  const [dir, name] = split(rwPath(L.cell, a.path));
  return asAdmin(r, L, pw, async (g, tok) => {
    const now = await uafs(r, L, g, tok, ['lsmount', dir, name]);
    if (now.code === 0 && now.stdout.trim() === target) return { path: a.path, target };
    if (now.code === 0) await must(uafs(r, L, g, tok, ['rmmount', dir, name]), `fs rmmount ${dir}/${name}`);
    await must(uafs(r, L, g, tok, ['mkmount', `${dir}/${name}`, target]), `fs mkmount ${dir}/${name} ${target}`);
    const made = await must(uafs(r, L, g, tok, ['lsmount', dir, name]), `fs lsmount ${dir}/${name}`);
    return { path: a.path, target: made.stdout.trim() };
  });
}

export function deleteMount(r: Runner, L: Layout, pw: (p: string) => string, a: MountAttrs): Promise<void> {
  const [dir, name] = split(rwPath(L.cell, a.path));
  return asAdmin(r, L, pw, async (g, tok) => {
    const res = await uafs(r, L, g, tok, ['rmmount', dir, name]);
    if (res.code !== 0 && !/No such file|not a mount point|Invalid argument/i.test(res.out)) throw new Error(`fs rmmount ${dir}/${name}: ${res.out}`);
  });
}

/** fs setacl -clear: the directory's ACL becomes exactly the file's, negative entries included. */
export function setAcl(r: Runner, L: Layout, pw: (p: string) => string, a: AclAttrs): Promise<Record<string, string>> {
  const path = rwPath(L.cell, a.path);
  return asAdmin(r, L, pw, async (g, tok) => {
    await must(uafs(r, L, g, tok, ['putacl', path], aclText(a.normal, a.negative)), `fs setacl -clear ${path}`);
    const got = await must(uafs(r, L, g, tok, ['getacl', path]), `fs listacl ${path}`);
    return { path: a.path, acl: aclShown(got.stdout).join(', ') };
  });
}

/** Back to what a new volume's root has: system:administrators rlidwka. */
export function clearAcl(r: Runner, L: Layout, pw: (p: string) => string, a: AclAttrs): Promise<void> {
  const path = rwPath(L.cell, a.path);
  return asAdmin(r, L, pw, async (g, tok) => {
    const res = await uafs(r, L, g, tok, ['putacl', path], aclText({ 'system:administrators': 'rlidwka' }, {}));
    if (res.code !== 0 && !/No such file/i.test(res.out)) throw new Error(`fs setacl -clear ${path}: ${res.out}`);
  });
}

async function must<T extends { code: number; out: string }>(p: Promise<T>, what: string): Promise<T> {
  const res = await p;
  if (res.code !== 0) throw new Error(`${what} failed: ${last(res.out)}`);
  return res;
}
