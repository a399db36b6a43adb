// Guests as domUs: each guest's xl config is what `cellctl export --format xl` writes (renderXl,
// through the kit's domuConfig), with only what must differ here (the kernel that exists, its
// ramdisk, extra=, the control vif); the real `xl create` runs in its host's dom0. Memory, vifs
// and disks are Xen's to account and refuse: its errors are passed on in xl's own words.
import type { Catalog } from '../../../catalog/types.js';
import { impliedPrefix } from '../../../config/net.js';
import type { GuestAttrs } from '../../../plan/resources.js';
import { until } from '../../services/util.js';
import type { GuestAgent } from '../../vm/agent.js';
import { closeDomuAgent, openDomuAgent, waitDomuReady } from '../domu-agent.js';
import { domuConfig, prepareDomuBoot, type DomuBoot } from '../domu-config.js';
import type { XenHost } from '../host.js';
import { xlCreate, xlDestroy, xlList, xlMemSet } from '../xl.js';
import { linkDisks, makeImages, planDisks, removeImages, rootDiskIndex, unlinkDisks } from './storage.js';
import { domuKernel, domuMaxmem, domuMemory, domuServerMemory, hvmStandIn } from './notes.js';
import type { DomuRec, Places } from './world.js';

const DOMU_READY_TIMEOUT_MS = 240_000; // agent up; 20-60 s after xl create under TCG

/** The running Xen host of a cell host (started by this process, or found from its directory). */
export type HostOf = (host: string) => XenHost | undefined;

/** domU boot files, prepared once per kernel image for the life of the driver. */
export function domuBootCache(): (image: string | undefined) => Promise<DomuBoot> {
  const memo = new Map<string, Promise<DomuBoot>>();
  return (image) => {
    const key = image ?? '';
    let p = memo.get(key);
    if (!p) {
      p = prepareDomuBoot(image ? { image } : {});
      p.catch(() => memo.delete(key));
      memo.set(key, p);
    }
    return p;
  };
}

export type DomuOutputs = Record<string, string | number | string[]>;

function outputsOf(rec: DomuRec, notes: (string | undefined)[], split: Record<string, number>): DomuOutputs {
  const [raised, standIn] = notes;
  return {
    domid: rec.domid ?? -1, host: rec.host, memory: rec.memory, vcpus: rec.vcpus, kernel_release: rec.release ?? '', config: rec.config ?? '',
    ips: rec.ips.filter((x): x is string => !!x), disks: rec.disks.map((d) => `${d.raw} (${d.dom0Path} -> ${d.image})`),
    ...split,
    ...(rec.standIn ? { kernel_stand_in: rec.standIn } : {}),
    ...(standIn ? { type_stand_in: standIn } : {}),
    ...(raised ? { memory_note: raised } : {}),
  };
}

/** Stops a domain left by a killed run and removes what it had (links, images): it is made again. */
async function dropHalfMade(P: Places, hostOf: HostOf, name: string): Promise<void> {
  const old = P.w.guests[name];
  if (!old) return;
  const host = hostOf(old.host);
  if (host) {
    if ((await xlList(host)).some((d) => d.name === name)) await xlDestroy(host, name);
    await closeDomuAgent(host, name);
    await unlinkDisks(host, old.disks.filter((d) => !d.device));
  }
  removeImages(old.disks.filter((d) => !d.device).map((d) => d.image));
}

