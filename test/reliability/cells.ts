// Random cells for the validate-means-apply test: generated from the catalog (mostly consistent, so
// many pass validate, with the corners the rules are about mixed in: shared images, duplicate
// devices and addresses, reserved principals, odd volume names...), and real cells mutated.
// Deterministic from a seed; plain data, rendered to YAML by the caller.
import { serviceKeyEnctypes } from '../../src/catalog/keys.js';
import type { Catalog } from '../../src/catalog/types.js';
import { compareVersions } from '../../src/catalog/versions.js';
import { rng } from './helpers.js';

type Obj = Record<string, unknown>;
export type CellData = Obj & { cell: string; hosts: Record<string, Obj>; guests: Record<string, Obj>; kerberos?: Obj; afs?: Obj };

export class Dice {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  /** Now and then: a corner case instead of an ordinary value. */
  odd(): boolean {
    return this.chance(0.03);
  }
  /** A random subset, in order, of at least `min` items. */
  some<T>(xs: readonly T[], min = 0): T[] {
    const out = xs.filter(() => this.chance(0.5));
    while (out.length < min && out.length < xs.length) {
      const x = this.pick(xs);
      if (!out.includes(x)) out.push(x);
    }
    return out;
  }
}

// Corners the rules are about, drawn now and then next to ordinary values.
const VDEVS = ['0x01', '0x02', '0x03', '0x301', '0x302', '0x340', 'hda1', 'hda', 'hdb', 'xvda', 'xvdb', 'xvdb1', 'sda1', 'sdb', '769', '0xca00', '0xca10', 'xvdq', 'xvda20', 'xvdaa'];
const BAD_VDEVS = ['sdzz', 'xvdzzz999', '0x1f00', 'hda0', 'hdu', '0xffffffffff'];
const ODD_MACS = ['52:54:00:12:34:56', '01:16:3e:00:00:01', '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '00:16:3e:00:00:01'];
const ODD_IPS = ['10.0.0.1', '0.0.0.0', '127.0.0.1', '224.0.0.5', '255.255.255.255', '10.0.0.255', '192.168.1.1'];
const ODD_PRINCIPALS = ['Kula', 'kula.admin', 'krbtgt/{realm}', 'K/M', 'kadmin/admin', 'kadmin/history', 'afs/{cell}', 'a/b/c', 'x'.repeat(70), 'default', 'changepw/kerberos'];
const PRINCIPALS = ['kula', 'kula/admin', 'admin/admin', 'user1', 'user2', 'rpc'];
const PARTITIONS = ['/vicepa', '/vicepb', '/vicepz', '/vicepaa', '/vicepiu'];
const VOLUMES = ['vol.1', 'home', 'proj_x', 'src', 'a..b', 'v'.repeat(22)];
const ODD_VOLUMES = ['v'.repeat(23), 'x.readonly', 'x.backup', '12345', '-x', '..'];
const ROOTS = ['/dev/hda1 ro', '/dev/wd0d', '/dev/xvda1', '/dev/sda1 ro console=ttyS0'];
const LONG_ROOT = `/dev/hda1 ro ${'x'.repeat(300)}`;
const BRIDGES = ['xenbr0', 'xenbr1', 'bridge3'];
const DEVICES = ['/dev/wd2d', '/dev/sdb', '/dev/sdc'];

export function generateCell(catalog: Catalog, d: Dice): CellData {
  const xens = [...catalog.xen.values()];
  const oses = [...catalog.os.keys()];
  const kernels = [...catalog.kernels.values()];
  const cell = d.pick(['gen.test', 'example.org', 'tproa.net', `${'c'.repeat(50)}.test`]);
  const realm = cell.toUpperCase();
  const hosts: Record<string, Obj> = {};
  const nHosts = d.int(1, 3);
  for (let i = 0; i < nHosts; i++) {
    const xen = d.pick(xens);
    const h: Obj = {
      os: d.odd() ? d.pick(oses) : d.pick(oses.filter((o) => xen.dom0_os.includes(catalog.os.get(o)!.family))),
      xen: xen.id,
      memory: d.pick([512, 1024, 2048, 4096, 4096, 8192]),
      cpus: d.int(1, 8),
      cpu_features: d.some(['pae', 'vmx', 'svm']),
      bridges: [BRIDGES[0]!, ...d.some(BRIDGES.slice(1))],
    };
    if (d.chance(0.5)) h.dom0_memory = d.pick([128, 256, 384]);
    if (d.chance(0.4)) h.devices = d.some(DEVICES, 1);
    if (d.chance(0.1)) h.shared_storage = ['/san'];
    hosts[`h${i}`] = h;
  }
  const guests: Record<string, Obj> = {};
  const nGuests = d.int(1, 5);
  let nextMac = d.int(1, 200);
  let nextIp = d.int(1, 200);
  for (let i = 0; i < nGuests; i++) {
    const hostName = d.pick(Object.keys(hosts));
    const host = hosts[hostName]!;
    const hostXen = catalog.xen.get(String(host.xen))!;
    const fit = kernels.filter((k) => catalog.xen.get(k.xen)?.major === hostXen.major && compareVersions(k.xen, hostXen.id) <= 0);
    const kernel = !d.odd() && fit.length ? d.pick(fit) : d.pick(kernels);
    const name = `g${i}`;
    const g: Obj = {
      host: hostName,
      os: d.odd() ? d.pick(oses) : d.pick(kernel.os),
      kernel: kernel.id,
      memory: d.pick([32, 64, 96, 128]),
    };
    if (d.odd()) g.type = 'hvm';
    if (d.chance(0.2)) g.maxmem = d.pick([128, 256]);
    if (d.chance(0.2)) g.vcpus = d.int(1, 4);
    const bridges = host.bridges as string[];
    const nVifs = d.odd() ? 0 : d.chance(0.1) ? 2 : 1;
    g.vifs = Array.from({ length: nVifs }, () => {
      const v: Obj = {
        mac: d.odd() ? d.pick(ODD_MACS) : `00:16:3e:00:${(nextMac >> 8).toString(16).padStart(2, '0')}:${(nextMac++ & 255).toString(16).padStart(2, '0')}`,
        // Mostly the bridge every host has: a cell's guests talk to each other.
        bridge: d.odd() ? 'nope0' : d.chance(0.9) ? BRIDGES[0]! : d.pick(bridges),
      };
      if (!d.odd()) v.ip = d.odd() ? d.pick(ODD_IPS) : `10.0.${nextIp >> 8}.${(nextIp++ & 255) || 1}`;
      return v;
    });
    const devices = (host.devices as string[] | undefined) ?? [];
    // Mostly a device of its own per disk (xvda, xvdb, ... or NetBSD handles 0x01, 0x02, ...).
    const style = d.pick(['xvd', 'handle', 'hd']);
    const own = (j: number) => (style === 'xvd' ? `xvd${'abcd'[j]}` : style === 'handle' ? `0x0${j + 1}` : `hd${'abcd'[j]}1`);
    g.disks = Array.from({ length: d.int(0, 3) }, (_, j) => {
      const kind = d.pick(devices.length ? ['file', 'file', 'file', 'phy', 'tap'] : ['file', 'file', 'file', 'tap']);
      const vdev = !d.odd() ? own(j) : d.chance(0.7) ? d.pick(VDEVS) : d.pick(BAD_VDEVS);
      const mode = d.chance(0.8) ? 'w' : 'r';
      if (kind === 'phy') return `phy:${d.odd() ? d.pick(DEVICES) : d.pick(devices)},${vdev},${mode}`;
      const image = d.odd() ? '/local/xen/shared.img' : `/local/xen/${name}.${cell}/disk${j}.img`;
      return `${kind === 'tap' ? 'tap:aio' : 'file'}:${image},${vdev},${mode}`;
    });
    if (d.chance(0.8)) g.root = d.odd() ? LONG_ROOT : d.pick(ROOTS);
    if (d.odd()) g.extra_modules = [d.pick([...catalog.modules.keys()])];
    guests[name] = g;
  }
  const names = Object.keys(guests);
  const data: CellData = { cell, hosts, guests };
  if (d.chance(0.15)) data.realm = d.pick([realm, 'OTHER.REALM']);
  const realmOf = String(data.realm ?? realm);
  const software = [...catalog.software.values()];
  if (d.chance(0.9)) {
    // Mostly a KDC that can key afs/<cell> for the usual servers (OpenAFS 1.4 takes single DES only; MIT 1.18+ makes none).
    const kdc = software.filter((s) => s.roles.includes('kdc') && serviceKeyEnctypes(catalog, 'openafs-1.4.2', s.id, 'catalog').length > 0);
    data.kerberos = {
      software: d.odd() ? d.pick(software).id : d.pick(kdc).id,
      kdcs: d.some(names, 1).slice(0, 2),
      principals: [...new Set(Array.from({ length: d.int(0, 4) }, () =>
        (d.odd() ? d.pick(ODD_PRINCIPALS) : d.pick(PRINCIPALS)).replace('{realm}', realmOf).replace('{cell}', cell)))],
    };
  }
  if (d.chance(0.8)) {
    const fileservers: Record<string, string[]> = {};
    for (const g of d.some(names, 1).slice(0, 2)) fileservers[g] = d.some(PARTITIONS.slice(0, d.odd() ? 5 : 2), 1);
    // The client software a guest's kernel has a module for, mostly (OpenAFS on Linux, Arla on NetBSD).
    const clients: Record<string, string> = {};
    for (const g of d.some(names).slice(0, 2)) {
      const kind = catalog.kernels.get(String(guests[g]!.kernel))?.kernel_kind;
      const fits = software.filter((s) => s.roles.includes('afs-client') && kind !== undefined && s.client_modules?.[kind] !== undefined).map((s) => s.id);
      clients[g] = !d.odd() && fits.length ? d.pick(fits) : d.pick(['openafs-1.4.2', 'arla-0.43']);
    }
    const servers = Object.keys(fileservers);
    const vol = (n: string) => {
      const server = d.odd() ? d.pick(names) : d.pick(servers);
      return { name: n, server, partition: d.odd() ? d.pick(PARTITIONS) : d.pick(fileservers[server] ?? PARTITIONS) };
    };
    const volumes = [
      ...(d.odd() ? [] : [vol('root.afs')]), ...(d.odd() ? [] : [vol('root.cell')]),
      ...[...new Set(Array.from({ length: d.int(0, 3) }, () => (d.odd() ? d.pick(ODD_VOLUMES) : d.pick(VOLUMES))))].map(vol),
    ];
    data.afs = {
      software: d.odd() ? d.pick(software).id : 'openafs-1.4.2',
      dbservers: d.some(names, 1).slice(0, d.chance(0.85) ? 1 : 3),
      fileservers, clients, volumes,
    };
  }
  return data;
}

const clone = <T>(x: T): T => structuredClone(x);

/** One to three edits of a cell: the values generateCell draws, put where a real cell had others. */
export function mutateCell(base: CellData, catalog: Catalog, d: Dice): CellData {
  const c = clone(base);
  const guestNames = () => Object.keys(c.guests);
  const guest = () => c.guests[d.pick(guestNames())]!;
  const edits: (() => void)[] = [
    () => {
      const g = guest();
      const disks = (g.disks as string[] | undefined) ?? [];
      if (disks.length) disks[d.int(0, disks.length - 1)] = disks[0]!.replace(/,[^,]+,(r|w!?)$/, `,${d.pick(d.chance(0.9) ? VDEVS : BAD_VDEVS)},$1`);
    },
    () => {
      const g = guest();
      g.disks = [...((g.disks as string[] | undefined) ?? []), `file:/local/xen/${d.chance(0.5) ? 'shared' : `extra${d.int(0, 9)}`}.img,${d.pick(VDEVS)},${d.pick(['w', 'r'])}`];
    },
    () => {
      const vifs = (guest().vifs as Obj[] | undefined) ?? [];
      if (vifs[0]) vifs[0].ip = d.pick([...ODD_IPS, `10.9.9.${d.int(1, 254)}`]);
    },
    () => {
      const vifs = (guest().vifs as Obj[] | undefined) ?? [];
      if (vifs[0]) vifs[0].mac = d.pick(ODD_MACS);
    },
    () => {
      const vifs = (guest().vifs as Obj[] | undefined) ?? [];
      if (vifs[0]) delete vifs[0].ip;
    },
    () => {
      guest().vifs = [];
    },
    () => {
      // A second guest copied from the first: same images, MAC and address unless changed.
      const [from] = guestNames();
      c.guests[`copy${d.int(0, 9)}`] = { ...clone(c.guests[from!]!), memory: 32 };
    },
    () => {
      if (!c.kerberos) return;
      const ps = (c.kerberos.principals as string[] | undefined) ?? [];
      const p = (d.chance(0.6) ? d.pick(ODD_PRINCIPALS) : d.pick(PRINCIPALS)).replace('{realm}', String(c.realm ?? c.cell.toUpperCase())).replace('{cell}', c.cell);
      if (!ps.includes(p)) c.kerberos.principals = [...ps, p];
    },
    () => {
      const afs = c.afs as { volumes?: Obj[] } | undefined;
      if (afs?.volumes?.length) afs.volumes[d.int(0, afs.volumes.length - 1)]!.name = d.pick([...ODD_VOLUMES, ...VOLUMES]);
    },
    () => {
      const afs = c.afs as { volumes?: Obj[] } | undefined;
      if (afs?.volumes) afs.volumes = afs.volumes.filter((v) => v.name !== d.pick(['root.afs', 'root.cell']));
    },
    () => {
      const afs = c.afs as { fileservers?: Record<string, string[]> } | undefined;
      const fs = Object.keys(afs?.fileservers ?? {});
      if (fs.length) afs!.fileservers![d.pick(fs)] = d.some(PARTITIONS, 1);
    },
    () => {
      if (c.afs) c.afs.dbservers = d.some(guestNames(), 1).slice(0, 3);
    },
    () => {
      guest().memory = d.pick([1, 64, 4096, 16_777_216]);
    },
    () => {
      guest().root = d.chance(0.5) ? LONG_ROOT : d.pick(ROOTS);
    },
    () => {
      const g = guest();
      g.kernel = d.pick([...catalog.kernels.keys()]);
    },
    () => {
      const h = c.hosts[d.pick(Object.keys(c.hosts))]!;
      h.xen = d.pick([...catalog.xen.keys()]);
    },
  ];
  for (let n = d.int(1, 3); n > 0; n--) d.pick(edits)();
  return c;
}

/**
 * Block YAML as people write cell files (maps in blocks, lists of names and one-line mappings in
 * flow style, strings quoted): what the fast parser reads. The yaml package's stringify costs more
 * than validating the cell.
 */
export function toCellYaml(data: unknown): string {
  const scalar = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const name = (k: string): string => (/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(k) ? k : JSON.stringify(k));
  const flow = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
    if (v !== null && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${name(k)}: ${flow(x)}`).join(', ')} }`;
    return scalar(v);
  };
  const lines: string[] = [];
  const block = (v: Record<string, unknown>, indent: string): void => {
    for (const [k, x] of Object.entries(v)) {
      const key = `${indent}${name(k)}:`;
      if (x !== null && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length) {
        lines.push(key);
        block(x as Record<string, unknown>, `${indent}  `);
      } else if (Array.isArray(x) && x.some((i) => i !== null && typeof i === 'object')) {
        lines.push(key, ...x.map((i) => `${indent}  - ${flow(i)}`));
      } else lines.push(`${key} ${flow(x)}`);
    }
  };
  block(data as Record<string, unknown>, '');
  return `${lines.join('\n')}\n`;
}
