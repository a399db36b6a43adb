// The real toolstack, run in dom0 through its agent: `xl info`, `xl list`, `xl create`, `xl
// shutdown`, `xl destroy`; and a domU's console as xenconsoled logged it from its first byte.
// Failures are xl's own words (XlError.xlOutput), never rephrased.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXlConfig } from '../../export/xl.js';
import { AgentTimeoutError } from '../vm/agent.js';
import { shq } from '../vm/guest-scripts.js';
import { XEN_LOG_DIR } from './dom0-setup.js';
import type { XenHost } from './host.js';

export class XlError extends Error {
  constructor(readonly command: string, readonly code: number, readonly xlOutput: string) {
    super(`${command} failed (exit ${code}):\n${xlOutput}`);
  }
}

export interface XenInfo {
  xenVersion: string; // "4.17.7..."
  totalMemoryMiB: number;
  freeMemoryMiB: number;
  nrCpus: number;
  raw: Record<string, string>; // every "key : value" line of `xl info`
}

export interface XlDomain {
  name: string;
  id: number;
  memMiB: number;
  vcpus: number;
  state: string; // "r-----", "-b----", ...: running, blocked, paused, shutdown, crashed, dying
  timeS: number; // CPU seconds used
}

/** Where dom0 keeps the configs it was given (its /etc is the overlay's: gone at poweroff). */
export const XL_CONFIG_DIR = '/etc/xen/cellctl';
const DOMAIN_NAME = /^[A-Za-z0-9][\w.-]{0,63}$/;

function xl(host: XenHost): string {
  return join(host.xen.toolsDir, 'xl');
}

/** Runs xl with args in dom0; a non-zero exit is an XlError carrying xl's output. */
async function runXl(host: XenHost, args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await host.dom0.agent.exec(xl(host), args, { timeoutMs });
  if (r.code !== 0) throw new XlError(`xl ${args.join(' ')}`, r.code, (r.stderr + r.stdout).trim());
  return r.stdout;
}

/** "key : value" lines. */
export function parseXlInfo(text: string): XenInfo {
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+)\s*:\s?(.*)$/.exec(line);
    if (m) raw[m[1]!] = m[2]!.trim();
  }
  const num = (k: string) => {
    const n = Number(raw[k]);
    if (raw[k] === undefined || !Number.isFinite(n)) throw new Error(`xl info: no numeric ${k} in:\n${text.trim().slice(0, 500)}`);
    return n;
  };
  if (!raw.xen_version) throw new Error(`xl info: no xen_version in:\n${text.trim().slice(0, 500)}`);
  return { xenVersion: raw.xen_version, totalMemoryMiB: num('total_memory'), freeMemoryMiB: num('free_memory'), nrCpus: num('nr_cpus'), raw };
}

