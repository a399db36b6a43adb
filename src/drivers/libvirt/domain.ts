// One domain's life through virsh: define and start, state, stop, undefine, hot-plug a disk, and
// live migration between two libvirtds. `Virsh` runs one command on the domain's connection.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from '../../diagnostics.js';
import { diskAlias, hotplugDiskXml, virtioDev } from '../vm/domain-xml.js';
import { until } from '../netns/exec.js';
import { parseDisks, withChannelPath } from './parse.js';
import { VirshError, virshOnce } from './virsh.js';

export type Virsh = (args: string[], timeoutMs?: number) => Promise<string>;

const MIGRATE_TIMEOUT_MS = 600_000;
const UNPLUG_WAIT_MS = 30_000;

/**
 * The pid of the QEMU running a domain on this machine, whichever libvirtd started it (cellctl's own,
 * the system's, one behind a loopback sshd): found by its -name guest=<domain>, in /proc.
 */
export function domainPid(domain: string): number | undefined {
  const named = (a: string) => a === `guest=${domain}` || a.startsWith(`guest=${domain},`);
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (!argv.some((a) => a.includes('qemu-system')) || !argv.some(named)) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (!stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return Number(e);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** The domain's state ("running", "shut off", ...), or null when libvirt does not know it. */
export async function domState(virsh: Virsh, domain: string): Promise<string | null> {
  try {
    return (await virsh(['domstate', domain])).trim();
  } catch (e) {
    if (e instanceof VirshError && e.noDomain) return null;
    throw e;
  }
}

/** The uuid of an existing domain (a redefinition must keep it), or null. */
export async function domUuid(virsh: Virsh, domain: string): Promise<string | null> {
  try {
    return (await virsh(['domuuid', domain])).trim() || null;
  } catch (e) {
    if (e instanceof VirshError && e.noDomain) return null;
    throw e;
  }
}

/** Hard stop (virsh destroy) and forget the definition; a domain libvirt does not know is fine. */
export async function removeDomain(virsh: Virsh, domain: string): Promise<void> {
  for (const cmd of ['destroy', 'undefine']) {
    try {
      await virsh([cmd, domain]);
    } catch (e) {
      if (e instanceof VirshError && (e.noDomain || e.notRunning)) continue;
      throw e;
    }
  }
}

/** Hot-plugs a raw image as a virtio disk named by its serial (virsh attach-device --live); kept when already there. */
export async function attachDisk(virsh: Virsh, domain: string, image: string, serial: string, xmlFile: string): Promise<void> {
  const disks = parseDisks(await virsh(['dumpxml', domain]));
  if (disks.some((d) => d.alias === diskAlias(serial))) return; // plugged by an earlier run that was killed
  const used = new Set(disks.map((d) => d.dev));
  let i = 0;
  while (used.has(virtioDev(i))) i++;
  writeFileSync(xmlFile, hotplugDiskXml({ file: image, dev: virtioDev(i), serial }));
  try {
    await virsh(['attach-device', domain, xmlFile, '--live']);
  } finally {
    rmSync(xmlFile, { force: true });
  }
}

/** Unplugs it and waits until libvirt has let go (the guest acknowledged the removal). */
export async function detachDisk(virsh: Virsh, domain: string, serial: string): Promise<void> {
  const alias = diskAlias(serial);
  const plugged = async () => parseDisks(await virsh(['dumpxml', domain])).some((d) => d.alias === alias);
  if (!(await plugged())) return;
  await virsh(['detach-device-alias', domain, alias, '--live']);
  await until(`${domain} to release the disk ${serial}`, UNPLUG_WAIT_MS, async () => !(await plugged()), 200);
}

export interface Migration {
  from: string; // source URI
  to: string; // destination URI, as the source's virsh reaches it
  domain: string;
  /**
   * The destination's socket for a unix channel (the agent's port): it must differ from the source's,
   * because the source QEMU removes its socket's path when it ends, after the destination bound the same one.
   */
  channel?: { port: string; path: string };
  /** A unix socket both QEMUs see, for the migration stream: QEMU to QEMU, whatever network namespace each runs in. */
  via: string;
  xmlFile: string; // where the destination's XML is written (removed afterwards)
  timeoutMs?: number;
}

/**
 * virsh migrate --live, the domain staying defined only where it runs (--persistent
 * --undefinesource). Returns the milliseconds it took; libvirt's refusal comes back in its own words.
 */
export async function migrateDomain(m: Migration): Promise<number> {
  const d = await virshOnce(m.from, ['dumpxml', '--migratable', m.domain], 60_000);
  if (!d.ok) throw new UserError(`cannot read ${m.domain} at ${m.from}: ${d.errors.join('; ')}`);
  let xml = d.out;
  if (m.channel) xml = withChannelPath(xml, m.channel.port, m.channel.path);
  writeFileSync(m.xmlFile, xml);
  const t0 = Date.now();
  try {
    const timeout = m.timeoutMs ?? MIGRATE_TIMEOUT_MS;
    // --unsafe: libvirt asks for cache='none' or a network filesystem before it moves writable disks;
    // both hosts are this machine (the callers check), so the disks' files and page cache are one
    const r = await virshOnce(m.from, ['migrate', '--live', '--persistent', '--undefinesource', '--unsafe', '--xml', m.xmlFile, '--migrateuri', `unix://${m.via}`, m.domain, m.to], timeout);
    if (r.timedOut) throw new Error(`virsh migrate ${m.domain} ${m.from} -> ${m.to} gave no answer within ${timeout / 1000} s; see \`virsh -c ${m.from} domjobinfo ${m.domain}\``);
    if (!r.ok) throw new UserError(`libvirt cannot live-migrate ${m.domain} from ${m.from} to ${m.to}: ${r.errors.join('; ')}`);
  } finally {
    rmSync(m.xmlFile, { force: true });
  }
  return Date.now() - t0;
}
