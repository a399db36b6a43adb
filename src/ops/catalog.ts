// `cellctl catalog`: what the catalog knows, with the relations a cell file author needs (what runs
// on what, which modules load into which kernels) worked out from the data, never restated.
import type { Catalog, KernelEntry, ModuleEntry, OsEntry, SoftwareEntry, XenRelease } from '../catalog/types.js';
import { compareVersions } from '../catalog/versions.js';
import { suggest } from '../config/suggest.js';
import { UserError } from '../diagnostics.js';
import { checkModuleLoad, isGplCompatible } from '../kmod/verdict.js';

export const CATALOG_KINDS = ['xen', 'os', 'kernels', 'modules', 'software'] as const;
export type CatalogKind = (typeof CATALOG_KINDS)[number];

const ALIASES: Record<string, CatalogKind> = {
  xen: 'xen', xens: 'xen', hypervisor: 'xen', os: 'os', oses: 'os', kernel: 'kernels', kernels: 'kernels',
  module: 'modules', modules: 'modules', software: 'software', softwares: 'software',
};

export const KIND_TITLES: Record<CatalogKind, string> = {
  xen: 'Xen releases', os: 'Operating systems', kernels: 'Guest kernels', modules: 'Kernel modules', software: 'Kerberos and AFS software',
};

/** What a cell file key takes from each kind, for the reference docs. */
export const KIND_KEYS: Record<CatalogKind, string> = {
  xen: 'hosts.*.xen, guests.*.kernel.xen', os: 'hosts.*.os, guests.*.os', kernels: 'guests.*.kernel',
  modules: 'guests.*.extra_modules', software: 'kerberos.software, afs.software, afs.clients.*',
};

export function catalogKind(word: string): CatalogKind {
  const kind = ALIASES[word.toLowerCase()];
  if (kind) return kind;
  const near = suggest(word, Object.keys(ALIASES));
  throw new UserError([{ message: `unknown catalog kind '${word}'`, hint: near ? `did you mean ${ALIASES[near]}?` : `expected one of: ${CATALOG_KINDS.join(', ')}` }]);
}

type Entry = XenRelease | OsEntry | KernelEntry | ModuleEntry | SoftwareEntry;

export function entriesOf(catalog: Catalog, kind: CatalogKind): Map<string, Entry> {
  return { xen: catalog.xen, os: catalog.os, kernels: catalog.kernels, modules: catalog.modules, software: catalog.software }[kind];
}

/** One line about an entry, for lists. */
export function summaryOf(catalog: Catalog, kind: CatalogKind, id: string): string {
  switch (kind) {
    case 'xen': {
      const x = catalog.xen.get(id)!;
      return `Xen ${x.id}${x.released ? ` (${x.released})` : ''}: dom0 ${x.dom0_os.join(', ')}; ${x.hvm ? 'hvm with vmx/svm' : 'no hvm'}`;
    }
    case 'os': {
      const o = catalog.os.get(id)!;
      return `${o.name} (${o.kernel_kind})${dom0Releases(catalog, o).length ? '; dom0 under Xen ' + dom0Releases(catalog, o).join(', ') : ''}`;
    }
    case 'kernels': {
      const k = catalog.kernels.get(id)!;
      return `${k.kernel_kind} ${k.release}${k.ident ? ` ${k.ident}` : ''} for Xen ${k.xen}, ${k.os.join(', ')}${k.options.length ? `; built with ${k.options.join(',')}` : ''}`;
    }
    case 'modules': {
      const m = catalog.modules.get(id)!;
      return `${m.name} for ${m.kernel_kind}${m.license ? `, licence ${m.license}` : ''}; loads into ${loadsInto(catalog, m).ok.length} catalog kernel(s)`;
    }
    case 'software': {
      const s = catalog.software.get(id)!;
      const real = s.runs_here ? '; runs here (Debian 12)' : s.stand_in ? `; stand-in here: ${s.stand_in.id}` : '';
      return `${s.product} ${s.version}: ${s.roles.join(', ')} on ${s.runs_on.join(', ')}${real}`;
    }
  }
}

