// Reading virsh's answers: `dominfo` (Key: value lines) and the few parts of `dumpxml`
// the driver needs. libvirt writes its XML in one known shape, so targeted patterns are
// enough; nothing here guesses at values libvirt did not print.
import { CELLCTL_XMLNS } from '../../export/libvirt.js';
import { xmlEscape } from '../../render/xml.js';

export interface DomInfo {
  id: number | null; // null while shut off ("Id: -")
  name: string;
  state: string; // running, paused, shut off, ...
  maxMemKiB: number;
  usedMemKiB: number;
}

export function parseDominfo(text: string): DomInfo {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) kv.set(m[1].trim(), m[2].trim());
  }
  const kib = (key: string): number => {
    const m = /^(\d+)\s*KiB$/.exec(kv.get(key) ?? '');
    return m ? Number(m[1]) : NaN;
  };
  const id = kv.get('Id') ?? '-';
  return {
    id: /^\d+$/.test(id) ? Number(id) : null,
    name: kv.get('Name') ?? '',
    state: kv.get('State') ?? 'unknown',
    maxMemKiB: kib('Max memory'),
    usedMemKiB: kib('Used memory'),
  };
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : e === 'amp' ? '&'
      : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*(?:'([^']*)'|"([^"]*)")/g)) out[m[1]] = unescapeXml(m[2] ?? m[3]);
  return out;
}

export interface DomainXmlFacts {
  meta: { guest?: string; host?: string; cell?: string } | null; // cellctl's <metadata>, if we defined it
  vifs: { mac: string; bridge: string; dev?: string }[];
}

export function parseDomainXml(xml: string): DomainXmlFacts {
  let meta: DomainXmlFacts['meta'] = null;
  const metaTag = /<([\w-]+):guest\b[^>]*>/.exec(xml);
  if (metaTag) {
    const a = attrs(metaTag[0]);
    if (a[`xmlns:${metaTag[1]}`] === CELLCTL_XMLNS) meta = { guest: a.guest, host: a.host, cell: a.cell };
  }
  const vifs: DomainXmlFacts['vifs'] = [];
  for (const m of xml.matchAll(/<interface\b[^>]*>([\s\S]*?)<\/interface>/g)) {
    const body = m[1];
    const mac = /<mac\b[^>]*>/.exec(body);
    const src = /<source\b[^>]*>/.exec(body);
    const dev = /<target\b[^>]*>/.exec(body);
    vifs.push({
      mac: mac ? attrs(mac[0]).address ?? '' : '',
      bridge: src ? attrs(src[0]).bridge ?? '' : '',
      ...(dev && attrs(dev[0]).dev ? { dev: attrs(dev[0]).dev } : {}),
    });
  }
  return { meta, vifs };
}

/** `list --all --name`: one domain name per line. */
export function parseNameList(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** `nodeinfo`'s "Memory size: N KiB", in MiB. */
export function parseNodeMemoryMiB(text: string): number | null {
  const m = /^Memory size:\s*(\d+)\s*KiB/m.exec(text);
  return m ? Math.floor(Number(m[1]) / 1024) : null;
}

/** The unix socket of the virtio-serial channel named `port` (`dumpxml`'s <channel type='unix'>), if any. */
export function parseChannelPath(xml: string, port: string): string | undefined {
  for (const m of xml.matchAll(/<channel\b[^>]*>([\s\S]*?)<\/channel>/g)) {
    const target = /<target\b[^>]*>/.exec(m[1]);
    const source = /<source\b[^>]*>/.exec(m[1]);
    if (target && source && attrs(target[0]).name === port) return attrs(source[0]).path;
  }
  return undefined;
}

/** The domain XML with the socket of channel `port` moved to `path` (for a migration's destination). */
export function withChannelPath(xml: string, port: string, path: string): string {
  const esc = xmlEscape(path);
  let found = false;
  const out = xml.replace(/<channel\b[^>]*>[\s\S]*?<\/channel>/g, (block) => {
    const target = /<target\b[^>]*>/.exec(block);
    if (!target || attrs(target[0]).name !== port) return block;
    found = true;
    return block.replace(/(<source\b[^>]*\bpath=)(['"])[^'"]*\2/, `$1'${esc}'`);
  });
  if (!found) throw new Error(`the domain has no channel ${port}`);
  return out;
}

/** Every disk of a domain: its target (vda ...) and libvirt alias. */
export function parseDisks(xml: string): { dev: string; alias?: string }[] {
  const out: { dev: string; alias?: string }[] = [];
  for (const m of xml.matchAll(/<disk\b[^>]*>([\s\S]*?)<\/disk>/g)) {
    const target = /<target\b[^>]*>/.exec(m[1]);
    const alias = /<alias\b[^>]*>/.exec(m[1]);
    if (target) out.push({ dev: attrs(target[0]).dev ?? '', ...(alias ? { alias: attrs(alias[0]).name } : {}) });
  }
  return out;
}
