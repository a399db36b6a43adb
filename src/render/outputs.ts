// cellctl output for people: one section per output, addresses first, passwords only when given.
import type { CellOutputs } from '../ops/client.js';

const host = (x: { guest: string; ip: string | null }) => `${x.ip ?? '(no address)'} (${x.guest})`;

export function renderOutputs(o: CellOutputs, only?: keyof CellOutputs): string[] {
  const sections: Record<keyof CellOutputs, () => string[]> = {
    cell: () => [`cell = ${o.cell}`],
    realm: () => [`realm = ${o.realm}`],
    realms: () => ['realms:', ...Object.entries(o.realms).map(([r, x]) => `  ${r} (${x.software}): ${x.kdcs.map((k) => `kdc ${host(k)}${k.role === 'master' ? ' master' : ''}`).join(', ')}`)],
    trusts: () => (o.trusts.length ? ['trusts:', ...o.trusts.map((t) => `  ${t}`)] : ['trusts: none']),
    dbservers: () => ['dbservers:', ...o.dbservers.map((d) => `  ${host(d)}`)],
    fileservers: () => ['fileservers:', ...o.fileservers.map((d) => `  ${host(d)}`)],
    clients: () => ['clients:', ...o.clients.map((d) => `  ${host(d)} ${d.software}`)],
    addresses: () => ['addresses:', ...Object.entries(o.addresses).map(([g, ips]) => `  ${g} ${ips.join(' ') || '(none)'}`)],
    principals: () => ['principals:', ...o.principals.map((p) => `  ${p.principal}${p.password !== undefined ? `  password ${p.password}` : ''}`),
      ...(o.principals.some((p) => p.password !== undefined) ? [] : ['  (passwords: cellctl output --show-secrets)'])],
    volumes: () => ['volumes:', ...o.volumes.map((v) => `  ${v.name} on ${v.server} ${v.partition}`)],
    keytabs: () => (o.keytabs.length ? ['keytabs:', ...o.keytabs.map((k) => `  ${k.principal} (${k.enctypes.join(', ')})${k.guest ? ` on ${k.guest}` : ''}`)] : ['keytabs: none']),
  };
  if (only) return sections[only]();
  return (Object.keys(sections) as (keyof CellOutputs)[]).flatMap((k) => sections[k]());
}