/** Creates (or finds running) the domU of a guest; returns once its agent answers. */
export async function createDomu(P: Places, hostOf: HostOf, boot: (image: string | undefined) => Promise<DomuBoot>, catalog: Catalog, name: string, a: GuestAttrs, log: (l: string) => void): Promise<{ agent: GuestAgent; outputs: DomuOutputs }> {
  const mem = domuMemory(a.memory, catalog);
  const choice = domuKernel(a, catalog);
  const hvm = hvmStandIn(a, catalog);
  const known = P.w.guests[name];
  const knownHost = known ? hostOf(known.host) : undefined;
  if (known?.state === 'running' && knownHost && (await xlList(knownHost)).some((d) => d.name === name)) {
    return { agent: await openDomuAgent(knownHost, name), outputs: outputsOf(known, [mem.raised, hvm], {}) };
  }
  await dropHalfMade(P, hostOf, name);
  const host = hostOf(a.host);
  if (!host || P.w.hosts[a.host]?.state !== 'running') throw new Error(`host ${a.host} is not up (create host.${a.host} first)`);
  for (const n of [mem.raised, hvm]) if (n) log(`guest ${name}: ${n}`);

  const rec: DomuRec = {
    host: a.host, kernel: a.kernel, ...(choice.standIn ? { standIn: choice.standIn } : {}), memory: mem.memory, asked: a.memory, vcpus: a.vcpus,
    macs: a.vifs.map((v) => v.mac.toLowerCase()), ips: a.vifs.map((v) => v.ip ?? null), bridges: a.vifs.map((v) => v.bridge),
    disks: planDisks(P, name, a.host, a.disks), state: 'starting',
  };
  P.w.guests[name] = rec;
  P.save(); // write-ahead: recorded before any file, link or domain exists

  const t0 = Date.now();
  await makeImages(rec.disks, rootDiskIndex(a), log);
  await linkDisks(host, rec.disks);
  const files = await boot(choice.image);
  // maxmem leaves room to balloon up when a KDC or AFS servers are placed in it (serverMemory)
  const cfg = domuConfig(name, { ...a, type: 'pv', memory: mem.memory, maxmem: domuMaxmem(a, mem.memory, catalog) }, files, { prefix: impliedPrefix });
  const agent = await openDomuAgent(host, name);
  const t1 = Date.now();
  const created = await xlCreate(host, cfg);
  rec.domid = created.id;
  rec.config = created.config;
  P.save();
  const t2 = Date.now();
  log(`guest ${name}: xl create ${created.config} on ${a.host}: domain ${created.id}, ${mem.memory} MiB, kernel ${files.kernel.release}${choice.standIn ? ` (stand-in for ${a.kernel})` : ''} (disks ready ${((t1 - t0) / 1000).toFixed(1)} s, xl create ${((t2 - t1) / 1000).toFixed(1)} s)`);
  await waitDomuReady(host, name, agent, DOMU_READY_TIMEOUT_MS);
  const t3 = Date.now();
  rec.release = (await agent.exec('uname', ['-r'], { timeoutMs: 30_000 })).stdout.trim();
  rec.state = 'running';
  P.save();
  log(`guest ${name}: agent ready ${((t3 - t2) / 1000).toFixed(1)} s after xl create returned`);
  return { agent, outputs: outputsOf(rec, [mem.raised, hvm], { disks_ms: t1 - t0, xl_create_ms: t2 - t1, agent_ms: t3 - t2 }) };
}

/** `xl destroy` (a power-off, as destroy means), then the domU's agent port, disk links and images. */
export async function deleteDomu(P: Places, hostOf: HostOf, name: string): Promise<string> {
  const rec = P.w.guests[name];
  let how = 'not running';
  // during a migration the domain may be on either host
  for (const hostName of rec ? [rec.host, ...(rec.movingTo ? [rec.movingTo] : [])] : []) {
    const host = hostOf(hostName);
    if (!host) continue;
    if ((await xlList(host)).some((d) => d.name === name)) {
      await xlDestroy(host, name);
      how = `xl destroy on ${hostName}`;
    }
    await closeDomuAgent(host, name);
    await unlinkDisks(host, rec!.disks.filter((d) => !d.device));
  }
  removeImages([...(rec?.disks ?? []).filter((d) => !d.device).map((d) => d.image), ...Object.values(P.w.partitions).filter((p) => p.guest === name).map((p) => p.image)]);
  delete P.w.guests[name];
  for (const [k, p] of Object.entries(P.w.partitions)) if (p.guest === name) delete P.w.partitions[k];
  for (const [k, m] of Object.entries(P.w.modules)) if (m.guest === name) delete P.w.modules[k];
  delete P.w.clients[name];
  P.save();
  return how;
}

const BALLOON_WAIT_MS = 120_000;

async function memTotalKb(agent: GuestAgent): Promise<number> {
  const r = await agent.exec('cat', ['/proc/meminfo'], { timeoutMs: 30_000 });
  return Number(/^MemTotal:\s+(\d+)/m.exec(r.stdout)?.[1] ?? 0);
}

/**
 * A domU about to run a KDC or AFS servers: ballooned up (xl mem-set, within the maxmem it was
 * created with) to the memory they need, and waited for until the domU's kernel has it.
 */
export async function serverMemory(P: Places, hostOf: HostOf, agent: GuestAgent, catalog: Catalog, name: string, log: (l: string) => void): Promise<void> {
  const rec = P.guest(name);
  const want = domuServerMemory(rec.memory, catalog);
  if (!want.raised) return;
  const host = hostOf(rec.host);
  if (!host) throw new Error(`the Xen host ${rec.host} of ${name} is not running`);
  const [from, before] = [rec.memory, await memTotalKb(agent)];
  await xlMemSet(host, name, want.memory);
  rec.memory = want.memory;
  P.save();
  // the balloon driver hands the pages to the kernel in steps: most of them is enough
  const grown = (want.memory - from) * 1024 * 0.9;
  const ms = await until(`${name}'s balloon to reach ${want.memory} MiB`, BALLOON_WAIT_MS, async () => (await memTotalKb(agent)) - before >= grown, 500);
  log(`guest ${name}: xl mem-set ${name} ${want.memory}m: ${want.raised} (MemTotal ${Math.round(before / 1024)} -> ${Math.round((await memTotalKb(agent)) / 1024)} MiB in ${(ms / 1000).toFixed(1)} s)`);
}
