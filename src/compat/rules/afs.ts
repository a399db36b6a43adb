// The AFS cell as clients see it: /afs is root.afs, /afs/<cell> is root.cell (OpenAFS Quick Start
// Guide, "Creating the root.afs and root.cell volumes"); without them a client mounts nothing.
import type { CodeDoc, Finding } from '../types.js';
import type { Rule } from './util.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: "afs-root-volume-missing", severity: "error", title: "the cell has no root.afs or root.cell volume",
    explanation: "An AFS client mounts /afs from root.afs and /afs/<cell> from root.cell; without them no client can get into the cell (with no clients in the cell file this is only a warning).",
    fix: "Add root.afs and root.cell to afs.volumes, on one of the fileservers.",
  },
];

const ROOT_VOLUMES = ['root.afs', 'root.cell'];

/** An error when the cell has clients (they could not mount it); a warning otherwise. */
export const afsRootVolumeMissing: Rule = (spec) => {
  const afs = spec.afs;
  if (!afs) return [];
  const have = new Set(afs.volumes.map((v) => v.name));
  const missing = ROOT_VOLUMES.filter((v) => !have.has(v));
  if (missing.length === 0) return [];
  const clients = Object.keys(afs.clients);
  const server = Object.entries(afs.fileservers)[0];
  const example = server ? `{ name: ${missing[0]}, server: ${server[0]}, partition: ${server[1][0]} }` : `a fileserver and { name: ${missing[0]}, server: ..., partition: /vicepa }`;
  return [{
    code: 'afs-root-volume-missing',
    severity: clients.length ? 'error' : 'warning',
    subject: `afs.${spec.cell}`,
    message: `cell ${spec.cell} has no ${missing.join(' or ')} volume; a client mounts /afs from root.afs and /afs/${spec.cell} from root.cell` +
      (clients.length ? `, so ${clients.slice(0, 3).join(', ')}${clients.length > 3 ? ', ...' : ''} could not mount the cell` : ''),
    fix: `add ${missing.join(' and ')} to afs.volumes, e.g. ${example}`,
    pos: spec.posOf(afs.volumes.length ? ['afs', 'volumes'] : ['afs']),
  } satisfies Finding];
};
