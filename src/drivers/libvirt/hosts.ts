// Hosts of --driver libvirt on QEMU URIs. A host is a libvirt connection. When its URI names a socket
// in a directory that is absent, empty or made by cellctl (qemu:///system?socket=<dir>/libvirt-sock, or
// qemu+ssh:// to loopback with that socket=), cellctl runs that libvirtd itself, on this machine: the host becomes a network namespace with a
// Linux bridge per cell bridge (the netns driver's code; same-named bridges of the cell's hosts are
// joined, one segment), and the libvirtd runs inside it, so its guests' taps sit on those bridges and
// all their traffic stays in the cell's namespaces. Any other URI is a libvirtd someone else runs:
// its host's bridges must exist there under the cell file's names.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../diagnostics.js';
import type { Observed } from '../../plan/types.js';
import type { HostAttrs } from '../../plan/resources.js';
import { PRESENT } from '../driver.js';
import type { Runner } from '../netns/exec.js';
import { createHost, deleteHost, netnsExists } from '../netns/namespaces.js';
import { hostUuidFor, isOurs, libvirtdPid, libvirtdPrerequisites, startLibvirtd, stopLibvirtd } from './libvirtd.js';
import { parseNodeMemoryMiB } from './parse.js';
import { daemonDirOf } from './uri.js';
import type { Virsh } from './domain.js';
import type { LvPlaces } from './world.js';

/** May cellctl run the libvirtd this URI names? (a socket in a directory absent, empty, or made by cellctl) */
export function ownDaemonDir(uri: string): string | undefined {
  const dir = daemonDirOf(uri);
  if (!dir) return undefined;
  return !existsSync(dir) || readdirSync(dir).length === 0 || isOurs(dir) ? dir : undefined;
}

export async function createLvHost(r: Runner, P: LvPlaces, name: string, a: HostAttrs, uri: string, virsh: (uri: string) => Virsh, log: (l: string) => void): Promise<Record<string, string | number | string[] | null>> {
  const dir = P.lv.hosts[name]?.daemon?.dir ?? ownDaemonDir(uri);
  if (dir) {
    const other = Object.entries(P.lv.hosts).find(([h, x]) => h !== name && x.daemon?.dir === dir);
    if (other) {
      throw new UserError(`hosts ${other[0]} and ${name} cannot share the libvirtd cellctl runs at ${dir}: it runs inside one host's network namespace; give each host a socket of its own (hosts.<name>.uri: qemu:///system?socket=<dir>/libvirt-sock)`);
    }
    const pre = libvirtdPrerequisites();
    if (!pre.ok) throw new UserError(`host ${name}: cellctl cannot run a libvirtd here: ${pre.reason}`);
  }
  const ns = P.hostNs(name);
  P.w.hosts[name] = { memory: a.memory, dom0: a.dom0_memory, cpus: a.cpus };
  P.lv.hosts[name] = { uri, ...(dir ? { daemon: { dir, netns: ns } } : {}) };
  P.save(); // write-ahead: recorded before the namespace or the daemon exists
  const out: Record<string, string | number | string[] | null> = { uri };
  if (dir) {
    const bridges = await createHost(r, P.net, name, a);
    const d = await startLibvirtd({ dir, netns: ns, hostUuid: hostUuidFor(`${P.prefix}|${name}`) });
    log(`host ${name}: libvirtd pid ${d.daemon.pid} in namespace ${ns}, ${d.reused ? 'running already' : `ready in ${(d.readyMs / 1000).toFixed(1)} s`} (${uri})`);
    Object.assign(out, { netns: ns, bridges: Object.values(bridges), libvirtd_pid: d.daemon.pid, libvirtd_dir: dir, ...(d.reused ? {} : { libvirtd_ready_ms: d.readyMs }) });
  }
  const v = virsh(uri);
  const version = await v(['version']);
  Object.assign(out, {
    connected: await v(['uri']),
    hypervisor: /^Running hypervisor:\s*(.*)$/m.exec(version)?.[1] ?? 'unknown',
    node_memory: parseNodeMemoryMiB(await v(['nodeinfo'])),
  });
  return out;
}

/** Stops cellctl's libvirtd (its guests are gone first) and removes the namespace; another's libvirtd is only forgotten. */
export async function deleteLvHost(r: Runner, P: LvPlaces, name: string, closeConnection: (uri: string) => Promise<void>): Promise<void> {
  const guests = Object.entries(P.w.guests).filter(([, g]) => g.host === name).map(([n]) => n);
  if (guests.length) throw new Error(`host ${name} still has guests: ${guests.join(', ')}`);
  const h = P.lv.hosts[name];
  if (h) await closeConnection(h.uri);
  if (h?.daemon) {
    await stopLibvirtd(h.daemon.dir, { remove: true });
    if (P.net.reg.hosts[name] || netnsExists(h.daemon.netns)) await deleteHost(r, P.net, name);
  }
  rmSync(join(P.root, 'hosts', name), { recursive: true, force: true });
  delete P.w.hosts[name];
  delete P.lv.hosts[name];
  P.save();
}

/** A host is there when its connection answers; cellctl's own also needs its namespace and daemon. */
export async function readLvHost(P: LvPlaces, name: string, virsh: (uri: string) => Virsh): Promise<Observed> {
  const h = P.lv.hosts[name];
  if (!h) return { state: 'absent', reason: 'not recorded by the libvirt driver' };
  if (h.daemon) {
    if (!netnsExists(h.daemon.netns)) return { state: 'absent', reason: `namespace ${h.daemon.netns} is gone` };
    if (!libvirtdPid(h.daemon.dir)) return { state: 'degraded', reason: `the libvirtd in ${h.daemon.dir} is not running: will be started`, repair: 'update' };
  }
  try {
    await virsh(h.uri)(['uri']);
    return PRESENT;
  } catch (e) {
    return { state: 'unknown', reason: (e as Error).message };
  }
}
