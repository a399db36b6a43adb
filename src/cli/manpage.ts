// cellctl(1), written from the declaration in spec.ts (docs/cellctl.1, `npm run gen`).
import { COMMAND_SPECS, ENVIRONMENT, EXIT_CODES, flagLabel, flagsOf } from './spec.js';
import { usageLine } from './help.js';

/** roff-safe text: backslashes, and a leading dot or quote that would read as a request. */
const roff = (s: string) => s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/, '\\&$1').replace(/`([^`]+)`/g, '\\fB$1\\fR');

export function manPage(version: string): string {
  const out = [
    '.\\" Generated from src/cli/spec.ts by `npm run gen` (src/build/gen-docs.ts); do not edit.',
    `.TH CELLCTL 1 "" "cellctl ${version}" "User Commands"`,
    '.SH NAME',
    'cellctl \\- declarative test cells for AFS and Kerberos on simulated or real Xen',
    '.SH SYNOPSIS',
    '.B cellctl',
    '.I COMMAND',
    '[\\fIARGS\\fR] [\\fIoptions\\fR]',
    '.br',
    '.B cellctl',
    '.RB [ \\-h | \\-\\-help | \\-V | \\-\\-version ]',
    '.SH DESCRIPTION',
    roff('One YAML cell file describes a test cell: Xen hosts, guests, KDCs, AFS database and file servers, clients, volumes. cellctl validates it, refuses up front what would break (kernel module licence and symbol checks, memory, bridges, devices, Xen and OS support), shows a terraform-style plan, and brings the cell up on a simulated Xen hypervisor (the default) or for real (`--driver netns`, `--driver libvirt`).'),
    '.SH COMMANDS',
  ];
  for (const c of COMMAND_SPECS) {
    out.push('.TP', `.B ${roff(usageLine(c))}`, roff(c.description));
    const flags = flagsOf(c).filter((f) => f.name !== 'help');
    if (flags.length) {
      out.push('.RS');
      for (const f of flags) out.push('.TP', `.B ${roff(flagLabel(f.name, f.spec, f.value))}`, roff(f.description + (f.spec.choices ? ` (${f.spec.choices.join(', ')})` : '') + (f.spec.env ? `; also ${f.spec.env}` : '')));
      out.push('.RE');
    }
  }
  out.push('.SH ENVIRONMENT');
  for (const e of ENVIRONMENT) out.push('.TP', `.B ${roff(e.name)}`, roff(e.meaning));
  out.push('.SH EXIT STATUS');
  for (const x of EXIT_CODES) out.push('.TP', `.B ${x.code}`, roff(x.meaning));
  out.push('.SH FILES', '.TP', '.I .cellctl/CELL/state.json', roff('what was applied (beside the cell file unless `--state-dir` or CELLCTL_STATE_DIR); `secrets.json` beside it holds generated passwords, mode 0600.'));
  out.push('.SH EXAMPLES');
  for (const c of COMMAND_SPECS) for (const e of c.examples) out.push('.TP', `.B ${roff(`cellctl ${e.command}`)}`, roff(e.what));
  out.push('.SH SEE ALSO', roff('`cellctl explain` for finding codes, `cellctl catalog` for catalog ids; docs/cell-file.md, docs/finding-codes.md and docs/catalog.md in the source tree.'), '');
  return out.join('\n');
}
