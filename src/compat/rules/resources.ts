// Physical resources a host hands out: memory, bridges, block devices, MAC addresses.
import type { GuestSpec } from '../../config/types.js';
import type { CodeDoc, Finding } from '../types.js';
import { dom0Memory, type Rule } from './util.js';
import { addr } from '../../plan/addrs.js';

/** The codes this file reports, for `cellctl explain` and docs/finding-codes.md. */
export const CODES: readonly CodeDoc[] = [
  {
    code: 'host-memory-exceeded', severity: 'error', title: "the guests and dom0 need more memory than the host has",
    explanation: "Xen gives each domain its memory when it is created and does not overcommit: the sum of the guests' memory plus what dom0 keeps must fit in the host's RAM, or the last xm create fails with an out-of-memory error.",
    fix: 'Give the guests less memory, lower dom0_memory, move a guest to another host, or raise the host\'s memory.',
  },
  {
    code: 'duplicate-mac', severity: 'error', title: 'two vifs have the same MAC address',
    explanation: 'Two interfaces with one MAC on a bridge both answer for it: the bridge learns whichever spoke last and traffic goes to the wrong guest, intermittently.',
    fix: 'Give every vif its own MAC, in Xen\'s prefix 00:16:3e.',
  },
  {
    code: 'mac-not-xen-oui', severity: 'warning', title: "a MAC address outside Xen's prefix 00:16:3e",
    explanation: "Xen's OUI 00:16:3e (XenSource) is reserved for virtual interfaces; other addresses may belong to real hardware on the same network. A warning: the cell works, but it may clash.",
    fix: 'Use a MAC of the form 00:16:3e:xx:xx:xx.',
  },
  {
    code: 'bridge-missing', severity: 'error', title: "a vif names a bridge the host does not have",
    explanation: "xm create attaches each vif to a bridge in dom0; a bridge that does not exist fails the whole domain ('Device 0 (vif) could not be connected. Could not find bridge device').",
    fix: "Add the bridge to the host's bridges, or connect the vif to one the host has.",
  },
  {
    code: 'device-missing', severity: 'error', title: 'a phy: disk names a device the host does not have',
    explanation: "A phy: disk hands a dom0 block device to the guest; xend refuses a device that dom0 does not have ('Device ... (vbd) could not be connected').",
    fix: "List the device in the host's devices, or use a file: disk image instead.",
  },
  {
    code: 'device-shared', severity: 'error', title: 'a block device is given to two guests, one of them writable',
    explanation: "xend refuses to attach a block device that is already attached writable, or writable when it is in use ('Device ... is mounted in a guest domain, and so cannot be mounted now'): two kernels writing one filesystem corrupt it.",
    fix: 'Give each guest its own device, or attach the shared one read-only (,r) everywhere.',
  },
];

// Xen's own OUI (XenSource); xm picks random MACs from it.
const XEN_OUI = '00:16:3e';

export const hostMemoryExceeded: Rule = (spec, catalog) => {
  const out: Finding[] = [];
  // Grouped once: filtering every guest per host is quadratic (seconds at 10,000 guests on 313 hosts).
  const byHost = new Map<string, GuestSpec[]>();
  for (const g of Object.values(spec.guests)) {
    const list = byHost.get(g.host);
    if (list) list.push(g);
    else byHost.set(g.host, [g]);
  }
  for (const h of Object.values(spec.hosts)) {
    const guests = byHost.get(h.name) ?? [];
    const dom0 = dom0Memory(h, catalog);
    const used = guests.reduce((sum, g) => sum + g.memory, 0);
    if (used + dom0 <= h.memory) continue;
    const parts = guests.map((g) => `${g.name} ${g.memory}`).join(' + ');
    out.push({
      code: 'host-memory-exceeded',
      severity: 'error',
      subject: addr.host(h.name),
      message:
        `${h.name}: guests need ${used} MiB (${parts}) plus ${dom0} MiB for dom0 = ${used + dom0} MiB, ` +
        `but the host has ${h.memory} MiB (${used + dom0 - h.memory} MiB short)`,
      fix: `give guests on ${h.name} less memory, lower dom0_memory, move a guest to another host, or raise ${h.name}'s memory`,
      pos: spec.posOf(['hosts', h.name, 'memory']),
    });
  }
  return out;
};

