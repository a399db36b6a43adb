// Your own OpenAFS build (software.openafs.prefix): the tree has what the cell runs, built for the
// directories the real backends give each guest, with a version it reports.
import { AFS_ADMIN_PROGRAMS, AFS_CLIENT_PROGRAMS, AFS_SERVER_PROGRAMS, GUEST_TREE_DIRS } from '../../config/afs-tree.js';
import type { CodeDoc, Finding } from '../types.js';
import type { Rule } from './util.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: 'afs-build-incomplete', severity: 'error', title: 'the OpenAFS install tree lacks a server program, or reports no version',
    explanation: "software.openafs.prefix runs the cell's servers from your build: bosserver and the instances it starts (ptserver, vlserver, and dafs's dafileserver, davolserver, salvageserver, dasalvager), the tools cellctl administers them with (bos, vos, pts, udebug, rxdebug, asetkey). A tree without one of them cannot run the cell, and one whose bosserver carries no rx version string ('@(#)OpenAFS ...') is not an OpenAFS server build.",
    fix: 'Point the prefix at the directory `make install DESTDIR=` wrote (a full build: `make && make install`), or build the missing parts.',
  },
  {
    code: 'afs-build-paths', severity: 'error', title: 'the OpenAFS build looks for its configuration elsewhere than each guest\'s tree',
    explanation: "OpenAFS compiles its configuration and data directories into the binaries (configure's afsconfdir, afsdbdir, afslocaldir, afslogsdir). The netns driver gives each guest its own tree bound over Debian's directories (/etc/openafs/server, /var/lib/openafs/db, /var/lib/openafs/local, /var/log/openafs); a build configured with other ones (configure's defaults under /usr/local, or --enable-transarc-paths) would read the machine's, not the guest's.",
    fix: 'Configure the checkout with Debian\'s directories: ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var/lib --libexecdir=/usr/lib afslocaldir=/var/lib/openafs/local afslogsdir=/var/log/openafs, then make install DESTDIR=DIR.',
  },
  {
    code: 'afs-build-no-client', severity: 'warning', title: 'the OpenAFS install tree has no user-space client: clients run the packaged one',
    explanation: 'Without afsd.fuse (configure --enable-fuse-client) and fs in the tree, the netns driver runs the cell\'s clients with Debian\'s afsd.fuse 1.8.9 against your servers; plan says so.',
    fix: 'Build with --enable-fuse-client to test your client too, or accept the packaged client.',
  },
];

const PREFIX = ['software', 'openafs', 'prefix'];

export const afsBuild: Rule = (spec) => {
  const tree = spec.software?.openafs;
  if (!tree) return [];
  const out: Finding[] = [];
  const pos = spec.posOf(PREFIX);
  const subject = 'software.openafs';
  const missing = [...AFS_SERVER_PROGRAMS, ...AFS_ADMIN_PROGRAMS].filter((p) => !tree.programs[p]);
  if (missing.length || (tree.programs.bosserver && !tree.version)) {
    out.push({
      code: 'afs-build-incomplete', severity: 'error', subject, pos,
      message: missing.length
        ? `${tree.prefix} has no ${missing.join(', ')} (looked in usr/local/{sbin,bin,libexec/openafs}, usr/{sbin,bin,lib/openafs}, {sbin,bin,libexec/openafs})`
        : `${tree.programs.bosserver} reports no OpenAFS version (no '@(#)OpenAFS' string): not an OpenAFS bosserver`,
      fix: `make install DESTDIR=${tree.prefix} from a full build of the checkout`,
    });
  }
  if (tree.otherPaths) {
    const names = tree.otherPaths.confDir ? `its configuration is in ${tree.otherPaths.confDir}` : `it names none of ${tree.otherPaths.missing.join(', ')}`;
    out.push({
      code: 'afs-build-paths', severity: 'error', subject, pos,
      message: `${tree.programs.bosserver} was built for other directories (${names}); each guest's tree is bound over ${GUEST_TREE_DIRS.join(', ')}`,
      fix: 'reconfigure with --prefix=/usr --sysconfdir=/etc --localstatedir=/var/lib --libexecdir=/usr/lib afslocaldir=/var/lib/openafs/local afslogsdir=/var/log/openafs and install again',
    });
  }
  const clients = Object.keys(spec.afs?.clients ?? {});
  const noClient = AFS_CLIENT_PROGRAMS.filter((p) => !tree.programs[p]);
  if (clients.length && noClient.length) {
    out.push({
      code: 'afs-build-no-client', severity: 'warning', subject, pos,
      message: `${tree.prefix} has no ${noClient.join(', ')}: ${clients.join(', ')} run Debian's OpenAFS client against your servers`,
      fix: 'build with --enable-fuse-client and install again to run your client too',
    });
  }
  return out;
};
