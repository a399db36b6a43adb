// docs/cell-file.md: the cell file's keys, written from schemas/cell.schema.json (the schema's own
// descriptions, types, defaults and patterns; catalog-backed keys link to docs/catalog.md).
import { GENERATED_DEFS } from './schema-catalog.js';

type Node = Record<string, unknown>;

const CATALOG_SECTION: Record<string, string> = {
  dom0OsId: '#operating-systems', guestOsId: '#operating-systems', xenId: '#xen-releases', kernelId: '#guest-kernels',
  moduleId: '#kernel-modules', kdcSoftware: '#kerberos-and-afs-software', afsServerSoftware: '#kerberos-and-afs-software', afsClientSoftware: '#kerberos-and-afs-software',
};

/** The sections of the reference: a titled $def each, and where it is used. */
const SECTIONS: { def: string; title: string; path: string }[] = [
  { def: 'host', title: 'Hosts', path: 'hosts.NAME' },
  { def: 'guest', title: 'Guests', path: 'guests.NAME' },
  { def: 'kernelFiles', title: 'A kernel given as files', path: 'guests.NAME.kernel' },
  { def: 'vif', title: 'Network interfaces', path: 'guests.NAME.vifs[]' },
  { def: 'kerberos', title: 'Kerberos', path: 'kerberos' },
  { def: 'keytab', title: 'Keytabs', path: 'kerberos.keytabs[], realms.REALM.keytabs[]' },
  { def: 'realmKdcs', title: 'Other realms', path: 'realms.REALM' },
  { def: 'afs', title: 'AFS', path: 'afs' },
  { def: 'site', title: 'Read-only sites', path: 'afs.volumes[].replicas[]' },
  { def: 'software', title: 'Your own builds', path: 'software' },
  { def: 'openafsBuild', title: 'An OpenAFS install tree', path: 'software.openafs' },
];
const sectionAnchor = (def: string) => {
  const s = SECTIONS.find((x) => x.def === def);
  return s ? s.title.toLowerCase().replace(/[^a-z0-9]+/g, '-') : def.toLowerCase();
};

const refName = (n: Node | undefined) => (typeof n?.$ref === 'string' ? n.$ref.replace('#/$defs/', '') : undefined);
const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function typeOf(n: Node, defs: Record<string, Node>): string {
  const ref = refName(n);
  if (ref && GENERATED_DEFS[ref]) {
    const g = GENERATED_DEFS[ref];
    const base = defs[g.base];
    return `catalog id ([list](catalog.md${CATALOG_SECTION[ref]}))${base?.title ? ` or [files](#${sectionAnchor(g.base)})` : ''}`;
  }
  if (ref) {
    const d = defs[ref];
    if (d.title) return `[${ref}](#${sectionAnchor(ref)})`;
    return typeOf(d, defs) + (d.pattern ? ` ([${ref}](#value-types))` : '');
  }
  if (n.enum) return (n.enum as unknown[]).map((v) => `\`${String(v)}\``).join(' or ');
  if (n.type === 'array') return `list of ${typeOf((n.items ?? {}) as Node, defs)}`;
  if (n.type === 'object' && n.additionalProperties && typeof n.additionalProperties === 'object') return `map of name to ${typeOf(n.additionalProperties as Node, defs)}`;
  if (Array.isArray(n.type)) return n.type.join(' or ');
  return String(n.type ?? 'any');
}

function describe(n: Node, defs: Record<string, Node>): string {
  const own = typeof n.description === 'string' ? n.description : undefined;
  const ref = refName(n);
  if (own !== undefined || !ref) return own ?? '';
  const def = GENERATED_DEFS[ref] ? defs[GENERATED_DEFS[ref].base] : defs[ref];
  return typeof def?.description === 'string' ? def.description : '';
}

function table(obj: Node, defs: Record<string, Node>): string[] {
  const props = (obj.properties ?? {}) as Record<string, Node>;
  const required = new Set((obj.required ?? []) as string[]);
  return [
    '| key | type | required | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...Object.entries(props).map(([k, p]) => {
      const dflt = p.default === undefined ? '' : `\`${JSON.stringify(p.default)}\``;
      return `| \`${k}\` | ${md(typeOf(p, defs))} | ${required.has(k) ? 'yes' : ''} | ${dflt} | ${md(describe(p, defs))} |`;
    }),
  ];
}

export function cellReference(schema: Node, examples: { file: string; text: string; what: string }[]): string {
  const defs = schema.$defs as Record<string, Node>;
  const section = (title: string, path: string | undefined, obj: Node) => [`## ${title}`, '', `${path ? `\`${path}\`: ` : ''}${describe(obj, defs)}`, '', ...table(obj, defs), ''];
  const afs = defs.afs.properties as Record<string, Node>;
  const volumes = afs.volumes.items as Node;
  const inner = (key: string) => afs[key]!.additionalProperties as Node;
  const valueTypes = Object.entries(defs).filter(([k, d]) => !d.title && !GENERATED_DEFS[k] && typeof d.description === 'string');
  return [
    '# Cell file reference',
    '',
    '<!-- Generated from schemas/cell.schema.json by `npm run gen` (src/build/gen-docs.ts); do not edit. -->',
    '',
    'A cell file is YAML; its contract is [schemas/cell.schema.json](../schemas/cell.schema.json)',
    '(JSON Schema 2020-12), which editors use too. Catalog ids are listed in [catalog.md](catalog.md) and by',
    '`cellctl catalog`; what each finding means is in [finding-codes.md](finding-codes.md).',
    '',
    ...section('Top level', undefined, schema),
    ...SECTIONS.flatMap((x) => section(x.title, x.path, defs[x.def])),
    ...section('Volumes', 'afs.volumes[]', { ...volumes, description: 'A volume to create.' }),
    ...section('Users', 'afs.users.NAME', { ...inner('users'), description: 'An AFS user whose id the file fixes.' }),
    ...section('Groups', 'afs.groups.NAME', { ...inner('groups'), description: 'A pts group.' }),
    ...section('Mount points', 'afs.mounts.PATH', { ...inner('mounts'), description: 'A mount point given as a mapping (else just the volume name).' }),
    '## Value types',
    '',
    '| type | meaning | pattern |',
    '| --- | --- | --- |',
    ...valueTypes.map(([k, d]) => `| <a id="${k.toLowerCase()}"></a>\`${k}\` | ${md(String(d.description))} | ${d.pattern ? `\`${md(String(d.pattern))}\`` : ''} |`),
    '',
    '## Examples',
    '',
    ...examples.flatMap((e) => [`[${e.file}](../${e.file}), ${e.what}:`, '', '```yaml', e.text.trimEnd(), '```', '']),
  ].join('\n');
}
