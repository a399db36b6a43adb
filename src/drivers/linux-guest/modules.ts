// Modules judged by the guest's real kernel, through its agent: every module resource is insmod'ed
// in its guest and the result and the kernel's own log lines are recorded. What is loaded for a module:
//   a .ko from the cell (extra_modules)         -> that file, as it is;
//   a catalog module the catalog kernel refuses  -> a probe with its licence and imports (Linux modules), so
//                                                  the guest kernel gives its own verdict (--skip-compat);
//   a catalog module with a Debian stand-in      -> the stand-in (openafs.ko 1.8.9 for AFS client modules);
//   another Linux catalog module                 -> the probe, which stays loaded as the module.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Catalog, KernelEntry } from '../../catalog/types.js';
import type { Finding } from '../../compat/types.js';
import { kernelFromArtifacts, readKo } from '../../kmod/artifacts.js';
import { ensureOpenafsKo } from '../../kmod/openafs-ko.js';
import { probeModule } from '../../kmod/probe.js';
import { checkModuleLoad } from '../../kmod/verdict.js';
import { addr } from '../../plan/addrs.js';
import type { Json, ModuleAttrs } from '../../plan/resources.js';
import type { GuestAgent } from '../vm/agent.js';
import { GUEST_RUN_DIR } from '../vm/guest-agent.js';
import { headersFor } from './boot.js';
import type { GuestSide } from './side.js';

const INSMOD_TIMEOUT_MS = 120_000;

export interface InsmodResult {
  loaded: boolean;
  name: string; // the module's name, as /proc/modules and the kernel log say it
  kernelLog: string[]; // the kernel's lines from this insmod (dmesg)
  insmod: string; // insmod's own words when it failed
}

/** Modules loaded in the guest, by name. */
export async function loadedModules(agent: GuestAgent): Promise<Set<string>> {
  const r = await agent.exec('cat', ['/proc/modules'], { timeoutMs: 10_000 });
  return new Set(r.stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean));
}

/**
 * Copies the .ko into the guest (its /tmp and /run are its own) and insmods it, between two marks
 * in the kernel log, so the lines it caused are known (and shown on the console).
 */
export async function insmod(agent: GuestAgent, file: string, what: string, o: { probe?: boolean } = {}): Promise<InsmodResult> {
  const name = readKo(file).module.name;
  if ((await loadedModules(agent)).has(name)) {
    // a converging re-apply finds its module loaded; a probe must be judged, not assumed
    if (o.probe) throw new Error(`cannot probe ${name}: a module of that name is already loaded in the guest`);
    return { loaded: true, name, kernelLog: [], insmod: '' };
  }
  // insmod straight from the host root when the guest sees the file there (its /tmp, /run... are its own)
  const seen = (await agent.exec('test', ['-r', file], { timeoutMs: 10_000 })).code === 0;
  const inGuest = seen ? file : `${GUEST_RUN_DIR}/modules/${basename(file)}`;
  if (!seen) await agent.writeFile(inGuest, readFileSync(file));
  const mark = `cellctl: insmod ${basename(file)} (${what})`;
  const kmsg = (line: string) => agent.exec('sh', ['-c', 'echo "$1" >/dev/kmsg', 'sh', line], { timeoutMs: 10_000 });
  await kmsg(`${mark} ...`);
  const r = await agent.exec('insmod', [inGuest], { timeoutMs: INSMOD_TIMEOUT_MS });
  await kmsg(`${mark}: exit ${r.code}`);
  const dmesg = (await agent.exec('dmesg', [], { timeoutMs: 10_000 })).stdout.split('\n');
  const from = dmesg.map((l) => l.includes(`${mark} ...`)).lastIndexOf(true);
  const to = dmesg.map((l) => l.includes(`${mark}: exit`)).lastIndexOf(true);
  const kernelLog = dmesg.slice(from + 1, to < 0 ? undefined : to).filter((l) => l.trim() !== '');
  const loaded = r.code === 0 && (await loadedModules(agent)).has(name);
  return { loaded, name, kernelLog, insmod: r.code === 0 ? '' : (r.stderr || r.stdout).trim() };
}

export async function rmmod(agent: GuestAgent, name: string): Promise<string | undefined> {
  if (!(await loadedModules(agent)).has(name)) return undefined;
  const r = await agent.exec('rmmod', [name], { timeoutMs: 60_000 });
  return r.code === 0 ? undefined : (r.stderr || r.stdout).trim();
}

/** The kernel's words when it refused, as one line (its lines about this module, without the signature noise). */
function refusal(res: InsmodResult, release: string): string {
  const words = res.kernelLog
    .map((l) => l.replace(/^\[\s*[\d.]+\]\s*/, ''))
    .filter((l) => l.startsWith(`${res.name}: `) && !/out-of-tree module|verification failed/.test(l));
  return `insmod ${res.name}: refused by the guest's kernel ${release}: ${words.length ? words.join('; ') : res.insmod}`;
}

