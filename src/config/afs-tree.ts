// An OpenAFS install tree (software.openafs.prefix): where its programs are, the version they
// report, and the configuration directories they were built for. Read once, when the cell loads.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where `make install` puts programs, relative to the tree: configure's defaults under DESTDIR
 * (usr/local/{sbin,bin,libexec/openafs}), Debian's layout (usr/{sbin,bin,lib/openafs}), or a tree
 * that is the prefix itself (configure --prefix=DIR: DIR/{sbin,bin,libexec/openafs}). OpenAFS
 * configure: afssrvsbindir=${sbindir}, afssrvbindir=${bindir}, afssrvlibexecdir=${libexecdir}/openafs.
 */
const PROGRAM_DIRS = [
  'usr/local/sbin', 'usr/local/bin', 'usr/local/libexec/openafs', 'usr/sbin', 'usr/bin', 'usr/lib/openafs', 'usr/libexec/openafs',
  'sbin', 'bin', 'libexec/openafs', 'lib/openafs',
];

/** What the servers need: bosserver and its instances (dafs: the demand-attach fileserver's four). */
export const AFS_SERVER_PROGRAMS = ['bosserver', 'ptserver', 'vlserver', 'dafileserver', 'davolserver', 'salvageserver', 'dasalvager'] as const;
/** What cellctl runs to administer the servers (-localauth), wait for quorum and install the key. */
export const AFS_ADMIN_PROGRAMS = ['bos', 'vos', 'pts', 'udebug', 'rxdebug', 'asetkey'] as const;
/** The user-space client (configure --enable-fuse-client) and its tools. */
export const AFS_CLIENT_PROGRAMS = ['afsd.fuse', 'fs', 'tokens', 'aklog'] as const;

/**
 * The directories the netns driver binds each guest's own tree over (Debian's, as openafs 1.8.9's
 * debian/rules configures them): a build must name the same ones to find its CellServDB, KeyFile,
 * databases and logs there. Seen in Debian's /usr/sbin/bosserver (strings).
 */
export const GUEST_TREE_DIRS = ['/etc/openafs/server', '/var/lib/openafs/db', '/var/lib/openafs/local', '/var/log/openafs'] as const;

const MAX_PROGRAM_BYTES = 64 * 1024 * 1024; // far above an OpenAFS server (bosserver ~0.5 MB)

export interface AfsTree {
  prefix: string; // absolute
  /** Program name -> its absolute path in the tree (only those found). */
  programs: Record<string, string>;
  /** What its bosserver reports (rx's version string, the one rxdebug -version prints): "OpenAFS 1.8.9 2024-12-25". */
  version?: string;
  /** Of GUEST_TREE_DIRS, those its bosserver does not name; with the server configuration directory it names instead. */
  otherPaths?: { missing: string[]; confDir?: string };
}

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/** The NUL-terminated strings of a binary that look like `pattern`. */
function strings(bytes: Buffer, pattern: RegExp): string[] {
  return bytes.toString('latin1').split('\0').filter((s) => pattern.test(s));
}

/** Reads a tree that exists and is a directory (the config checks say so otherwise). */
export function readAfsTree(prefix: string): AfsTree {
  const programs: Record<string, string> = {};
  for (const name of [...AFS_SERVER_PROGRAMS, ...AFS_ADMIN_PROGRAMS, ...AFS_CLIENT_PROGRAMS]) {
    const dir = PROGRAM_DIRS.find((d) => isFile(join(prefix, d, name)));
    if (dir) programs[name] = join(prefix, dir, name);
  }
  const tree: AfsTree = { prefix, programs };
  const bos = programs.bosserver;
  if (!bos || !existsSync(bos) || statSync(bos).size > MAX_PROGRAM_BYTES) return tree;
  const bytes = readFileSync(bos);
  // rx_version(): "@(#)OpenAFS 1.8.9-1+deb12u1-debian 2024-12-25" (src/rx/rx_version, AFS_VERSION + build date).
  const v = strings(bytes, /^@\(#\) ?OpenAFS /)[0];
  if (v) tree.version = v.replace(/^@\(#\) ?/, '').trim();
  const named = new Set(strings(bytes, /^\//));
  const missing = GUEST_TREE_DIRS.filter((d) => !named.has(d));
  if (missing.length) {
    const confDir = [...named].find((s) => /\/openafs\/server\/?$/.test(s)) ?? (named.has('/usr/afs/etc') ? '/usr/afs/etc' : undefined);
    tree.otherPaths = { missing, ...(confDir ? { confDir } : {}) };
  }
  return tree;
}

/** The directories whose programs go first on PATH in a guest that runs this tree (bin and sbin). */
export function treePathDirs(tree: AfsTree): string[] {
  const dirs = Object.values(tree.programs).map((p) => p.slice(0, p.lastIndexOf('/')));
  return [...new Set(dirs)].filter((d) => !d.endsWith('/openafs'));
}
