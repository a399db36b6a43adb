// Dev step (npm run gen): the catalog's ids written into schemas/cell.schema.json for editors — enums
// with a line per id where a key takes nothing else, examples where it also takes a path or a number,
// markdownDescription with the list. Only the $defs named in GENERATED_DEFS are written; the rest of
// the schema is hand-written and kept. cellctl itself does not validate catalog ids with these enums:
// schemas.ts drops them (the semantic checker reports unknown ids with a position and a suggestion).
import type { Catalog } from '../catalog/types.js';
import { CATALOG_MARK } from '../schemas.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Role = 'kdc' | 'afs-db' | 'afs-client';

interface Generated {
  /** The hand-written $def it narrows. */
  base: string;
  what: string;
  ids: (c: Catalog) => { id: string; line: string }[];
  /** enum: nothing else is valid; examples: paths or numbers are valid too. */
  as: 'enum' | 'examples';
}

const software = (role: Role) => (c: Catalog) =>
  [...c.software.values()].filter((s) => s.roles.includes(role)).map((s) => ({ id: s.id, line: `${s.product} ${s.version}: ${s.roles.join(', ')} on ${s.runs_on.join(', ')}` }));

export const GENERATED_DEFS: Record<string, Generated> = {
  dom0OsId: {
    base: 'catalogId', what: 'an OS some Xen release runs as dom0', as: 'enum',
    ids: (c) => [...c.os.values()].filter((o) => [...c.xen.values()].some((x) => x.dom0_os.includes(o.family)))
      .map((o) => ({ id: o.id, line: `${o.name}: dom0 under Xen ${[...c.xen.values()].filter((x) => x.dom0_os.includes(o.family)).map((x) => x.id).join(', ')}` })),
  },
  guestOsId: {
    base: 'catalogId', what: 'a guest OS', as: 'enum',
    ids: (c) => [...c.os.values()].map((o) => {
      const pv = [...c.xen.values()].filter((x) => x.domu_os.includes(o.family)).map((x) => x.id);
      return { id: o.id, line: `${o.name} (${o.kernel_kind}): ${pv.length ? `paravirtualised under Xen ${pv.join(', ')}` : 'hvm only'}` };
    }),
  },
  xenId: {
    base: 'version', what: 'a Xen release', as: 'examples',
    ids: (c) => [...c.xen.values()].map((x) => ({ id: x.id, line: `Xen ${x.id}${x.released ? ` (${x.released})` : ''}: ${x.hvm ? 'hvm with vmx/svm' : 'paravirtualised only'}` })),
  },
  kernelId: {
    base: 'kernelFiles', what: 'a guest kernel (or its build artifacts: symvers, config)', as: 'examples',
    ids: (c) => [...c.kernels.values()].map((k) => ({ id: k.id, line: `${k.kernel_kind} ${k.release} for Xen ${k.xen}, ${k.os.join(', ')}${k.options.length ? `; built with ${k.options.join(',')}` : ''}` })),
  },
  moduleId: {
    base: 'moduleRef', what: 'a kernel module (or the path of a .ko file)', as: 'examples',
    ids: (c) => [...c.modules.values()].map((m) => ({ id: m.id, line: `${m.name} for ${m.kernel_kind}${m.license ? `, licence ${m.license}` : ''}` })),
  },
  kdcSoftware: { base: 'catalogId', what: 'KDC software', as: 'enum', ids: software('kdc') },
  afsServerSoftware: { base: 'catalogId', what: 'AFS server software', as: 'enum', ids: software('afs-db') },
  afsClientSoftware: { base: 'catalogId', what: 'AFS client software', as: 'enum', ids: software('afs-client') },
};

function def(g: Generated, catalog: Catalog): Json {
  const ids = g.ids(catalog);
  const list = ids.map((i) => `- \`${i.id}\`: ${i.line}`).join('\n');
  return {
    $comment: CATALOG_MARK,
    $ref: `#/$defs/${g.base}`,
    markdownDescription: `${g.what[0].toUpperCase()}${g.what.slice(1)} from cellctl's catalog (\`cellctl catalog\`):\n\n${list}`,
    ...(g.as === 'enum' ? { enum: ids.map((i) => i.id), markdownEnumDescriptions: ids.map((i) => i.line) } : { examples: ids.map((i) => i.id) }),
  };
}

/** The schema with its generated $defs made from `catalog` (in place of the old ones, at the end of $defs). */
export function withCatalog(schema: Record<string, Json>, catalog: Catalog): Record<string, Json> {
  const defs = { ...(schema.$defs as Record<string, Json>) };
  for (const name of Object.keys(GENERATED_DEFS)) delete defs[name];
  for (const [name, g] of Object.entries(GENERATED_DEFS)) defs[name] = def(g, catalog);
  return { ...schema, $defs: defs };
}

/** On one line, spaced like the hand-written schema: {"a": 1, "b": [2, 3]}. */
function flat(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(flat).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${flat(x)}`).join(', ')}}`;
}

/** 2-space indents; an object or array stays on one line when that line is short (the schema's style). */
export function formatJson(value: Json, indent = '', key = ''): string {
  const one = flat(value);
  if (value === null || typeof value !== 'object' || indent.length + key.length + one.length <= 130) return one;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  return `{\n${Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner, `${JSON.stringify(k)}: `)}`).join(',\n')}\n${indent}}`;
}
