// A domU's root disk: an ext4 image made with `mke2fs -d` from a tree of host files (programs
// with the libraries ldd names, whole Debian packages, plain paths) plus busybox for everything
// else. A PV domU cannot share the host root the way the QEMU guests do (no virtio 9p; Xen's
// 9pfs backend needs a QEMU in dom0), so it gets its own disk, as the seed's guests had.
import { type Stats, closeSync, constants, copyFileSync, lstatSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { elfProgramHeaders, isElf } from '../vm/kimage.js';

export interface RootTree {
  programs?: string[]; // commands found in PATH, or absolute paths: copied with their shared libraries
  packages?: string[]; // installed Debian packages: every file `dpkg -L` lists, ELF files with their libraries
  paths?: string[]; // host files or directories, copied as they are (directories recursively)
}

export interface RootImage {
  path: string;
  sizeMiB: number;
  files: number; // host files copied in (busybox links not counted)
  treeBytes: number;
}

const SKELETON_DIRS: [string, number][] = [
  ['usr/bin', 0o755], ['usr/sbin', 0o755], ['usr/lib', 0o755], ['usr/lib64', 0o755], ['etc', 0o755], ['proc', 0o555],
  ['sys', 0o555], ['dev', 0o755], ['run', 0o755], ['tmp', 0o1777], ['root', 0o700], ['home', 0o755], ['mnt', 0o755],
  ['var/tmp', 0o1777], ['var/log', 0o755], ['var/lib', 0o755], ['var/cache', 0o755],
];
// Debian 12 is merged-/usr: the top-level directories are links into /usr
const MERGED = ['bin', 'sbin', 'lib', 'lib64'];
const BASE_FILES = ['/etc/passwd', '/etc/group', '/etc/nsswitch.conf'];

async function which(cmd: string): Promise<string> {
  if (cmd.includes('/')) return resolve(cmd);
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(d, cmd);
    try {
      if (lstatSync(p).isFile() || lstatSync(p).isSymbolicLink()) return p;
    } catch {
      /* not here */
    }
  }
  throw new Error(`root image: program ${cmd} not found in PATH`);
}

async function packageFiles(pkg: string): Promise<string[]> {
  const r = await execa('dpkg', ['-L', pkg], { reject: false });
  if (r.exitCode !== 0) throw new Error(`root image: package ${pkg}: ${String(r.stderr).trim() || 'not installed'}`);
  return String(r.stdout).split('\n').filter((l) => l.startsWith('/') && l !== '/.');
}

/** The shared libraries (and loaders) ldd names for dynamic ELF files (one ldd per 200 files). */
async function libraries(files: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (let i = 0; i < files.length; i += 200) {
    const r = await execa('ldd', files.slice(i, i + 200), { reject: false });
    for (const line of String(r.stdout).split('\n')) {
      const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
      if (m) out.add(m[1]!);
      else if (/=> not found/.test(line)) throw new Error(`root image: a library is missing: ${line.trim()}`);
    }
  }
  return [...out];
}

const PT_DYNAMIC = 2;

/**
 * A dynamically linked ELF file, program or shared library (its headers, in the first 4 KiB, have
 * a dynamic segment): a library loaded with dlopen (a plugin) brings its own libraries too.
 */
function isDynamicElf(path: string): boolean {
  let fd: number | undefined;
  try {
    if (!lstatSync(path).isFile()) return false;
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    const b = head.subarray(0, n);
    return n >= 64 && isElf(b) && elfProgramHeaders(b).some((ph) => ph.type === PT_DYNAMIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Copies host paths into a staging tree at their real (symlink-free) directories, links kept as links. */
class Stager {
  files = 0;
  bytes = 0;
  private done = new Set<string>();
  constructor(private readonly root: string) {}

  add(hostPath: string, recurse = true): void {
    const p = resolve(hostPath);
    if (this.done.has(p)) return;
    this.done.add(p);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      throw new Error(`root image: ${p} does not exist`);
    }
    const dir = p === '/' ? '/' : realpathSync(dirname(p));
    const dest = join(this.root, dir, basename(p));
    if (MERGED.includes(dest.slice(this.root.length + 1))) return; // the skeleton's own links
    mkdirSync(dirname(dest), { recursive: true });
    if (st.isSymbolicLink()) {
      const target = readlinkSync(p);
      try {
        symlinkSync(target, dest);
      } catch {
        /* already there */
      }
      this.add(resolve(dirname(p), target), recurse);
    } else if (st.isDirectory()) {
      mkdirSync(dest, { recursive: true, mode: st.mode & 0o7777 });
      if (recurse) for (const e of readdirSync(p)) this.add(join(p, e));
    } else if (st.isFile()) {
      copyFileSync(p, dest, constants.COPYFILE_FICLONE);
      this.files++;
      this.bytes += st.size;
    }
  }
}

function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += 4096 + treeBytes(p);
    else if (e.isFile()) n += lstatSync(p).size;
  }
  return n;
}

/**
 * Builds the image at `image` (replacing it). Size: the tree plus a third and 64 MiB of room,
 * unless sizeMiB says otherwise.
 */
export async function buildRootImage(tree: RootTree, image: string, o: { sizeMiB?: number; label?: string; busybox?: string } = {}): Promise<RootImage> {
  mkdirSync(dirname(resolve(image)), { recursive: true });
  const staging = mkdtempSync(join(dirname(resolve(image)), '.root-'));
  try {
    for (const [d, mode] of SKELETON_DIRS) mkdirSync(join(staging, d), { recursive: true, mode });
    for (const d of MERGED) symlinkSync(`usr/${d}`, join(staging, d));
    const s = new Stager(staging);
    const wanted: string[] = [...BASE_FILES];
    for (const p of tree.programs ?? []) wanted.push(await which(p));
    for (const pkg of tree.packages ?? []) wanted.push(...(await packageFiles(pkg)));
    for (const p of wanted) s.add(p, false);
    for (const p of tree.paths ?? []) s.add(p);
    const elfs = [...wanted, ...(tree.paths ?? [])].filter(isDynamicElf);
    for (const lib of await libraries(elfs)) s.add(lib);

    // busybox for every command the tree does not have (sh, mount, ip ... for a shell in the guest)
    const bb = o.busybox ?? '/bin/busybox';
    copyFileSync(bb, join(staging, 'usr/bin/busybox'));
    const list = String((await execa(bb, ['--list-full'])).stdout).split('\n').map((l) => l.trim()).filter(Boolean);
    for (const a of list) {
      const rel = a.replace(/^(bin|sbin)\//, 'usr/$1/');
      if (!/^usr\/s?bin\/[\w.[\]-]+$/.test(rel)) continue;
      const dest = join(staging, rel);
      try {
        lstatSync(dest);
      } catch {
        symlinkSync('/usr/bin/busybox', dest);
      }
    }
    writeFileSync(join(staging, 'etc/fstab'), '# cellctl: the root is mounted by the initramfs\n');

    const bytes = treeBytes(staging);
    const sizeMiB = o.sizeMiB ?? Math.ceil((bytes * 4) / 3 / 2 ** 20) + 64;
    rmSync(image, { force: true });
    const r = await execa('mke2fs', ['-q', '-F', '-t', 'ext4', '-m', '0', '-L', o.label ?? 'cellctl-root', '-E', 'root_owner=0:0', '-d', staging, image, `${sizeMiB}M`], { reject: false });
    if (r.exitCode !== 0) throw new Error(`mke2fs -d for ${image}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
    return { path: image, sizeMiB, files: s.files, treeBytes: bytes };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
