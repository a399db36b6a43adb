// Xen hosts and guests as network namespaces: a namespace per host holding its bridges, a namespace
// per guest with veths onto those bridges. Nothing here touches the root namespace's network.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { impliedPrefix } from '../../config/net.js';
import type { GuestAttrs, HostAttrs } from '../../plan/resources.js';
import { delay, type Runner } from './exec.js';
import { ifName, shortHash, vethHostName, type Layout, type GuestRec } from './layout.js';

export function netnsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

export async function listNetns(r: Runner): Promise<string[]> {
  const out = await r.run('ip', ['netns', 'list']);
  return out.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((s): s is string => !!s);
}

/** Every process whose network namespace is ns (found through /proc, so it works after a crash too). */
export function pidsInNetns(ns: string): number[] {
  try {
    return pidsWithNs('net', `net:[${statSync(`/run/netns/${ns}`).ino}]`);
  } catch {
    return [];
  }
}

export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function send(p: number, s: NodeJS.Signals): void {
  try {
    process.kill(p, s);
  } catch {
    /* already gone */
  }
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const t0 = Date.now();
  while (pids.some((p) => !isZombie(p)) && Date.now() - t0 < ms) await delay(20);
}

/** TERM, a short grace, then KILL: a guest's destroy is a power-off, not a shutdown. */
export async function killPids(pids: number[], graceMs = 400): Promise<void> {
  pids.forEach((p) => send(p, 'SIGTERM'));
  await waitGone(pids, graceMs);
  pids.filter((p) => !isZombie(p)).forEach((p) => send(p, 'SIGKILL'));
  await waitGone(pids, 2000);
}

/**
 * Ends whatever `find` returns until it returns nothing. One pass is not enough: bosserver restarts
 * an instance that dies, and a process that outlives `ip netns del` keeps an unnamed namespace alive.
 * After one TERM round, STOP then KILL: a stopped process starts nothing.
 */
export async function killAll(find: () => number[], graceMs = 300): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const pids = find();
    if (!pids.length) return;
    if (round === 0 && graceMs > 0) {
      pids.forEach((p) => send(p, 'SIGTERM'));
      await waitGone(pids, graceMs);
      continue;
    }
    pids.forEach((p) => send(p, 'SIGSTOP'));
    pids.forEach((p) => send(p, 'SIGKILL'));
    await waitGone(pids, 1000);
  }
  throw new Error(`processes would not end: ${find().join(' ')}`);
}

/** The namespace link of a process ("mnt:[4026532385]"), to find its fellows after it is gone. */
export function nsLink(pid: number, kind: 'mnt' | 'net'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
}

/** Live processes in the namespace `link` (from nsLink). */
export function pidsWithNs(kind: 'mnt' | 'net', link: string): number[] {
  return allPids().filter((p) => nsLink(p, kind) === link && !isZombie(p));
}

/** Live processes started by this driver for the cell (every daemon carries CELLCTL_NETNS=<prefix>). */
export function pidsWithMarker(prefix: string): number[] {
  return pidsWithEnv(`CELLCTL_NETNS=${prefix}`);
}

/**
 * The environment that marks a guest's daemons: the cell's prefix and the guest's namespace name, so
 * they are found (and ended) even after their namespace lost its name (`ip netns del` leaves them running).
 */
export function daemonMarks(L: Layout, guest: string): Record<string, string> {
  return { CELLCTL_NETNS: L.prefix, CELLCTL_GUEST: L.guest(guest).ns };
}

/** Live daemons of one guest, wherever their namespace went. */
export function pidsOfGuest(ns: string): number[] {
  return pidsWithEnv(`CELLCTL_GUEST=${ns}`);
}

function pidsWithEnv(mark: string): number[] {
  return allPids().filter((p) => {
    try {
      return readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(mark) && !isZombie(p);
    } catch {
      return false;
    }
  });
}

/** Ends every process in ns, then removes it (its veths and bridges go with it). */
export async function removeNetns(r: Runner, ns: string): Promise<void> {
  if (!netnsExists(ns)) return;
  await killAll(() => pidsInNetns(ns));
  await r.must('ip', ['netns', 'del', ns]);
}

async function linkExists(r: Runner, ns: string, dev: string): Promise<boolean> {
  return (await r.run('ip', ['-n', ns, 'link', 'show', 'dev', dev])).code === 0;
}

/**
 * One host at a time: two hosts made at once would each look for the other's bridges before they
 * exist, and their same-named bridges would stay apart (found by test/reliability/validate-applies).
 */
export function createHost(r: Runner, L: Layout, name: string, a: HostAttrs): Promise<Record<string, string>> {
  return L.netLock.run(() => createHostNow(r, L, name, a));
}

