// A domU's disks as Xen sees them: the cell's own disk specs (file:, tap:, phy:) naming paths in
// dom0, each a link to an image file on the cell's storage directory (every dom0 mounts it over 9p
// at DOM0_STORAGE); a phy: device is a loop device over such a file, linked at the device's name.
// The disk root= names holds a root filesystem made with mke2fs -d (the AFS and Kerberos clients and
// servers, busybox for the rest); the others are empty sparse files. Image directories get a new name on
// each creation: dom0 caches the storage directory (9p cache=loose), so a path is never reused.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from '../../../cache.js';
import type { DiskSpec } from '../../../config/types.js';
import type { GuestAttrs } from '../../../plan/resources.js';
import { GUEST_BUSYBOX } from '../../vm/guest-agent.js';
import type { XenHost } from '../host.js';
import { buildRootImage } from '../root-image.js';
import type { DiskRec, Places } from './world.js';

const DISK_BYTES = 1 << 30; // an empty disk: 1 GiB sparse (costs nothing until written)
const ROOT_MIB = 1024; // the root filesystem: 1 GiB sparse, ~60 MiB used
/**
 * What a domU's root holds beyond busybox: the kernel AFS client's tools, aklog, kinit, and the
 * servers the service layer places in a domU (MIT krb5kdc and kadmin.local, OpenAFS's bosserver
 * with ptserver, vlserver and the demand-attach fileserver).
 */
export const DOMU_ROOT_PACKAGES = ['openafs-client', 'openafs-krb5', 'krb5-user', 'krb5-kdc', 'krb5-admin-server', 'openafs-dbserver', 'openafs-fileserver'];
const DOMU_ROOT_LINKS = ['/usr/bin/pagsh', '/usr/bin/klog']; // Debian's alternatives for them, where present
const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib'];

/**
 * Libraries loaded with dlopen, so ldd does not name them: libverto's event-loop backend (whichever
 * is installed: libev, libevent, glib), without which krb5kdc stops with "Cannot allocate memory -
 * while creating main loop". The link and the file it names (ldd reads files, not links).
 */
function dlopened(): string[] {
  return LIB_DIRS.filter((d) => existsSync(d)).flatMap((d) => readdirSync(d).filter((f) => /^libverto-\w+\.so\.1$/.test(f)).flatMap((f) => [join(d, f), realpathSync(join(d, f))]));
}
const ROOT_FORMAT = 3; // bump when what goes into the root changes

/** A disk's Linux name from its vdev: 0x301 -> hda1 (major 3, minor 1), 0xca00 -> xvda; names stay as written. */
export function vdevName(vdev: string): string {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(vdev)) return vdev;
  const n = Number(vdev);
  const [major, minor] = [n >> 8, n & 0xff];
  const name = (prefix: string, perDisk: number, first: number) => {
    const part = minor % perDisk;
    return `${prefix}${String.fromCharCode(97 + first + Math.floor(minor / perDisk))}${part ? part : ''}`;
  };
  switch (major) {
    case 3:
      return name('hd', 64, 0);
    case 22:
      return name('hd', 64, 2);
    case 8:
      return name('sd', 16, 0);
    case 202:
      return name('xvd', 16, 0);
    default:
      return vdev;
  }
}

