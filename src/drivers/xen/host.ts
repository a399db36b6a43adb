// A Xen host: QEMU boots Xen (multiboot), Xen boots dom0 = the kit's guest (Debian's kernel, host
// root over 9p, the agent on virtio-serial: a PV dom0 drives QEMU's virtio devices like any
// kernel does). Then the dom0 setup (dom0-setup.ts) runs through that agent, and the host is
// ready when the real `xl info` answers.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCatalog } from '../../catalog/load.js';
import { prepareBootFiles, type BootFiles } from '../vm/boot-files.js';
import { GUEST_BUSYBOX } from '../vm/guest-agent.js';
import { INIT_MODULES } from '../vm/initramfs.js';
import { attachGuest, guestAlive, startGuest, stopGuest, waitReady, type Guest, type StopMethod } from '../vm/qemu.js';
import type { Vif } from '../vm/qemu-args.js';
import { DOM0_MODULES, dom0SetupScript, XEN_LOG_DIR, type Dom0Mount } from './dom0-setup.js';
import { hotplugScripts } from './hotplug.js';
import { xenImage, type XenImage } from './hypervisor.js';
import { xlInfo, type XenInfo } from './xl.js';

// The CPU model QEMU shows Xen and Xen's options beyond dom0_mem and the console are facts with
// their sources: catalog data (stand-ins.json: xen_host.cpu_model, xen_options).
const XEN_CONSOLE = 'console=com1 loglvl=info guest_loglvl=info';

export interface Uplink extends Vif {
  bridge: string; // the dom0 bridge this NIC joins
}

export interface HostShare {
  hostPath: string; // a host directory...
  dom0Path: string; // ...that dom0 sees read-write here (image files for `file:` disks)
}

export interface XenHostSpec {
  name: string;
  dir: string; // QEMU's files, the dom0 console, and xen-log/ (dom0's /var/log/xen)
  memoryMiB: number; // the machine's memory: Xen + dom0 + domUs
  cpus: number;
  dom0MemoryMiB: number; // dom0_mem
  bridges: string[]; // made in dom0
  netns?: string; // where QEMU runs (and the uplinks' taps are)
  vifs?: Uplink[]; // dom0 NICs, each joined to one of the bridges: the way out to other hosts
  shares?: HostShare[];
  xenSeries?: string; // default: the newest installed
  xenHotplugScripts?: boolean; // keep Xen's bash block/vif-bridge (default: cellctl's, see hotplug.ts)
  cpu?: string; // QEMU -cpu model (default: $CELLCTL_XEN_CPU, else the catalog's xen_host.cpu_model)
  xenOptions?: string[]; // Xen's command line beyond dom0_mem and the console (default: the catalog's xen_host.xen_options)
}

export interface XenHost {
  spec: XenHostSpec;
  xen: XenImage;
  dom0: Guest; // dom0's QEMU; dom0.agent runs commands in dom0
  logDir: string; // host path of dom0's /var/log/xen
  timings: Record<string, number>; // ms since QEMU start: dom0Agent, dom0Setup, xlInfo
  startedAt: number; // Date.now() when QEMU was started
}

const SPEC_FILE = 'xen-host.json';

/** Where a host's files are, from its directory: dom0's QEMU files, and dom0's /var/log/xen as the host sees it. */
export function xenHostPaths(hostDir: string): { dir: string; logDir: string; dom0Dir: string } {
  const dir = resolve(hostDir);
  return { dir, logDir: join(dir, 'xen-log'), dom0Dir: join(dir, 'dom0') };
}

function paths(spec: XenHostSpec) {
  return xenHostPaths(spec.dir);
}

/** The 9p shares of dom0: its /var/log/xen (read by the host: consoles, xl logs) and the spec's. */
function dom0Mounts(spec: XenHostSpec): (Dom0Mount & { hostPath: string })[] {
  const p = paths(spec);
  return [
    { tag: 'xenlog', path: XEN_LOG_DIR, hostPath: p.logDir },
    ...(spec.shares ?? []).map((s, i) => ({ tag: `share${i}`, path: s.dom0Path, hostPath: resolve(s.hostPath), cache: 'loose' as const })),
  ];
}

function validate(spec: XenHostSpec): void {
  const int = (v: number, min: number, what: string) => {
    if (!Number.isInteger(v) || v < min) throw new Error(`Xen host ${spec.name}: ${what} must be an integer >= ${min} (got ${v})`);
  };
  int(spec.memoryMiB, 256, 'memory (MiB)');
  int(spec.dom0MemoryMiB, 128, 'dom0 memory (MiB)');
  int(spec.cpus, 1, 'cpus');
  if (spec.dom0MemoryMiB >= spec.memoryMiB) throw new Error(`Xen host ${spec.name}: dom0 memory ${spec.dom0MemoryMiB} MiB leaves nothing of the host's ${spec.memoryMiB} MiB`);
  for (const s of spec.shares ?? []) {
    if (!s.dom0Path.startsWith('/') || s.dom0Path.split('/').includes('..')) throw new Error(`Xen host ${spec.name}: share target ${JSON.stringify(s.dom0Path)} must be an absolute path`);
  }
}

