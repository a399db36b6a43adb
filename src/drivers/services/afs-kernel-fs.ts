// What fs does as an administrator, through a guest's kernel cache manager: mount points (fs mkmount
// [-rw], fs rmmount) and ACLs (fs setacl -clear, then the negative entries), in a PAG holding the
// administrator's token (kinit with the password on stdin, aklog: afs-client.ts's session). Paths are
// changed on the read/write path (/afs/.<cell>, dynroot's RW entry) so a replicated volume changes
// in its RW and the release that follows carries it to the clones. Any placement with a kernel client.
import { parseRights } from '../../config/afs.js';
import type { AclAttrs, MountAttrs } from '../../plan/resources.js';
import { cmd, session, type Step } from './afs-client.js';
import type { Placement, Services } from './placement.js';
import { lastLines, Mutex, shq } from './util.js';

/** /afs/<cell>/x as its read/write path /afs/.<cell>/x. */
export function rwPath(cell: string, path: string): string {
  const own = `/afs/${cell}`;
  return path === own || path.startsWith(`${own}/`) ? `/afs/.${cell}${path.slice(own.length)}` : path;
}

/** `fs listacl` output as { normal, negative }: name -> rights letters. */
export function parseListacl(out: string): { normal: Record<string, string>; negative: Record<string, string> } {
  const [pos = '', neg = ''] = out.split(/^Negative rights:$/m);
  const entries = (text: string) => Object.fromEntries([...text.matchAll(/^ {2}(\S+) ([rlidwkaABCDEFGH]+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { normal: entries(pos.replace(/^[\s\S]*?Normal rights:$/m, '')), negative: entries(neg) };
}

/** The rights of an ACL as fs la's letters, in its order (so two ACLs compare as text). */
const letters = (m: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(m).map(([n, r]) => [n, parseRights(r).rights]).filter(([, r]) => r));
const same = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(letters(a)).sort()) === JSON.stringify(Object.entries(letters(b)).sort());

/** A guest of the cell whose kernel client has /afs mounted (the first by name). */
export async function kernelClient(x: Services): Promise<Placement> {
  for (const g of x.guests().map((q) => q.name).sort()) {
    const p = x.place(g);
    const m = await p.run('cat', ['/proc/mounts'], { timeoutMs: 10_000 });
    if (m.stdout.split('\n').some((l) => { const f = l.split(' '); return f[1] === '/afs' && f[2] === 'afs'; })) return p;
  }
  throw new Error('no guest of the cell has the kernel AFS client running (/afs mounted) to run fs in');
}

const locks = new WeakMap<Services, Mutex>(); // one fs change at a time per cell: they may share directories

/** The steps, run as one of the cell's administrators (system:administrators may always administer) in a client guest. */
async function asAdmin(x: Services, pw: (p: string) => string, what: string, steps: string[]): Promise<Step[]> {
  const lock = locks.get(x) ?? locks.set(x, new Mutex()).get(x)!;
  return lock.run(async () => {
    const admin = Object.values(x.reg.ptsUsers).find((u) => u.admin);
    if (!admin) throw new Error(`${what}: the cell has no administrator (a pts user in system:administrators) to run fs as`);
    const p = await kernelClient(x);
    const s = await session(x, p, [{ as: { principal: admin.principal, password: pw(admin.principal) }, steps }]);
    const part = s.parts[0]!;
    if (part.login) throw new Error(`${what} on ${p.guest}: kinit + aklog as ${admin.principal} failed: ${part.login}`);
    return part.steps;
  });
}

const must = (what: string, s: Step): Step => {
  if (!s.ok) throw new Error(`${what} failed: ${lastLines(s.out, 2)}`);
  return s;
};

/** The target `fs lsmount` shows ('#home', '%home'; the trailing dot, where shown, dropped), or '' when the path is not a mount point. */
const LSMOUNT = (path: string) => `fs lsmount ${shq(path)} 2>/dev/null | sed -n "s/.* is a mount point for volume '\\(.*[^.]\\)\\.\\{0,1\\}'\$/\\1/p"`;

/** fs mkmount PATH VOLUME [-rw]: converges (a mount point for another volume is replaced). */
export async function createMount(x: Services, pw: (p: string) => string, a: MountAttrs): Promise<Record<string, string>> {
  const path = rwPath(x.cell, a.path);
  const target = `${a.rw ? '%' : '#'}${a.volume}`;
  const mk = cmd('fs', 'mkmount', '-dir', path, '-vol', a.volume, ...(a.rw ? ['-rw'] : []));
  const steps = await asAdmin(x, pw, `fs mkmount ${path}`, [
    `t=$(${LSMOUNT(path)}); if [ "$t" != ${shq(target)} ]; then if [ -n "$t" ]; then ${cmd('fs', 'rmmount', path)} || exit 1; fi; ${mk} || exit 1; fi`,
    LSMOUNT(path),
  ]);
  must(`fs mkmount ${path} ${a.volume}${a.rw ? ' -rw' : ''}`, steps[0]!);
  const made = must(`fs lsmount ${path}`, steps[1]!).out.trim();
  if (made !== target) throw new Error(`fs lsmount ${path} shows '${made}' after fs mkmount, expected '${target}'`);
  return { path: a.path, target: made };
}

export async function deleteMount(x: Services, pw: (p: string) => string, a: MountAttrs): Promise<void> {
  const path = rwPath(x.cell, a.path);
  const [rm] = await asAdmin(x, pw, `fs rmmount ${path}`, [cmd('fs', 'rmmount', path)]);
  if (!rm!.ok && !/No such file|not a mount point|Invalid argument|doesn't exist/i.test(rm!.out)) throw new Error(`fs rmmount ${path} failed: ${lastLines(rm!.out, 2)}`);
}

const pairs = (m: Record<string, string>) => Object.entries(m).flatMap(([n, r]) => [n, parseRights(r).rights || 'none']);

/** fs setacl -clear with the normal entries, then -negative with the negative ones; read back with fs listacl. */
export async function setAcl(x: Services, pw: (p: string) => string, a: AclAttrs): Promise<Record<string, string>> {
  const path = rwPath(x.cell, a.path);
  const normal = Object.keys(a.normal).length ? pairs(a.normal) : ['system:administrators', 'rlidwka'];
  const steps = await asAdmin(x, pw, `fs setacl ${path}`, [
    cmd('fs', 'setacl', '-dir', path, '-acl', ...normal, '-clear'),
    Object.keys(a.negative).length ? cmd('fs', 'setacl', '-dir', path, '-acl', ...pairs(a.negative), '-negative') : 'true',
    cmd('fs', 'listacl', path),
  ]);
  must(`fs setacl -clear ${path}`, steps[0]!);
  must(`fs setacl -negative ${path}`, steps[1]!);
  const got = parseListacl(must(`fs listacl ${path}`, steps[2]!).out);
  const want = Object.keys(a.normal).length ? a.normal : { 'system:administrators': 'rlidwka' };
  if (!same(got.normal, want) || !same(got.negative, a.negative)) throw new Error(`fs listacl ${path} after fs setacl differs from the cell file: ${lastLines(steps[2]!.out, 8)}`);
  const shown = [...Object.entries(got.normal).map(([n, r]) => `${n} ${r}`), ...Object.entries(got.negative).map(([n, r]) => `-${n} ${r}`)];
  return { path: a.path, acl: shown.join(', ') };
}

/** Back to what a new volume's root has: system:administrators rlidwka. */
export async function clearAcl(x: Services, pw: (p: string) => string, a: AclAttrs): Promise<void> {
  const path = rwPath(x.cell, a.path);
  const [set] = await asAdmin(x, pw, `fs setacl ${path}`, [cmd('fs', 'setacl', '-dir', path, '-acl', 'system:administrators', 'rlidwka', '-clear')]);
  if (!set!.ok && !/No such file|doesn't exist/i.test(set!.out)) throw new Error(`fs setacl -clear ${path} failed: ${lastLines(set!.out, 2)}`);
}