/** `xl list`: a header line, then one line per domain (names may hold spaces: fields are read from the right). */
export function parseXlList(text: string): XlDomain[] {
  const out: XlDomain[] = [];
  for (const line of text.split('\n').map((l) => l.trimEnd())) {
    if (!line || /^Name\s+ID\s+Mem/.test(line)) continue;
    const m = /^(.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+([-a-z]{6})\s+([\d.]+)$/.exec(line);
    if (!m) throw new Error(`xl list: cannot read the line ${JSON.stringify(line)}`);
    out.push({ name: m[1]!, id: Number(m[2]), memMiB: Number(m[3]), vcpus: Number(m[4]), state: m[5]!, timeS: Number(m[6]) });
  }
  return out;
}

/** `xl info` once it answers (xenstored and the hypervisor reachable); polls until timeoutMs. */
export async function xlInfo(host: XenHost, timeoutMs = 30_000): Promise<XenInfo> {
  const t0 = Date.now();
  for (;;) {
    try {
      return parseXlInfo(await runXl(host, ['info'], 30_000));
    } catch (e) {
      if (!(e instanceof XlError) || Date.now() - t0 > timeoutMs) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function xlList(host: XenHost): Promise<XlDomain[]> {
  return parseXlList(await runXl(host, ['list']));
}

/** The domain name a config gives (`name = "..."`), checked: it names files in dom0 and on the host. */
export function configDomainName(cfgText: string): string {
  const name = parseXlConfig(cfgText).name;
  if (typeof name !== 'string' || !DOMAIN_NAME.test(name)) throw new Error(`xl config: name = ${JSON.stringify(name)}: expected a domain name ([A-Za-z0-9][A-Za-z0-9_.-]*)`);
  return name;
}

/** Host path of xenconsoled's log of the domain's console (logDir: the host's, see XenHost). */
export function consoleLogPath(host: Pick<XenHost, 'logDir'>, name: string): string {
  return join(host.logDir, 'console', `guest-${name}.log`);
}

/**
 * Writes the config in dom0 (XL_CONFIG_DIR/<name>.cfg) and runs `xl create` on it; returns the
 * new domain's id. A domain of that name not running has its old console log dropped first, so
 * xlConsole shows this boot from its first line.
 */
export async function xlCreate(host: XenHost, cfgText: string, timeoutMs = 180_000): Promise<{ name: string; id: number; config: string }> {
  const name = configDomainName(cfgText);
  const cfg = `${XL_CONFIG_DIR}/${name}.cfg`;
  const x = shq(xl(host));
  const script = [
    'set -e',
    `mkdir -p ${XL_CONFIG_DIR}`,
    `cat >${shq(cfg)}`,
    `${x} domid ${shq(name)} >/dev/null 2>&1 || rm -f ${shq(`${XEN_LOG_DIR}/console/guest-${name}.log`)}`,
    `${x} create ${shq(cfg)}`,
    `${x} domid ${shq(name)}`,
  ].join('\n');
  const r = await host.dom0.agent.exec('sh', ['-c', script], { input: cfgText, timeoutMs });
  if (r.code !== 0) throw new XlError(`xl create ${cfg}`, r.code, (r.stderr + r.stdout).trim());
  const id = Number(r.stdout.trim().split('\n').at(-1));
  if (!Number.isInteger(id)) throw new Error(`xl create ${cfg}: no domain id in ${JSON.stringify(r.stdout.trim())}`);
  return { name, id, config: cfg };
}

/** The domain's console output from its first byte, as `xl create -c` shows it ('' if none yet). */
export function xlConsole(host: Pick<XenHost, 'logDir'>, name: string): string {
  const f = consoleLogPath(host, name);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

async function domainId(host: XenHost, name: string): Promise<number> {
  return Number((await runXl(host, ['domid', name])).trim());
}

/**
 * Waits until no domain has this id any more: a domain that shut down or was destroyed stays in
 * `xl list` as "(null)" while dom0's backends and daemons still hold its pages.
 */
async function waitGone(host: XenHost, id: number, name: string, ms: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const d = (await xlList(host)).find((x) => x.id === id);
    if (!d) return;
    if (Date.now() - t0 > ms) throw new Error(`domain ${name} (id ${id}) still in xl list as ${JSON.stringify(d.name)} (${d.state}) after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** `xl destroy`, then waits until the domain has left `xl list`. */
export async function xlDestroy(host: XenHost, name: string, o: { waitMs?: number } = {}): Promise<void> {
  const id = await domainId(host, name);
  await runXl(host, ['destroy', name]);
  await waitGone(host, id, name, o.waitMs ?? 60_000);
}

/**
 * Asks the domU to shut down (its kernel runs the orderly poweroff); with waitMs, waits until it
 * has left `xl list` (xl shutdown -w, then its last pages released).
 */
export async function xlShutdown(host: XenHost, name: string, o: { waitMs?: number } = {}): Promise<void> {
  if (o.waitMs === undefined) {
    await runXl(host, ['shutdown', name]);
    return;
  }
  const t0 = Date.now();
  const id = await domainId(host, name);
  try {
    await runXl(host, ['shutdown', '-w', name], o.waitMs);
  } catch (e) {
    if (e instanceof AgentTimeoutError) throw new Error(`xl shutdown -w ${name}: domain still there after ${o.waitMs} ms`);
    throw e;
  }
  await waitGone(host, id, name, Math.max(5_000, o.waitMs - (Date.now() - t0)));
}

/** `xl block-attach`: a raw image (a dom0 path) to a running domain as vdev (its /dev/<vdev>). */
export async function xlBlockAttach(host: XenHost, name: string, o: { target: string; vdev: string; readonly?: boolean }): Promise<void> {
  if (!/^xvd[a-z]{1,2}$/.test(o.vdev)) throw new Error(`xl block-attach: vdev ${JSON.stringify(o.vdev)}: expected xvd<letters>`);
  // target= last: everything after it is the path
  await runXl(host, ['block-attach', name, `format=raw,vdev=${o.vdev},access=${o.readonly ? 'ro' : 'rw'},target=${o.target}`]);
}

/** `xl block-detach`: the domain releases the device (its frontend closes), then the backend goes. */
export async function xlBlockDetach(host: XenHost, name: string, vdev: string): Promise<void> {
  await runXl(host, ['block-detach', name, vdev], 120_000);
}

/** `xl mem-set`: the domain's balloon to this many MiB (up to the maxmem it was created with). */
export async function xlMemSet(host: XenHost, name: string, memoryMiB: number): Promise<void> {
  await runXl(host, ['mem-set', name, `${memoryMiB}m`]);
}