export const duplicateMac: Rule = (spec) => {
  const out: Finding[] = [];
  const first = new Map<string, string>(); // mac -> "guest vif N"
  for (const g of Object.values(spec.guests)) {
    g.vifs.forEach((v, i) => {
      const mac = v.mac.toLowerCase();
      const prior = first.get(mac);
      if (prior === undefined) {
        first.set(mac, `${g.name} vif ${i}`);
        return;
      }
      out.push({
        code: 'duplicate-mac',
        severity: 'error',
        subject: addr.guest(g.name),
        message: `${g.name} vif ${i}: MAC ${v.mac} is already used by ${prior}; both would answer for it on the bridge`,
        fix: `give ${g.name} vif ${i} its own MAC (${XEN_OUI}:xx:xx:xx)`,
        pos: spec.posOf(['guests', g.name, 'vifs', i, 'mac']),
      });
    });
  }
  return out;
};

export const macNotXenOui: Rule = (spec) => {
  const out: Finding[] = [];
  for (const g of Object.values(spec.guests)) {
    g.vifs.forEach((v, i) => {
      if (v.mac.toLowerCase().startsWith(XEN_OUI + ':')) return;
      out.push({
        code: 'mac-not-xen-oui',
        severity: 'warning',
        subject: addr.guest(g.name),
        message: `${g.name} vif ${i}: MAC ${v.mac} is outside Xen's OUI ${XEN_OUI} and may clash with real hardware on the bridge`,
        fix: `use a MAC of the form ${XEN_OUI}:xx:xx:xx`,
        pos: spec.posOf(['guests', g.name, 'vifs', i, 'mac']),
      });
    });
  }
  return out;
};

export const bridgeMissing: Rule = (spec) => {
  const out: Finding[] = [];
  for (const g of Object.values(spec.guests)) {
    const h = spec.hosts[g.host];
    if (!h) continue;
    g.vifs.forEach((v, i) => {
      if (h.bridges.includes(v.bridge)) return;
      out.push({
        code: 'bridge-missing',
        severity: 'error',
        subject: addr.guest(g.name),
        message: `${g.name}: Error: Device ${i} (vif) could not be connected. Could not find bridge device ${v.bridge} (${h.name} has ${h.bridges.join(', ') || 'no bridges'})`,
        fix: `add ${v.bridge} to ${h.name}'s bridges, or connect the vif to one of ${h.name}'s bridges`,
        pos: spec.posOf(['guests', g.name, 'vifs', i, 'bridge']),
      });
    });
  }
  return out;
};

export const deviceMissing: Rule = (spec) => {
  const out: Finding[] = [];
  for (const g of Object.values(spec.guests)) {
    const h = spec.hosts[g.host];
    if (!h) continue;
    g.disks.forEach((d, i) => {
      if (d.kind !== 'phy' || h.devices.includes(d.target)) return;
      out.push({
        code: 'device-missing',
        severity: 'error',
        subject: addr.guest(g.name),
        message: `${g.name}: Error: Device ${d.vdev} (vbd) could not be connected. ${d.target} does not exist on ${h.name}`,
        fix: `add ${d.target} to ${h.name}'s devices, or use a file: disk image instead`,
        pos: spec.posOf(['guests', g.name, 'disks', i]),
      });
    });
  }
  return out;
};

const modeName = (m: 'r' | 'w') => (m === 'w' ? 'writable' : 'read-only');

/** xend refuses a block device already attached writable, or attached writable when already in use. */
export const deviceShared: Rule = (spec) => {
  const out: Finding[] = [];
  const uses = new Map<string, { guest: string; index: number; mode: 'r' | 'w' }[]>(); // host + device -> uses
  for (const g of Object.values(spec.guests)) {
    g.disks.forEach((d, index) => {
      if (d.kind !== 'phy') return;
      const key = `${g.host}\0${d.target}`;
      uses.set(key, [...(uses.get(key) ?? []), { guest: g.name, index, mode: d.mode }]);
    });
  }
  for (const [key, list] of uses) {
    if (list.length < 2 || !list.some((u) => u.mode === 'w')) continue;
    const [host, device] = key.split('\0') as [string, string];
    const holder = list[0]!;
    for (const u of list.slice(1)) {
      out.push({
        code: 'device-shared',
        severity: 'error',
        subject: addr.guest(u.guest),
        message:
          `${u.guest}: Error: Device ${device} (vbd) could not be connected. Device ${device} is mounted in a guest domain, ` +
          `and so cannot be mounted now (${holder.guest === u.guest ? `${u.guest} already has it as disk ${holder.index}` : `${holder.guest} has it`}` +
          ` ${modeName(holder.mode)}, this one asks ${modeName(u.mode)}, on ${host})`,
        fix: `give each guest its own device, or attach ${device} read-only (,r) everywhere`,
        pos: spec.posOf(['guests', u.guest, 'disks', u.index]),
      });
    }
  }
  return out;
};
