// Moving a domU between two Xen hosts that share a bridge and storage.
// - xlMigrate: the real live `xl migrate`, dom0 to dom0 over the cell's bridge (link-local,
//   no address of the cell used), `xl migrate-receive` on the other end.
// - xlMoveCold: `xl save` on one host, `xl restore` on the other, through a file on the shared
//   storage: the domU is stopped meanwhile (its memory and devices come back as they were).
// Measured here: live migration of a PV domU fails on Debian's Xen 4.17 ("Failed to enable
// logdirty: 95"): PV log-dirty needs shadow paging, and that build has CONFIG_SHADOW_PAGING off
// (/boot/xen-4.17-amd64.config). The cold move works.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_BUSYBOX } from '../vm/guest-agent.js';
import type { XenHost } from './host.js';
import { XlError, xlList } from './xl.js';

const MIGRATE_PORT = 8002;

/**
 * Whether this hypervisor build can live-migrate PV domUs: it needs shadow paging for their
 * log-dirty mode. Read from the build's config beside the image (/boot/xen-<series>-amd64.config);
 * undefined when there is none to read.
 */
export function pvLiveMigration(host: XenHost): boolean | undefined {
  try {
    const cfg = readFileSync(host.xen.package.replace(/\.gz$/, '.config'), 'utf8');
    return /^CONFIG_SHADOW_PAGING=y$/m.test(cfg);
  } catch {
    return undefined;
  }
}

/** dom0's IPv6 link-local address on one of its bridges. */
async function bridgeLinkLocal(host: XenHost, bridge: string): Promise<string> {
  const r = await host.dom0.agent.exec(GUEST_BUSYBOX, ['ip', '-6', '-o', 'addr', 'show', 'dev', bridge]);
  const m = /inet6 (fe80::[0-9a-f:]+)\/64 scope link/.exec(r.stdout);
  if (!m) throw new Error(`Xen host ${host.spec.name}: no link-local address on ${bridge} (${(r.stdout + r.stderr).trim() || 'no such bridge'})`);
  return m[1]!;
}

/**
 * `xl migrate` of domain `name` from one host to the other, over `bridge` (a bridge of both,
 * joined through their uplinks). Failures are XlError with xl's own output, both ends'.
 */
export async function xlMigrate(from: XenHost, to: XenHost, name: string, o: { bridge: string; timeoutMs?: number }): Promise<void> {
  const addr = `${await bridgeLinkLocal(to, o.bridge)}%${o.bridge}`;
  const xl = join(to.xen.toolsDir, 'xl');
  const log = `/var/log/xen/cellctl-migrate-receive-${name}.log`;
  // one connection: busybox nc hands it to xl migrate-receive as stdin/stdout, as ssh would
  const receiver = await to.dom0.agent.spawn(GUEST_BUSYBOX, ['nc', '-l', '-p', String(MIGRATE_PORT), '-e', xl, 'migrate-receive'], { logFile: log });
  try {
    const send = `${GUEST_BUSYBOX} nc -w 10 ${addr} ${MIGRATE_PORT}`;
    const r = await from.dom0.agent.exec(join(from.xen.toolsDir, 'xl'), ['migrate', '-s', '', name, send], { timeoutMs: o.timeoutMs ?? 600_000 });
    if (r.code !== 0) {
      const received = (await to.dom0.agent.exec('cat', [log])).stdout.trim();
      throw new XlError(`xl migrate ${name} (${from.spec.name} -> ${to.spec.name})`, r.code, `${(r.stderr + r.stdout).trim()}\n--- ${to.spec.name}: xl migrate-receive:\n${received}`);
    }
  } finally {
    await to.dom0.agent.exec(GUEST_BUSYBOX, ['sh', '-c', `kill ${receiver} 2>/dev/null; :`]);
  }
}

/**
 * Cold move of domain `name`: `xl save` to stateFile (a dom0 path on storage both hosts share),
 * `xl restore` on the other host. Between the two, the sender's dom0 writes its page cache out
 * and the receiver drops its own (the shared storage is 9p with cache=loose in each dom0).
 */
export async function xlMoveCold(from: XenHost, to: XenHost, name: string, o: { stateFile: string; timeoutMs?: number }): Promise<{ id: number }> {
  const timeoutMs = o.timeoutMs ?? 600_000;
  const save = await from.dom0.agent.exec(join(from.xen.toolsDir, 'xl'), ['save', name, o.stateFile], { timeoutMs });
  if (save.code !== 0) throw new XlError(`xl save ${name} ${o.stateFile}`, save.code, (save.stderr + save.stdout).trim());
  await from.dom0.agent.exec('sync', [], { timeoutMs });
  await to.dom0.agent.exec(GUEST_BUSYBOX, ['sh', '-c', 'echo 3 >/proc/sys/vm/drop_caches']);
  const restore = await to.dom0.agent.exec(join(to.xen.toolsDir, 'xl'), ['restore', o.stateFile], { timeoutMs });
  if (restore.code !== 0) throw new XlError(`xl restore ${o.stateFile}`, restore.code, (restore.stderr + restore.stdout).trim());
  await to.dom0.agent.exec('rm', ['-f', o.stateFile]);
  const d = (await xlList(to)).find((x) => x.name === name);
  if (!d) throw new Error(`xl restore ${o.stateFile} on ${to.spec.name}: succeeded but ${name} is not in xl list`);
  return { id: d.id };
}