/** The disk root= names: the same name, else the whole disk of the partition it names. */
export function rootDiskIndex(a: Pick<GuestAttrs, 'root' | 'disks'>): number | undefined {
  const dev = a.root?.trim().split(/\s+/)[0]?.replace(/^\/dev\//, '');
  if (!dev) return undefined;
  const names = a.disks.map((d) => vdevName(d.vdev));
  const exact = names.indexOf(dev);
  if (exact >= 0) return exact;
  const whole = names.indexOf(dev.replace(/\d+$/, ''));
  return whole >= 0 ? whole : undefined;
}

const fileName = (path: string) => basename(path).replace(/[^\w.-]/g, '_');

/**
 * The image files and dom0 links of a new domU's disks (nothing made yet). A phy: device is the
 * host's: its image is recorded with the host on first use and shared by the host's domUs.
 */
export function planDisks(P: Places, guest: string, host: string, disks: DiskSpec[]): DiskRec[] {
  const gen = `${guest}.${randomBytes(4).toString('hex')}`;
  const h = P.w.hosts[host]!;
  return disks.map((d, i) => {
    if (d.kind === 'phy') {
      const dev = (h.devices[d.target] ??= (({ image, dom0 }) => ({ image, target: dom0 }))(P.stored('devices', `${host}.${randomBytes(4).toString('hex')}`, `${fileName(d.target)}.img`)));
      return { raw: d.raw, image: dev.image, target: dev.target, dom0Path: d.target, device: true };
    }
    const file = P.stored('disks', gen, `${i}-${fileName(d.target)}`);
    return { raw: d.raw, image: file.image, target: file.dom0, dom0Path: d.target };
  });
}

function sparseFile(path: string, bytes: number): void {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w', 0o600);
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

async function packageVersions(pkgs: string[]): Promise<string> {
  const r = await execa('dpkg-query', ['-W', '-f', '${Package} ${Version}\\n', ...pkgs], { reject: false });
  if (r.exitCode !== 0) throw new Error(`domU root: ${String(r.stderr).trim() || `packages ${pkgs.join(', ')} not installed`} (apt-get install -y --no-install-recommends ${pkgs.join(' ')})`);
  return String(r.stdout);
}

let template: Promise<string> | undefined;

/** The domU root filesystem, built once per package versions and busybox (~4 s) and cached. */
export function domuRootTemplate(log: (l: string) => void): Promise<string> {
  template ??= (async () => {
    const versions = await packageVersions(DOMU_ROOT_PACKAGES);
    const links = [...DOMU_ROOT_LINKS.filter((p) => existsSync(p)), ...dlopened()];
    const key = createHash('sha256').update(JSON.stringify({ ROOT_FORMAT, ROOT_MIB, versions, links })).update(readFileSync('/bin/busybox')).digest('hex').slice(0, 16);
    const file = join(cacheDir('xen', 'domu-root', key), 'root.ext4');
    if (existsSync(file)) return file;
    const t0 = Date.now();
    const tmp = `${file}.tmp-${process.pid}`;
    const r = await buildRootImage({ packages: DOMU_ROOT_PACKAGES, paths: links }, tmp, { sizeMiB: ROOT_MIB, label: 'cellctl-domu' });
    renameSync(tmp, file);
    log(`domU root filesystem built: ${r.files} files of ${DOMU_ROOT_PACKAGES.join(', ')} and busybox, ${(r.treeBytes / 2 ** 20).toFixed(0)} MiB, in ${((Date.now() - t0) / 1000).toFixed(1)} s (cached: ${file})`);
    return file;
  })();
  template.catch(() => {
    template = undefined;
  });
  return template;
}

/** Makes the image files on this machine: the root disk a copy of the root filesystem, the rest empty. */
export async function makeImages(disks: DiskRec[], rootIdx: number | undefined, log: (l: string) => void): Promise<void> {
  for (const [i, d] of disks.entries()) {
    if (existsSync(d.image)) continue;
    if (i !== rootIdx || d.device) {
      sparseFile(d.image, DISK_BYTES);
      continue;
    }
    const root = await domuRootTemplate(log);
    mkdirSync(dirname(d.image), { recursive: true });
    await execa('cp', ['--sparse=always', root, `${d.image}.tmp`]);
    renameSync(`${d.image}.tmp`, d.image);
  }
}

// In dom0 (busybox sh): each file disk's path a link to its image; a phy: device a loop device
// over its image, linked at the device's name (attached once per host: guests may share it).
const LINK = `set -e
while [ $# -ge 3 ]; do
  kind=$1 target=$2 link=$3; shift 3
  mkdir -p "\${link%/*}"
  if [ "$kind" = device ]; then
    [ -b "$link" ] && continue
    dev=$(/sbin/losetup -f --show "$target")
    ln -sfn "$dev" "$link"
  else
    ln -sfn "$target" "$link"
  fi
done`;

const UNLINK = `while [ $# -ge 2 ]; do
  kind=$1 link=$2; shift 2
  if [ "$kind" = device ] && [ -b "$link" ]; then losetup -d "$(readlink -f "$link")"; fi
  rm -f "$link"
done; true`;

async function dom0Sh(host: XenHost, script: string, args: string[], what: string): Promise<void> {
  const r = await host.dom0.agent.exec(GUEST_BUSYBOX, ['sh', '-c', script, 'sh', ...args], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`Xen host ${host.spec.name}: ${what}: ${(r.stderr || r.stdout).trim()}`);
}

/** The cell's disk paths in dom0, linked to their images. */
export function linkDisks(host: XenHost, disks: DiskRec[]): Promise<void> {
  if (!disks.length) return Promise.resolve();
  return dom0Sh(host, LINK, disks.flatMap((d) => [d.device ? 'device' : 'file', d.target, d.dom0Path]), `linking the disks ${disks.map((d) => d.dom0Path).join(', ')}`);
}

/** Removes the links (a device's: with its loop device; the host's devices go with the host). */
export function unlinkDisks(host: XenHost, disks: DiskRec[]): Promise<void> {
  if (!disks.length) return Promise.resolve();
  return dom0Sh(host, UNLINK, disks.flatMap((d) => [d.device ? 'device' : 'file', d.dom0Path]), 'removing the disk links');
}

/** Removes image files (and their per-creation directories) on this machine. */
export function removeImages(images: string[]): void {
  for (const f of images) {
    rmSync(f, { force: true });
    rmSync(dirname(f), { recursive: true, force: true });
  }
}