/** The dom0 setup for this host (throws on a bad bridge name or uplink: checked before booting). */
function setupScript(spec: XenHostSpec, xen: XenImage): string {
  return dom0SetupScript({
    toolsDir: xen.toolsDir,
    mounts: dom0Mounts(spec),
    bridges: spec.bridges,
    uplinks: (spec.vifs ?? []).map((v) => ({ mac: v.mac, bridge: v.bridge })),
    hotplug: spec.xenHotplugScripts ? undefined : hotplugScripts(),
  });
}

/** dom0's kernel and initramfs: the kit's, with the Xen backends loaded by /init (from RAM, not 9p). */
export function prepareDom0Boot(): Promise<BootFiles> {
  return prepareBootFiles({}, { modules: [...INIT_MODULES, ...DOM0_MODULES] });
}

/**
 * Starts the host's QEMU (Xen, dom0 as its first module) and returns once QEMU runs; the
 * boot goes on: see waitXenReady.
 */
export async function startXenHost(spec: XenHostSpec, boot?: BootFiles): Promise<XenHost> {
  validate(spec);
  const xen = xenImage({ series: spec.xenSeries });
  setupScript(spec, xen);
  const files = boot ?? (await prepareDom0Boot());
  const p = paths(spec);
  const mounts = dom0Mounts(spec);
  for (const m of mounts) mkdirSync(m.hostPath, { recursive: true });
  writeFileSync(join(p.dir, SPEC_FILE), JSON.stringify(spec, null, 2) + '\n');
  const facts = loadCatalog().standIns.xen_host;
  const startedAt = Date.now();
  const dom0 = await startGuest({
    name: spec.name,
    dir: p.dom0Dir,
    memoryMiB: spec.memoryMiB,
    cpus: spec.cpus,
    kernel: files.kernel.boot,
    initrd: files.initramfs.path,
    console: 'hvc0',
    append: 'earlyprintk=xen',
    cpu: spec.cpu ?? process.env.CELLCTL_XEN_CPU ?? facts.cpu_model,
    hostCache: 'loose', // every exec in dom0 reads its binary and libraries: keep them in dom0's page cache
    hypervisor: {
      image: xen.image,
      append: [`dom0_mem=${spec.dom0MemoryMiB}M,max:${spec.dom0MemoryMiB}M`, XEN_CONSOLE, ...(spec.xenOptions ?? facts.xen_options)].join(' '),
    },
    netns: spec.netns,
    vifs: (spec.vifs ?? []).map(({ mac, tap }) => ({ mac, tap })), // no address: the NIC is a bridge port
    shares: mounts.map((m) => ({ path: m.hostPath, tag: m.tag })),
  });
  return { spec, xen, dom0, logDir: p.logDir, timings: {}, startedAt };
}

/** A host started earlier (by this or another process), from its directory; undefined if not running. */
export function attachXenHost(dir: string): XenHost | undefined {
  let spec: XenHostSpec;
  try {
    spec = JSON.parse(readFileSync(join(resolve(dir), SPEC_FILE), 'utf8')) as XenHostSpec;
  } catch {
    return undefined;
  }
  const p = paths(spec);
  const dom0 = attachGuest(spec.name, p.dom0Dir);
  if (!dom0) return undefined;
  return { spec, xen: xenImage({ series: spec.xenSeries }), dom0, logDir: p.logDir, timings: {}, startedAt: Date.now() };
}

/**
 * Waits for dom0's agent, sets dom0 up (xen modules, xenstored, xen-init-dom0, xenconsoled,
 * bridges, uplinks) and returns `xl info` once it answers.
 */
export async function waitXenReady(host: XenHost, timeoutMs = 240_000): Promise<XenInfo> {
  const t0 = Date.now();
  const left = () => Math.max(1_000, timeoutMs - (Date.now() - t0));
  await waitReady(host.dom0, left());
  host.timings.dom0Agent = Date.now() - host.startedAt;
  const { spec } = host;
  const r = await host.dom0.agent.exec(GUEST_BUSYBOX, ['sh', '-c', setupScript(spec, host.xen)], { timeoutMs: left() });
  if (r.code !== 0) throw new Error(`Xen host ${spec.name}: dom0 setup failed: ${(r.stdout + r.stderr).trim().split('\n').slice(-6).join('\n')}`);
  host.timings.dom0Setup = Date.now() - host.startedAt;
  const info = await xlInfo(host, left());
  host.timings.xlInfo = Date.now() - host.startedAt;
  return info;
}

/** Powers the host off (dom0's poweroff makes Xen stop the machine); every domU goes with it. */
export async function stopXenHost(host: XenHost): Promise<StopMethod> {
  return stopGuest(host.dom0, { poweroffWaitMs: 20_000 });
}

export function xenHostAlive(host: XenHost): boolean {
  return guestAlive(host.dom0.pidfile) !== undefined;
}
