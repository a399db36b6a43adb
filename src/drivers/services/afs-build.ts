// Which OpenAFS a guest runs: your own build (software.openafs.prefix) or the packaged one. A guest
// that runs a build gets the build's programs first on PATH (bos, vos, pts, udebug, asetkey,
// bosserver, afsd.fuse...), and bosserver's instances by their paths in the build.
import { readAfsTree, treePathDirs, type AfsTree } from '../../config/afs-tree.js';
import type { AfsBuild } from '../../plan/resources.js';
import type { Placement, Services } from './placement.js';

export const BASE_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';

const trees = new Map<string, AfsTree>();

/** The tree at `prefix`, read once per process (the config stage read and checked it already). */
export function treeOf(prefix: string): AfsTree {
  let t = trees.get(prefix);
  if (!t) trees.set(prefix, (t = readAfsTree(prefix)));
  return t;
}

/** The build part of server attrs (absent: the packaged OpenAFS). */
export function buildOf(a: AfsBuild): AfsBuild {
  return a.prefix ? { prefix: a.prefix, version: a.version ?? 'unknown' } : {};
}

export function sameBuild(a: AfsBuild | undefined, b: AfsBuild | undefined): boolean {
  return (a?.prefix ?? null) === (b?.prefix ?? null) && (a?.version ?? null) === (b?.version ?? null);
}

/** How plan, status and logs name it: "OpenAFS 1.8.9 ... from /path", or the packaged one. */
export function buildLabel(b: AfsBuild | undefined, packaged = "Debian's OpenAFS"): string {
  return b?.prefix ? `${b.version} from ${b.prefix}` : packaged;
}

/** PATH for commands in a guest running `b`. */
export function buildPath(b: AfsBuild | undefined): string {
  return b?.prefix ? [...treePathDirs(treeOf(b.prefix)), BASE_PATH].join(':') : BASE_PATH;
}

/** A program bosserver starts (ptserver, vlserver, dafileserver...): its path in the build, else Debian's. */
export function serverProgram(b: AfsBuild | undefined, name: string): string {
  if (!b?.prefix) return `/usr/lib/openafs/${name}`;
  const path = treeOf(b.prefix).programs[name];
  if (!path) throw new Error(`the OpenAFS build at ${b.prefix} has no ${name}`);
  return path;
}

/** The build a guest's servers run now (recorded when its bosserver starts). */
export function guestBuild(x: Services, guest: string): AfsBuild | undefined {
  return x.reg.afsBuild?.[guest];
}

export function setGuestBuild(x: Services, guest: string, b: AfsBuild): void {
  x.reg.afsBuild ??= {};
  if (b.prefix) x.reg.afsBuild[guest] = b;
  else delete x.reg.afsBuild[guest];
  x.save();
}

/** The placement with the guest's build first on PATH for every command and daemon it starts. */
export function withBuild(p: Placement, b: AfsBuild | undefined): Placement {
  if (!b?.prefix) return p;
  const PATH = buildPath(b);
  return {
    ...p,
    run: (cmd, args, o = {}) => p.run(cmd, args, { ...o, env: { PATH, ...(o.env ?? {}) } }),
    spawn: (cmd, args, o) => p.spawn(cmd, args, { ...o, env: { PATH, ...(o.env ?? {}) } }),
  };
}