async function createHostNow(r: Runner, L: Layout, name: string, a: HostAttrs): Promise<Record<string, string>> {
  const ns = L.hostNs(name);
  // Write-ahead: recorded before the namespace exists, so a kill right after `ip netns add` leaves it findable.
  L.reg.hosts[name] = { ns, bridges: L.reg.hosts[name]?.bridges ?? {}, memory: a.memory, dom0: a.dom0_memory };
  L.save();
  if (!netnsExists(ns)) await r.must('ip', ['netns', 'add', ns]);
  await r.must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const bridges: Record<string, string> = {};
  for (const b of a.bridges) bridges[b] = await ensureBridge(r, ns, b);
  L.reg.hosts[name] = { ns, bridges, memory: a.memory, dom0: a.dom0_memory };
  L.save();
  for (const b of a.bridges) await wireBridge(r, L, name, b);
  return bridges;
}

/**
 * Same-named bridges on different hosts are one network segment (the dom0s' NICs on one LAN): a veth
 * joins them, so guests on different hosts reach each other and a migrated guest keeps its neighbours.
 * Each host joins the segment once, to one host already on it: a tree. Joining every pair made a loop
 * from three hosts on (no STP), and the looping broadcasts starved ubik (found by validate-applies).
 */
async function wireBridge(r: Runner, L: Layout, name: string, bridge: string): Promise<void> {
  const me = L.reg.hosts[name]!;
  const on = Object.entries(L.reg.hosts).filter(([other, h]) => other !== name && h.bridges[bridge] && netnsExists(h.ns));
  const end = (a: string, b: string, side: string) => {
    const [x, y] = [a, b].sort();
    return `hl${shortHash(`${x}|${y}|${bridge}|${side}`, 8)}`;
  };
  for (const [other] of on) if (await linkExists(r, me.ns, end(name, other, name))) return; // joined already
  const first = on[0];
  if (!first) return;
  const [other, h] = first;
  const mine = end(name, other, name);
  await r.must('ip', ['-n', me.ns, 'link', 'add', mine, 'type', 'veth', 'peer', 'name', end(name, other, other), 'netns', h.ns]);
  await r.must('ip', ['-n', me.ns, 'link', 'set', mine, 'master', me.bridges[bridge]!, 'up']);
  await r.must('ip', ['-n', h.ns, 'link', 'set', end(name, other, other), 'master', h.bridges[bridge]!, 'up']);
}

async function ensureBridge(r: Runner, ns: string, bridge: string): Promise<string> {
  const dev = ifName(bridge);
  if (!(await linkExists(r, ns, dev))) await r.must('ip', ['-n', ns, 'link', 'add', dev, 'type', 'bridge']);
  await r.must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  return dev;
}

export async function deleteHost(r: Runner, L: Layout, name: string): Promise<void> {
  const guests = Object.entries(L.reg.guests).filter(([, g]) => g.host === name).map(([n]) => n);
  if (guests.length) throw new Error(`host ${name} still has guests: ${guests.join(', ')}`);
  await removeNetns(r, L.hostNs(name));
  delete L.reg.hosts[name];
  L.save();
}


/** An address for a vif the cell file gives none: 10.<from cell>.<bridge>.<from guest>, unique in the cell. */
function assignIp(L: Layout, guest: string, bridgeIdx: number): string {
  const used = new Set(Object.values(L.reg.guests).flatMap((g) => g.ips));
  const b = 200 + (parseInt(shortHash(L.cell, 4), 16) % 50);
  let h = 10 + (parseInt(shortHash(guest, 4), 16) % 200);
  for (let i = 0; i < 240; i++, h = 10 + ((h - 10 + 1) % 240)) {
    const ip = `10.${b}.${bridgeIdx}.${h}`;
    if (!used.has(ip)) return ip;
  }
  throw new Error(`no free test address for ${guest}`);
}

