// Physical hosts running Xen: RAM split between dom0 and guests, bridges, block devices, shared storage.
import type { Catalog } from '../../catalog/types.js';
import type { Attrs, HostAttrs } from '../../plan/resources.js';
import { domainsOn, heldMemory } from './indexes.js';
import { advance, SECONDS, xendLog, type SimDomain, type SimHost, type World } from './world.js';

export interface HostUsage {
  memory: number;
  dom0: number;
  domains: number; // MiB held by domains other than dom0 (running, paused or crashed)
  used: number;
  free: number;
}

export function hostOf(w: World, name: string): SimHost | undefined {
  return Object.hasOwn(w.hosts, name) ? w.hosts[name] : undefined;
}

export function requireHost(w: World, name: string, what: string): SimHost {
  const h = hostOf(w, name);
  if (!h) throw new Error(`${what}: host ${name} is not provisioned (host.${name} must be created first)`);
  return h;
}

/** Memory accounting as `xm info` sees it: a domain holds its memory until it is destroyed or shut down. */
export function usage(w: World, host: string): HostUsage {
  const h = w.hosts[host]!;
  const domains = heldMemory(w, host);
  const used = h.dom0_memory + domains;
  return { memory: h.memory, dom0: h.dom0_memory, domains, used, free: h.memory - used };
}

export function describeUsage(name: string, u: HostUsage): string {
  return `${name} has ${u.free} MiB free (${u.memory} MiB RAM, dom0 ${u.dom0} MiB, other domains ${u.domains} MiB)`;
}

export function hvmCapable(catalog: Catalog, h: SimHost): boolean {
  return (catalog.xen.get(h.xen)?.hvm ?? false) && h.cpu_features.some((f) => f === 'vmx' || f === 'svm');
}

function dom0Memory(a: HostAttrs, catalog: Catalog, name: string): number {
  if (a.dom0_memory > 0) return a.dom0_memory;
  const d = catalog.os.get(a.os)?.default_dom0_memory;
  if (d === undefined) throw new Error(`host ${name}: no dom0_memory given and the catalog has no default for dom0 OS '${a.os}'`);
  return d;
}

export function createHost(w: World, catalog: Catalog, name: string, a: HostAttrs): Attrs {
  if (hostOf(w, name)) throw new Error(`host ${name} already exists in the simulated world`);
  if (!catalog.xen.has(a.xen)) {
    throw new Error(`host ${name}: Xen ${a.xen} is not a release the sim knows (known: ${[...catalog.xen.keys()].join(', ')})`);
  }
  const dom0 = dom0Memory(a, catalog, name);
  if (dom0 >= a.memory) {
    throw new Error(`host ${name}: dom0_mem=${dom0}M leaves no memory for guests on a machine with ${a.memory} MiB of RAM`);
  }
  const h: SimHost = {
    name, os: a.os, xen: a.xen, memory: a.memory, dom0_memory: dom0, cpus: a.cpus,
    cpu_features: [...a.cpu_features], bridges: [...a.bridges], devices: [...a.devices],
    shared_storage: [...(a.shared_storage ?? [])], next_domid: 1, xend_log: [],
  };
  w.hosts[name] = h;
  xendLog(w, h, `Xen ${a.xen} on ${name}: ${a.memory} MiB RAM, Domain-0 (0) holds ${dom0} MiB`);
  advance(w, SECONDS.host);
  return { xen: a.xen, dom0_memory: dom0, free_memory: a.memory - dom0 };
}

/** What a live domain on the host still uses that the new hardware would take away, if anything. */
function inUse(a: HostAttrs, d: SimDomain): string | null {
  if (d.domid === null) return null;
  for (const [i, v] of d.vifs.entries()) {
    if (!a.bridges.includes(v.bridge)) return `brctl delbr ${v.bridge}: bridge ${v.bridge} is in use by vif${d.domid}.${i} (${d.name})`;
  }
  for (const disk of d.disks) {
    if (disk.kind === 'phy' && !a.devices.includes(disk.target)) return `device ${disk.target} is in use by ${d.name} (vbd ${disk.devid})`;
  }
  if (d.type === 'hvm' && !a.cpu_features.some((f) => f === 'vmx' || f === 'svm')) {
    return `${d.name} is an HVM guest and needs vmx or svm in cpu_features`;
  }
  return null;
}

/** Hardware changes on a live host: refuse the ones that would pull something out from under a domain. */
export function updateHost(w: World, catalog: Catalog, name: string, a: HostAttrs): Attrs {
  const h = requireHost(w, name, `host ${name}`);
  if (a.os !== h.os) throw new Error(`host ${name}: a new dom0 OS (${h.os} -> ${a.os}) means reinstalling the host; it cannot change in place`);
  if (a.xen !== h.xen) throw new Error(`host ${name}: a new hypervisor (Xen ${h.xen} -> ${a.xen}) means rebooting the host; it cannot change in place`);
  const dom0 = dom0Memory(a, catalog, name);
  const domains = usage(w, name).domains;
  if (a.memory - dom0 < domains) {
    throw new Error(`host ${name}: ${a.memory} MiB RAM with dom0 ${dom0} MiB leaves ${a.memory - dom0} MiB, but its domains hold ${domains} MiB`);
  }
  // Any refusal names the first domain in the world's order, as a scan of `xm list` would.
  if (domainsOn(w, name).some((d) => inUse(a, d))) {
    for (const d of Object.values(w.domains)) {
      const why = d.host === name ? inUse(a, d) : null;
      if (why) throw new Error(`host ${name}: ${why}`);
    }
  }
  Object.assign(h, {
    memory: a.memory, dom0_memory: dom0, cpus: a.cpus, cpu_features: [...a.cpu_features],
    bridges: [...a.bridges], devices: [...a.devices], shared_storage: [...(a.shared_storage ?? [])],
  });
  xendLog(w, h, `host reconfigured: ${a.memory} MiB RAM, dom0 ${dom0} MiB, bridges ${a.bridges.join(',') || '-'}`);
  advance(w, SECONDS.admin);
  return { xen: h.xen, dom0_memory: dom0, free_memory: usage(w, name).free };
}

export function deleteHost(w: World, name: string): void {
  if (!hostOf(w, name)) return; // already gone
  if (domainsOn(w, name).length > 0) {
    const left = Object.values(w.domains).filter((d) => d.host === name); // in the world's order
    throw new Error(`host ${name} still has domains: ${left.map((d) => `${d.name} (${d.domid === null ? 'shut down' : `id ${d.domid}`})`).join(', ')}; destroy them first`);
  }
  delete w.hosts[name];
  advance(w, SECONDS.admin);
}
