// Test-only: what the real Xen tests need on this machine, and the seed guest they boot.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { loadCatalog } from '../../../src/catalog/load.js';
import { loadCell } from '../../../src/config/load.js';
import { PACKAGE_ROOT } from '../../../src/paths.js';
import { desiredResources } from '../../../src/plan/desired.js';
import type { GuestAttrs } from '../../../src/plan/resources.js';
import { hostKernelImage } from '../../../src/drivers/vm/kernel.js';
import { isStaticElf } from '../../../src/drivers/vm/kimage.js';
import { xenPrerequisites } from '../../../src/drivers/xen/driver/index.js';
import { findXen } from '../../../src/drivers/xen/hypervisor.js';
import { qemuEnv, type Env } from '../qemu/env.js';

/** ok, or the reason the real Xen tests skip (shown in their title). */
export function xenEnvironment(): { ok: boolean; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (taps, netns, loop devices)' };
  try {
    findXen();
    const release = hostKernelImage().release;
    if (!existsSync(`/lib/modules/${release}/modules.dep`)) return { ok: false, reason: `no /lib/modules/${release}` };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (!existsSync('/bin/busybox') || !isStaticElf(readFileSync('/bin/busybox'))) return { ok: false, reason: 'no static /bin/busybox (busybox-static)' };
  for (const [cmd, arg] of [['qemu-system-x86_64', '--version'], ['mke2fs', '-V'], ['ip', '-V'], ['xz', '--version']]) {
    try {
      execaSync(cmd!, [arg!]);
    } catch {
      return { ok: false, reason: `no ${cmd}` };
    }
  }
  return { ok: true, reason: '' };
}

/** The seed's shea, as cells/awesmoe-fixed.yaml plans it. */
export function seedShea(): GuestAttrs {
  const catalog = loadCatalog();
  const r = desiredResources(loadCell(join(PACKAGE_ROOT, 'cells', 'awesmoe-fixed.yaml'), catalog), catalog).find((x) => x.address === 'guest.shea');
  if (r?.type !== 'guest') throw new Error('no guest.shea in awesmoe-fixed.yaml');
  return r.attrs;
}

/** What the CLI tests of --driver xen need: the driver's prerequisites, and openafs.ko cached or buildable. */
export async function xenDriverEnv(): Promise<Env> {
  const pre = xenPrerequisites(loadCatalog());
  if (!pre.ok) return { ok: false, reason: pre.reason ?? 'xen driver unavailable', buildMs: 0 };
  return qemuEnv({ openafs: true });
}