function cellKernel(kernel: string, catalog: Catalog): KernelEntry {
  return catalog.kernels.get(kernel) ?? kernelFromArtifacts({ symvers: kernel });
}

export interface ModuleContext {
  side: GuestSide;
  catalog: Catalog;
  agent: GuestAgent;
  log: (line: string) => void;
}

/** openafs.ko for the kernel a guest runs (built once, ~18 min cold; cached). */
export async function openafsKoFor(release: string, log: (l: string) => void): Promise<{ ko: string; version: string }> {
  const o = await ensureOpenafsKo({ kernelRelease: release, log });
  return { ko: o.ko, version: o.version };
}

export async function createModule(x: ModuleContext, resName: string, a: ModuleAttrs): Promise<Record<string, Json>> {
  const { side, catalog, agent } = x;
  const rec = side.guest(a.guest);
  const release = rec.release;
  const what = addr.module(a.guest, a.name);
  side.modules[resName] = { guest: a.guest, module: a.module, name: a.name };
  side.save();
  const out: Record<string, Json> = { kernel: release };
  const record = (key: string, r: InsmodResult, file: string) => {
    out[key] = { file, loaded: r.loaded, kernel_log: r.kernelLog, ...(r.insmod ? { insmod: r.insmod } : {}) };
  };
  const load = (file: string, o: { probe?: boolean } = {}) => side.inKernel(a.guest, () => insmod(agent, file, what, o));
  const keep = (name: string) => {
    side.modules[resName] = { ...side.modules[resName]!, loadedAs: name };
    side.save();
  };

  const entry = catalog.modules.get(a.module);
  if (!entry) {
    // extra_modules: a .ko from the cell, loaded as it is
    const r = await load(a.module);
    record('insmod', r, a.module);
    if (!r.loaded) throw new Error(refusal(r, release));
    keep(r.name);
    return { ...out, loaded: true, realized_as: `${a.module} as given` };
  }

  const verdict: Finding[] = checkModuleLoad(entry, cellKernel(rec.kernel, catalog), catalog.licences, what).filter((f) => f.severity === 'error');
  out.catalog_verdict = verdict.length ? verdict.map((f) => f.message).join('; ') : `loads into ${rec.kernel}`;
  const probe = async (): Promise<InsmodResult> => {
    const p = await probeModule(entry, headersFor(release, rec.kernel, catalog));
    if (p.built) x.log(`${what}: built a probe of ${entry.id} (its licence and ${entry.imports.length} imports) for ${release}`);
    const r = await load(p.ko, { probe: true });
    record('probe', r, p.ko);
    return r;
  };

  if (verdict.length) {
    // Only --skip-compat gets here: show the refusal on the real kernel, not just the catalog's word for it.
    if (entry.kernel_kind !== 'linux') {
      throw new Error(`${out.catalog_verdict} (the guest runs a Linux kernel: a ${entry.kernel_kind} module cannot be loaded to show it)`);
    }
    const r = await probe();
    if (!r.loaded) throw new Error(refusal(r, release));
    await rmmod(agent, r.name); // only a probe: the module itself (or its stand-in) comes next
    out.note = `the catalog refuses ${entry.id} for ${rec.kernel}, but the guest's kernel ${release} loaded its probe`;
  }

  const standIn = entry.debian_stand_in;
  if (standIn?.build === 'openafs-ko') {
    const ko = await openafsKoFor(release, x.log);
    const r = await load(ko.ko);
    record('insmod', r, ko.ko);
    if (!r.loaded) throw new Error(refusal(r, release));
    keep(r.name);
    return { ...out, loaded: true, realized_as: `${standIn.description}, version ${ko.version}, in place of ${entry.id}`, stand_in: standIn.description };
  }
  if (entry.kernel_kind !== 'linux') {
    return { ...out, loaded: false, realized_as: `nothing: ${entry.id} is a ${entry.kernel_kind} module, the guest runs Linux, and the catalog names no stand-in` };
  }
  if (verdict.length) return { ...out, loaded: false, realized_as: 'its probe only (unloaded again): no real build of it exists here' };
  const r = await probe();
  if (!r.loaded) throw new Error(refusal(r, release));
  keep(r.name);
  return { ...out, loaded: true, realized_as: `a probe with ${entry.id}'s licence and imports (no real build of it exists here)` };
}

export async function deleteModule(side: GuestSide, agent: GuestAgent | undefined, resName: string, log: (l: string) => void): Promise<void> {
  const m = side.modules[resName];
  if (m?.loadedAs && agent) {
    const why = await rmmod(agent, m.loadedAs).catch((e: Error) => e.message);
    if (why) log(`module.${resName}: ${m.loadedAs} stays loaded until the guest stops (${why})`);
  }
  delete side.modules[resName];
  side.save();
}
