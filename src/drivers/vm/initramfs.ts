// The guest initramfs: busybox-static, the kernel modules /init needs (with their dependencies, in
// modprobe's order), /init itself and the agent. Built once per distinct input and cached.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { cacheDir } from '../../cache.js';
import { writeCpioGz, type CpioEntry } from './cpio.js';
import { agentScript } from './guest-agent.js';
import { initScript, stage2Script } from './guest-init.js';
import { isStaticElf } from './kimage.js';
import type { GuestKernel } from './kernel.js';

/** What /init loads: the virtio PCI transport, 9p over virtio, overlayfs, the agent's port, NICs, disks. */
export const INIT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay', 'virtio_console', 'virtio_net', 'virtio_blk', 'ext4'];

const FORMAT = 'cellctl-initramfs-1'; // bump when the layout below changes

export interface ModuleFile {
  name: string; // "9pnet_virtio"
  path: string; // on the host, possibly .ko.xz / .ko.zst / .ko.gz
  args: string; // parameters modprobe would pass
}

export interface Initramfs {
  path: string; // the .cpio.gz
  key: string; // hash of every input
  modules: string[]; // load order
  built: boolean; // false: taken from the cache
}

/**
 * The .ko files (dependencies first, each once) modprobe would insert for `wanted`. Modules
 * built into the kernel need nothing; a module that exists nowhere is an error naming it.
 */
export async function moduleClosure(kernel: Pick<GuestKernel, 'release' | 'modulesDir'>, wanted: string[]): Promise<ModuleFile[]> {
  const dir = kernel.modulesDir ?? `/lib/modules/${kernel.release}`;
  const suffix = `/lib/modules/${kernel.release}`;
  if (!dir.endsWith(suffix)) throw new Error(`modules directory ${dir} must end in ${suffix} (modprobe -d takes its base)`);
  const base = dir.slice(0, -suffix.length) || '/';
  const r = await execa('modprobe', ['-d', base, '-S', kernel.release, '--show-depends', '-a', ...wanted], { reject: false });
  if (r.exitCode !== 0) {
    throw new Error(`modprobe cannot resolve ${wanted.join(' ')} for ${kernel.release} in ${dir}: ${String(r.stderr).trim()}`);
  }
  const seen = new Set<string>();
  const out: ModuleFile[] = [];
  for (const line of String(r.stdout).split('\n')) {
    const m = /^insmod (\S+)\s*(.*)$/.exec(line.trim());
    if (!m || seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    out.push({ path: m[1]!, name: basename(m[1]!).replace(/\.ko(\.(xz|zst|gz))?$/, ''), args: m[2]!.trim() });
  }
  return out;
}

/** A module's plain ELF bytes (busybox insmod does not take compressed modules). */
async function moduleBytes(path: string): Promise<Buffer> {
  const raw = readFileSync(path);
  const viaCli = async (cmd: string) => {
    const r = await execa(cmd, ['-dc', path], { encoding: 'buffer', reject: false, stripFinalNewline: false });
    if (r.exitCode !== 0) throw new Error(`${cmd} -dc ${path}: ${Buffer.from(r.stderr).toString().trim()}`);
    return Buffer.from(r.stdout);
  };
  if (path.endsWith('.ko.xz')) return viaCli('xz');
  if (path.endsWith('.ko.zst')) return viaCli('zstd');
  if (path.endsWith('.ko.gz')) return gunzipSync(raw);
  return raw;
}

async function busyboxApplets(busybox: string): Promise<string[]> {
  const r = await execa(busybox, ['--list']);
  return String(r.stdout).split('\n').map((s) => s.trim()).filter((s) => /^[\w.[\]-]+$/.test(s) && s !== 'busybox');
}

export interface InitramfsOptions {
  busybox?: string; // a static busybox; default /bin/busybox (Debian's busybox-static)
  modules?: string[]; // default INIT_MODULES
  scripts?: InitScripts; // default: the kit's own (9p host root, agent on the virtio port)
  name?: string; // the cache entry's file name (default initramfs.cpio.gz)
}

/** /init, the stage 2 it switches to, the agent, and any helper scripts (under /cellctl/). */
export interface InitScripts {
  init: string;
  stage2: string;
  agent: string;
  extra?: Record<string, string>; // file name -> sh
}

/** Builds (or finds in the cache) the initramfs for this kernel. */
export async function guestInitramfs(kernel: Pick<GuestKernel, 'release' | 'modulesDir'>, o: InitramfsOptions = {}): Promise<Initramfs> {
  const busybox = o.busybox ?? '/bin/busybox';
  let bb: Buffer;
  try {
    bb = readFileSync(busybox);
  } catch {
    throw new Error(`${busybox} not found (install busybox-static)`);
  }
  if (!isStaticElf(bb)) throw new Error(`${busybox} is not a static executable (install busybox-static)`);
  const mods = await moduleClosure(kernel, o.modules ?? INIT_MODULES);
  const scripts: InitScripts = o.scripts ?? { init: initScript(), stage2: stage2Script(), agent: agentScript() };

  const h = createHash('sha256').update(FORMAT).update(JSON.stringify(scripts)).update(bb);
  for (const m of mods) h.update(`${m.name} ${m.args}\n`).update(readFileSync(m.path));
  const key = h.digest('hex').slice(0, 16);
  const path = join(cacheDir('initramfs', key), o.name ?? 'initramfs.cpio.gz');
  const modules = mods.map((m) => m.name);
  if (existsSync(path)) return { path, key, modules, built: false };

  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'run', 'tmp', 'modules', 'cellctl'].map((p) => ({ kind: 'dir' as const, path: p })),
    // the kernel opens /dev/console for init's stdio before /init can mount devtmpfs
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'file', path: 'bin/busybox', data: bb, mode: 0o755 },
    ...(await busyboxApplets(busybox)).map((a) => ({ kind: 'symlink' as const, path: `bin/${a}`, target: 'busybox' })),
    { kind: 'file', path: 'init', data: Buffer.from(scripts.init), mode: 0o755 },
    { kind: 'file', path: 'cellctl/stage2.sh', data: Buffer.from(scripts.stage2), mode: 0o755 },
    { kind: 'file', path: 'cellctl/agent.sh', data: Buffer.from(scripts.agent), mode: 0o755 },
    ...Object.entries(scripts.extra ?? {}).map(([f, sh]) => ({ kind: 'file' as const, path: `cellctl/${f}`, data: Buffer.from(sh), mode: 0o755 })),
    { kind: 'file', path: 'modules/order', data: Buffer.from(mods.map((m) => `${m.name} ${m.args}`.trim() + '\n').join('')) },
  ];
  for (const m of mods) entries.push({ kind: 'file', path: `modules/${m.name}.ko`, data: await moduleBytes(m.path) });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, writeCpioGz(entries));
  renameSync(tmp, path);
  return { path, key, modules, built: true };
}
