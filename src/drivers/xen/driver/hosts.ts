// Cell hosts as Xen hosts: a network namespace with a Linux bridge per cell bridge (the netns
// driver's code, which also joins same-named bridges of different hosts), and in it a QEMU
// running Xen with dom0 (the Xen kit), the host's memory, cpus and dom0_memory. dom0 makes the
// cell's bridges itself; each has an uplink NIC on a tap on the namespace's bridge of that name,
// so domUs on different hosts reach each other.
import { rmSync } from 'node:fs';
import type { Catalog } from '../../../catalog/types.js';
import type { HostAttrs } from '../../../plan/resources.js';
import type { Runner } from '../../netns/exec.js';
import { createHost, deleteHost, netnsExists } from '../../netns/namespaces.js';
import type { BootFiles } from '../../vm/boot-files.js';
import { attachXenHost, startXenHost, stopXenHost, waitXenReady, xenHostAlive, type XenHost } from '../host.js';
import { xlInfo, type XenInfo } from '../xl.js';
import { hostStandIn } from './notes.js';
import { DOM0_STORAGE, type Places, type XenHostRec } from './world.js';

const HOST_BOOT_TIMEOUT_MS = 300_000; // xl info answers ~20-30 s after QEMU starts on a quiet machine

export type HostOutputs = Record<string, string | number | string[]>;

function outputsOf(rec: XenHostRec, host: XenHost, info: XenInfo, standIn: string | undefined): HostOutputs {
  return {
    qemu_pid: host.dom0.pid, accel: `${host.dom0.accel.accel}: ${host.dom0.accel.reason}`, netns: rec.netns, bridges: rec.bridges,
    uplinks: rec.uplinks.map((u) => `${u.tap} (${u.mac}) on ${u.bridge}`), xen_version: info.xenVersion, total_memory: info.totalMemoryMiB,
    free_memory: info.freeMemoryMiB, nr_cpus: info.nrCpus, dom0_memory: rec.dom0, console: host.dom0.consoleLog,
    ...(host.timings.xlInfo ? { boot_ms: host.timings.xlInfo } : {}),
    ...(standIn ? { stand_in: standIn } : {}),
  };
}

/** Boots (or finds running) the Xen host of a cell host; returns once `xl info` answers. */
export async function createXenHost(r: Runner, P: Places, catalog: Catalog, dom0Boot: () => Promise<BootFiles>, name: string, a: HostAttrs, log: (l: string) => void): Promise<{ host: XenHost; outputs: HostOutputs }> {
  const standIn = hostStandIn(a, catalog);
  const known = P.w.hosts[name];
  const running = known ? attachXenHost(known.dir) : undefined;
  if (running && known?.state === 'running') return { host: running, outputs: outputsOf(known, running, await xlInfo(running), standIn) };
  if (running) await stopXenHost(running); // a half-booted host of a killed run: boot it again

  const rec: XenHostRec = {
    dir: P.hostDir(name), netns: P.hostNs(name), memory: a.memory, dom0: a.dom0_memory, cpus: a.cpus, bridges: [...a.bridges],
    uplinks: a.bridges.map((bridge, i) => ({ bridge, tap: P.uplinkTap(name, i), mac: P.uplinkMac(name, i) })),
    sharedStorage: [...a.shared_storage], devices: known?.devices ?? {}, state: 'starting',
  };
  P.w.hosts[name] = rec;
  P.save(); // write-ahead: recorded before the namespace, a tap or QEMU exists

  const nsBridges = await createHost(r, P.net, name, a);
  for (const u of rec.uplinks) {
    if ((await r.run('ip', ['-n', rec.netns, 'link', 'show', 'dev', u.tap])).code !== 0) await r.must('ip', ['-n', rec.netns, 'tuntap', 'add', 'dev', u.tap, 'mode', 'tap']);
    await r.must('ip', ['-n', rec.netns, 'link', 'set', u.tap, 'master', nsBridges[u.bridge]!, 'up']);
  }
  if (standIn) log(`host ${name}: ${standIn}`);
  const host = await startXenHost({
    name, dir: rec.dir, memoryMiB: a.memory, cpus: a.cpus, dom0MemoryMiB: a.dom0_memory, bridges: a.bridges, netns: rec.netns,
    vifs: rec.uplinks.map((u) => ({ mac: u.mac, tap: u.tap, bridge: u.bridge })),
    shares: [{ hostPath: P.storage, dom0Path: DOM0_STORAGE }],
    xenSeries: catalog.standIns.xen_host.xen_series,
    xenOptions: catalog.standIns.xen_host.xen_options,
  }, await dom0Boot());
  log(`host ${name}: QEMU pid ${host.dom0.pid} in ${rec.netns} (${host.dom0.accel.accel}: ${host.dom0.accel.reason}) boots Xen ${host.xen.series} with dom0 (${a.dom0_memory} of ${a.memory} MiB, ${a.cpus} cpus)`);
  const info = await waitXenReady(host, HOST_BOOT_TIMEOUT_MS);
  rec.state = 'running';
  rec.xenVersion = info.xenVersion;
  P.save();
  const sec = (ms?: number) => ((ms ?? 0) / 1000).toFixed(1);
  log(`host ${name}: Xen ${info.xenVersion} up, ${info.totalMemoryMiB} MiB, ${info.freeMemoryMiB} MiB free, ${info.nrCpus} cpus: dom0 agent ${sec(host.timings.dom0Agent)} s, dom0 set up ${sec(host.timings.dom0Setup)} s, xl info ${sec(host.timings.xlInfo)} s after QEMU started`);
  return { host, outputs: outputsOf(rec, host, info, standIn) };
}

/** Powers the Xen host off (every domU goes with it), removes its namespace, taps and files. */
export async function deleteXenHost(r: Runner, P: Places, name: string, attached: XenHost | undefined): Promise<string> {
  const guests = Object.entries(P.w.guests).filter(([, g]) => g.host === name).map(([n]) => n);
  if (guests.length) throw new Error(`host ${name} still has guests: ${guests.join(', ')}`);
  const rec = P.w.hosts[name];
  const dir = rec?.dir ?? P.hostDir(name);
  const host = attached && xenHostAlive(attached) ? attached : attachXenHost(dir);
  const how = host ? await stopXenHost(host) : 'not-running';
  if (netnsExists(P.hostNs(name)) || P.net.reg.hosts[name]) await deleteHost(r, P.net, name); // the namespace, its bridges and taps
  for (const d of Object.values(rec?.devices ?? {})) rmSync(d.image, { force: true });
  rmSync(dir, { recursive: true, force: true });
  delete P.w.hosts[name];
  P.save();
  return how;
}