function dom0Releases(catalog: Catalog, o: OsEntry): string[] {
  return [...catalog.xen.values()].filter((x) => x.dom0_os.includes(o.family)).map((x) => x.id);
}

/** Catalog kernels a module loads into, and the others of its kind with the codes that refuse it. */
export function loadsInto(catalog: Catalog, m: ModuleEntry): { ok: string[]; refused: { kernel: string; codes: string[] }[] } {
  const ok: string[] = [];
  const refused: { kernel: string; codes: string[] }[] = [];
  for (const k of catalog.kernels.values()) {
    if (k.kernel_kind !== m.kernel_kind) continue;
    const found = checkModuleLoad(m, k, catalog.licences, `module.${m.name}`);
    if (found.length === 0) ok.push(k.id);
    else refused.push({ kernel: k.id, codes: found.map((f) => f.code) });
  }
  return { ok, refused };
}

export interface CatalogDetail {
  kind: CatalogKind;
  id: string;
  /** Label and value lines. */
  facts: [string, string][];
  /** Titled lists: exports, kernels it loads into, ... */
  lists: { title: string; items: string[] }[];
  source: string;
  entry: Entry;
}

export function catalogEntry(catalog: Catalog, kind: CatalogKind, id: string): CatalogDetail {
  const table = entriesOf(catalog, kind);
  const e = table.get(id);
  if (!e) {
    const near = suggest(id, [...table.keys()]);
    throw new UserError([{ message: `no ${KIND_TITLES[kind].toLowerCase().replace(/s$/, '')} '${id}' in the catalog`, hint: near ? `did you mean ${near}?` : `cellctl catalog ${kind} lists them` }]);
  }
  const d: CatalogDetail = { kind, id, facts: [], lists: [], source: e.source, entry: e };
  const list = (title: string, items: string[]) => {
    if (items.length) d.lists.push({ title, items });
  };
  const families = (fs: string[]) => fs.map((f) => {
    const oses = [...catalog.os.values()].filter((o) => o.family === f).map((o) => o.id);
    return oses.length === 1 && oses[0] === f ? f : `${f} (${oses.join(', ')})`;
  });
  switch (kind) {
    case 'xen': {
      const x = e as XenRelease;
      d.facts.push(['major version', String(x.major)], ['released', x.released ?? 'unknown'], ['hvm guests', x.hvm ? 'yes, on a CPU with vmx or svm' : 'no']);
      list('dom0 OS families', families(x.dom0_os));
      list('paravirtualised guest OS families', families(x.domu_os));
      list('kernels built for it', [...catalog.kernels.values()].filter((k) => k.xen === x.id).map((k) => k.id));
      list('kernels that also run on it (same major, older interface)', [...catalog.kernels.values()]
        .filter((k) => k.xen !== x.id && catalog.xen.get(k.xen)?.major === x.major && compareVersions(k.xen, x.id) < 0).map((k) => `${k.id} (Xen ${k.xen})`));
      break;
    }
    case 'os': {
      const o = e as OsEntry;
      d.facts.push(['name', o.name], ['family', o.family], ['kernel kind', o.kernel_kind]);
      if (o.default_dom0_memory !== undefined) d.facts.push(['default dom0_memory', `${o.default_dom0_memory} MiB`]);
      list('runs dom0 under Xen', dom0Releases(catalog, o));
      list('runs as a paravirtualised guest under Xen', [...catalog.xen.values()].filter((x) => x.domu_os.includes(o.family)).map((x) => x.id));
      list('kernels meant for it', [...catalog.kernels.values()].filter((k) => k.os.includes(o.id)).map((k) => `${k.id} (Xen ${k.xen})`));
      list('software that runs on it', [...catalog.software.values()].filter((s) => s.runs_on.includes(o.kernel_kind)).map((s) => `${s.id} (${s.roles.join(', ')})`));
      break;
    }
    case 'kernels': {
      const k = e as KernelEntry;
      d.facts.push(['kind', k.kernel_kind], ['release', k.release], ['built for Xen', `${k.xen} (runs on Xen ${catalog.xen.get(k.xen)?.major ?? '?'}.x hosts from ${k.xen} on)`], ['image', k.image], ['options', k.options.join(', ') || 'none that matter to modules']);
      if (k.ident) d.facts.push(['config', k.ident]);
      if (k.vermagic) d.facts.push(['vermagic', k.vermagic.trim()]);
      list('for guest OSes', k.os);
      list('exports', Object.entries(k.exports).map(([sym, how]) => `${sym} ${how}`));
      const mods = [...catalog.modules.values()].filter((m) => m.kernel_kind === k.kernel_kind);
      list('catalog modules that load into it', mods.filter((m) => checkModuleLoad(m, k, catalog.licences, '').length === 0).map((m) => m.id));
      list('catalog modules it refuses', mods.flatMap((m) => {
        const codes = checkModuleLoad(m, k, catalog.licences, '').map((f) => f.code);
        return codes.length ? [`${m.id}: ${codes.join(', ')}`] : [];
      }));
      break;
    }
    case 'modules': {
      const m = e as ModuleEntry;
      d.facts.push(['module name', m.name], ['kind', m.kernel_kind], ['licence', m.license ? `${m.license} (${isGplCompatible(m.license, catalog.licences) ? 'GPL-compatible' : 'not GPL-compatible'})` : 'none declared']);
      if (m.options_absent?.length) d.facts.push(['needs a kernel built without', m.options_absent.join(', ')]);
      if (m.options_present?.length) d.facts.push(['needs a kernel built with', m.options_present.join(', ')]);
      list('imports', m.imports);
      const l = loadsInto(catalog, m);
      list('loads into', l.ok);
      list('refused by', l.refused.map((r) => `${r.kernel}: ${r.codes.join(', ')}`));
      list('client module of', [...catalog.software.values()].filter((s) => Object.values(s.client_modules ?? {}).includes(m.id)).map((s) => s.id));
      break;
    }
    case 'software': {
      const s = e as SoftwareEntry;
      d.facts.push(['product', s.product], ['version', s.version], ['roles', s.roles.join(', ')], ['runs on', s.runs_on.join(', ')]);
      if (s.runs_here) {
        d.facts.push(['runs here', `Debian 12 ${s.runs_here.packages.join(', ')} ${s.runs_here.version}`]);
        if (s.runs_here.note) d.facts.push(['how', s.runs_here.note]);
      }
      if (s.stand_in) d.facts.push(['stand-in here', `${s.stand_in.id} (${s.stand_in.source})`]);
      if (s.debian_stand_in) {
        // Another product than the stand-in (Heimdal served by MIT): what a driver that cannot run the stand-in uses.
        const other = s.stand_in && !s.debian_stand_in.includes(catalog.software.get(s.stand_in.id)?.version ?? '\0');
        d.facts.push([other ? 'where its stand-in does not run' : 'on the real drivers', `served by ${s.debian_stand_in}`]);
      }
      if (s.kdc_enctypes) d.facts.push(['KDC enctypes', `${s.kdc_enctypes.supported.join(', ')}${s.kdc_enctypes.ignored ? `; ignored without an error: ${s.kdc_enctypes.ignored.join(', ')}` : ''} (${s.kdc_enctypes.source})`]);
      if (s.service_key) d.facts.push(['afs/<cell> key', `${s.service_key.enctypes.join(', ')} (${s.service_key.source})`]);
      list('differences of its stand-in', s.stand_in?.differences ?? []);
      list('stands in for', [...catalog.software.values()].filter((o) => o.stand_in?.id === s.id).map((o) => o.id));
      list('client modules', Object.entries(s.client_modules ?? {}).map(([kind, mod]) => `${kind}: ${mod}`));
      list('known issues', (s.known_issues ?? []).map((k) => `[${k.code}] ${k.severity}: ${k.message}`));
      break;
    }
  }
  return d;
}
