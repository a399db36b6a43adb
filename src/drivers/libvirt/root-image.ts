// The root image libvirt guests boot from: an ext4 image of the cell's programs (the AFS and MIT
// Kerberos packages with their libraries, busybox for the rest), read-only under a tmpfs overlay in
// each guest. Not the host root over 9p: QEMU refuses to migrate a guest with a 9p export mounted,
// and an image on a path both hosts see is the "shared storage" live migration needs. Built once
// (mke2fs -d, no mount) per set of installed package versions, kept in the cache.
import { existsSync, mkdirSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from '../../cache.js';
import { buildRootImage } from '../xen/root-image.js';

// What the cell's services, the kernel AFS client and the checks run in a guest. ldd does not see
// what is loaded with dlopen: krb5kdc's event loop backend (libverto-libev, krb5-kdc's first choice;
// without it "Cannot allocate memory - while creating main loop") with its libev (buildRootImage runs
// ldd on programs, not on a package's shared objects), and libkrb5's preauth plugins.
export const ROOT_PACKAGES = [
  'openafs-client', 'openafs-krb5', 'openafs-dbserver', 'openafs-fileserver', 'krb5-kdc', 'krb5-admin-server', 'krb5-user',
  'libverto-libev1', 'libev4', 'libkrb5-3',
];

export interface LvRootImage {
  path: string;
  built: boolean;
  ms: number; // spent building (0 when found in the cache)
}

let building: Promise<LvRootImage> | undefined; // one build per process, whichever guest asks first

/** The image for the packages installed now; every guest of every cell shares it (it is read-only). */
export function libvirtRootImage(): Promise<LvRootImage> {
  if (!building) {
    building = findOrBuild();
    building.catch(() => {
      building = undefined; // a later guest tries again
    });
  }
  return building;
}

async function packageFileSet(): Promise<Set<string>> {
  const r = await execa('dpkg', ['-L', ...ROOT_PACKAGES]);
  return new Set(String(r.stdout).split('\n'));
}

/**
 * The commands update-alternatives made for these packages (pagsh -> /etc/alternatives/pagsh ->
 * pagsh.openafs): their postinst makes the links, so dpkg -L does not list them.
 */
function alternativeLinks(files: Set<string>): string[] {
  const out: string[] = [];
  for (const dir of ['/usr/bin', '/usr/sbin']) {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      try {
        if (readlinkSync(p).startsWith('/etc/alternatives/') && files.has(realpathSync(p))) out.push(p);
      } catch {
        /* not a link, or a dangling one */
      }
    }
  }
  return out;
}

async function findOrBuild(): Promise<LvRootImage> {
  const r = await execa('dpkg-query', ['-W', '-f', '${Package} ${Version} ${Status}\n', ...ROOT_PACKAGES], { reject: false });
  const lines = String(r.stdout).split('\n').filter(Boolean);
  const missing = ROOT_PACKAGES.filter((p) => !lines.some((l) => l.startsWith(`${p} `) && l.endsWith(' installed')));
  if (missing.length) throw new Error(`the guests' root image needs the Debian packages ${missing.join(', ')} installed on this machine`);
  const bb = statSync('/bin/busybox');
  const key = createHash('sha256').update('cellctl-lv-root-2\n').update(lines.join('\n')).update(`${bb.size} ${bb.mtimeMs}`).digest('hex').slice(0, 16);
  const dir = cacheDir('libvirt-root', key);
  const path = join(dir, 'root.img');
  if (existsSync(path)) return { path, built: false, ms: 0 };
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await buildRootImage({ packages: ROOT_PACKAGES, paths: alternativeLinks(await packageFileSet()) }, tmp, { label: 'cellctl-lv-root' });
    renameSync(tmp, path); // whole or not at all, whichever process builds it too
  } finally {
    rmSync(tmp, { force: true });
  }
  return { path, built: true, ms: Date.now() - t0 };
}