export async function createGuest(r: Runner, L: Layout, name: string, a: GuestAttrs): Promise<GuestRec> {
  const host = L.reg.hosts[a.host];
  if (!host || !netnsExists(host.ns)) throw new Error(`host ${a.host} is not up (create host.${a.host} first)`);
  const ns = L.guestNs(name);
  const prev = L.reg.guests[name];
  // Write-ahead, as for hosts: the record (with what a crashed run had assigned) goes first.
  L.reg.guests[name] = { ns, host: a.host, ip: prev?.ip ?? '', ips: prev?.ips ?? [], veths: prev?.veths ?? [], bridges: prev?.bridges ?? [], memory: a.memory, dir: L.guestDir(name) };
  L.save();
  if (!netnsExists(ns)) await r.must('ip', ['netns', 'add', ns]);
  await r.must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const ips: string[] = [];
  const veths: string[] = [];
  const bridges: string[] = [];
  for (const [i, vif] of a.vifs.entries()) {
    const bridgeIdx = Math.max(0, Object.keys(host.bridges).indexOf(vif.bridge));
    const ip = vif.ip ?? prev?.ips[i] ?? assignIp(L, name, bridgeIdx);
    const hostEnd = vethHostName(name, i);
    const eth = `eth${i}`;
    // Converge: a half-made pair from a crashed run is removed and made again.
    if (!(await linkExists(r, ns, eth)) || !(await linkExists(r, host.ns, hostEnd))) {
      if (await linkExists(r, host.ns, hostEnd)) await r.run('ip', ['-n', host.ns, 'link', 'del', hostEnd]);
      if (await linkExists(r, ns, eth)) await r.run('ip', ['-n', ns, 'link', 'del', eth]);
      const tmp = `vg${shortHash(name, 8)}${i}`;
      await r.must('ip', ['-n', host.ns, 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', tmp, 'netns', ns]);
      await r.must('ip', ['-n', ns, 'link', 'set', tmp, 'name', eth]);
    }
    let bridge = host.bridges[vif.bridge];
    if (!bridge) {
      bridge = await L.netLock.run(async () => {
        const dev = await ensureBridge(r, host.ns, vif.bridge);
        host.bridges[vif.bridge] = dev;
        await wireBridge(r, L, a.host, vif.bridge);
        return dev;
      });
    }
    await r.must('ip', ['-n', host.ns, 'link', 'set', hostEnd, 'master', bridge, 'up']);
    if (vif.mac) await r.run('ip', ['-n', ns, 'link', 'set', eth, 'address', vif.mac]);
    await r.run('ip', ['-n', ns, 'addr', 'flush', 'dev', eth]);
    await r.must('ip', ['-n', ns, 'addr', 'add', `${ip}/${impliedPrefix(ip)}`, 'dev', eth]);
    await r.must('ip', ['-n', ns, 'link', 'set', eth, 'up']);
    ips.push(ip);
    veths.push(hostEnd);
    bridges.push(vif.bridge);
  }
  // A guest without a vif runs with loopback only (as a domU without a vif); the compat rule
  // service-without-address keeps every server and client on a guest with an address.
  const rec: GuestRec = { ns, host: a.host, ip: ips[0] ?? '', ips, veths, bridges, memory: a.memory, dir: L.guestDir(name) };
  L.reg.guests[name] = rec;
  L.save();
  return rec;
}

/** A guest's power-off: every daemon of it ends (also ones whose namespace lost its name), the namespace and its files go. */
export async function deleteGuest(r: Runner, L: Layout, name: string): Promise<void> {
  const ns = L.reg.guests[name]?.ns ?? L.guestNs(name);
  await killAll(() => [...new Set([...pidsInNetns(ns), ...pidsOfGuest(ns)])]);
  if (netnsExists(ns)) await r.must('ip', ['netns', 'del', ns]); // the veth pair dies with the guest's end
  rmSync(L.guestDir(name), { recursive: true, force: true });
  delete L.reg.guests[name];
  delete L.reg.clients[name];
  delete L.reg.kdcs[name];
  delete L.reg.afsFs[name];
  delete L.reg.bos[name];
  for (const [m, rec] of Object.entries(L.reg.modules)) if (rec.guest === name) delete L.reg.modules[m];
  L.reg.afsDb = L.reg.afsDb.filter((d) => d !== name);
  L.save();
}

/** Live migration, netns style: the guest's veths move to the other host's bridges; its daemons keep running. */
export async function migrateGuest(r: Runner, L: Layout, name: string, toHost: string): Promise<Record<string, string>> {
  const g = L.guest(name);
  const from = L.reg.hosts[g.host];
  const to = L.reg.hosts[toHost];
  if (!to || !netnsExists(to.ns)) throw new Error(`host ${toHost} is not up`);
  for (const [i, hostEnd] of g.veths.entries()) {
    const wanted = g.bridges[i];
    const dest = wanted ? to.bridges[wanted] : undefined;
    if (!dest) throw new Error(`host ${toHost} has no bridge ${wanted ?? '(none)'} for ${name}'s vif ${i}`);
    await r.must('ip', ['-n', from!.ns, 'link', 'set', hostEnd, 'netns', to.ns]);
    await r.must('ip', ['-n', to.ns, 'link', 'set', hostEnd, 'master', dest, 'up']);
  }
  g.host = toHost;
  L.save();
  return { host: toHost, host_netns: to.ns };
}

/** Every namespace of this cell, found by name prefix: what cleanup removes even without a registry. */
export async function cellNamespaces(r: Runner, prefix: string): Promise<string[]> {
  return (await listNetns(r)).filter((n) => n.startsWith(prefix + '-'));
}
