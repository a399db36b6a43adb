// The host's way to a domU's agent. A PV domU has no virtio, so the path is:
//   host GuestAgent -> unix socket -> QEMU virtio-serial port (hot-plugged into dom0 for this
//   domU) -> relay in dom0 (sh, below) -> TCP over IPv6 link-local on dom0's private control
//   bridge -> the domU's control vif (in a namespace of its own) -> the kit's agent (domu-init.ts).
// The host side is the unchanged GuestAgent: code above does not care whether a guest is a
// QEMU VM or a domU. Each domU has its own port and relay, so domUs are driven concurrently.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AgentTimeoutError, GuestAgent } from '../vm/agent.js';
import { END_TAG, GUEST_BUSYBOX, GUEST_RUN_DIR, REPLY_TAG, REQUEST_TAG, UNDELIVERED_FLAG, fill } from '../vm/guest-agent.js';
import { shq } from '../vm/guest-scripts.js';
import { qmpCommand } from '../vm/qmp.js';
import { CONTROL_BRIDGE } from './dom0-setup.js';
import { DOMU_AGENT_PORT } from './domu-init.js';
import type { XenHost } from './host.js';
import { xlConsole, xlList } from './xl.js';

const SUN_PATH_MAX = 107;

/** The domU's control vif MAC: fixed by its name, locally administered (never a cell's 00:16:3e MAC). */
export function controlMac(domain: string): string {
  const h = createHash('sha256').update(`cellctl-control:${domain}`).digest();
  return ['0a', 'ce', '11', ...[h[0]!, h[1]!, h[2]!].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** The IPv6 link-local address a NIC with this MAC takes (modified EUI-64, RFC 4291 appendix A). */
export function linkLocal(mac: string): string {
  const b = mac.toLowerCase().split(':').map((x) => Number.parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad MAC address ${JSON.stringify(mac)}`);
  const e = [b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  const groups = [0xfe80, 0, 0, 0, ...[0, 2, 4, 6].map((i) => (e[i]! << 8) | e[i + 1]!)];
  return compressIpv6(groups);
}

/** RFC 5952 text: the longest run of two or more zero groups becomes "::". */
function compressIpv6(groups: number[]): string {
  let best = { at: -1, len: 1 };
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** QEMU ids and the guest-visible port name of a domU's relay port. */
function relayIds(domain: string) {
  const h = createHash('sha256').update(domain).digest('hex').slice(0, 12);
  return { chardev: `domu-${h}`, device: `domu-port-${h}`, port: `org.cellctl.domu.${domain}` };
}

/** Host path of the socket for the domU's agent: next to dom0's own agent socket. */
export function domuAgentSocket(host: XenHost, domain: string): string {
  const dir = dirname(host.dom0.agentSocket);
  const plain = join(dir, `domu-${domain}.sock`);
  return plain.length <= SUN_PATH_MAX ? plain : join(dir, `${relayIds(domain).chardev}.sock`);
}

// One request at a time, as the host sends them: the request is read whole (so a request cut
// short is dropped, never half-forwarded), sent over a new TCP connection, and the agent's
// reply streamed back as it comes.
const RELAY = `# cellctl domU relay (generated; see src/drivers/xen/domu-agent.ts)
BB=@@BB@@
name=$1 addr=$2 W=@@RUN@@/relay-$3
log() { read -r up _ </proc/uptime; echo "[$up] $*"; }
mkdir -p $W
rm -f $W/.idle
mkfifo $W/.idle
exec 4<>$W/.idle
nap() { read -r -t $1 _ <&4; }
dev=
while :; do
  for p in /sys/class/virtio-ports/*; do [ "$($BB cat $p/name 2>/dev/null)" = "$name" ] && dev=/dev/\${p##*/}; done
  [ -n "$dev" ] && [ -e "$dev" ] && break
  nap 0.1
done
exec 3<>$dev
log "relaying $dev ($name) to [$addr]:@@PORT@@"
while :; do
  if ! read -r tag id op n1 n2 tmo <&3; then nap 0.2; continue; fi
  [ "$tag" = @@REQUEST@@ ] || continue
  case "$id$n1$n2$tmo" in ''|*[!0-9]*) log "malformed request header ignored"; continue ;; esac
  n=$((n1 + n2))
  if [ $n = 0 ]; then : >$W/body; else $BB dd bs=65536 count=$n iflag=count_bytes,fullblock of=$W/body <&3 2>/dev/null; fi
  end=; eid=
  read -r end eid <&3
  if [ "$end" != @@END@@ ] || [ "$eid" != "$id" ]; then log "request $id incomplete; dropped"; continue; fi
  secs=$((tmo / 1000 + 30)); [ "$op" = ping ] && secs=20
  { echo "$tag $id $op $n1 $n2 $tmo"; $BB cat $W/body; echo "$end $id"; } |
    $BB timeout $secs $BB nc -w 5 "$addr" @@PORT@@ >&3 2>$W/err
  rc=$?
  if [ $rc != 0 ]; then
    why=$($BB cat $W/err)
    log "request $id ($op): [$addr]:@@PORT@@: \${why:-exit $rc}"
    # not connected at all: say so at once (the host retries, or reports it), rather than time out
    case $why in *"can't connect"*|*"timed out"*)
      printf '@@REPLY@@ %s 255 @@UNDELIVERED@@  %s\n' $id "$(echo "domU agent at [$addr]:@@PORT@@: $why" | $BB base64 -w 0)" >&3 ;;
    esac
  fi
  rm -f $W/body $W/err
done
`;

export function relayScript(): string {
  return fill(RELAY, { BB: GUEST_BUSYBOX, RUN: GUEST_RUN_DIR, PORT: String(DOMU_AGENT_PORT), REQUEST: REQUEST_TAG, END: END_TAG, REPLY: REPLY_TAG, UNDELIVERED: UNDELIVERED_FLAG });
}

async function qmp(host: XenHost, execute: string, args: Record<string, unknown>, okIf?: RegExp): Promise<void> {
  const r = await qmpCommand(host.dom0.qmpSocket, execute, args);
  if (r.error && !okIf?.test(r.error.desc)) throw new Error(`Xen host ${host.spec.name}: QMP ${execute}: ${r.error.desc}`);
}

const relayPidFile = (domain: string) => `${GUEST_RUN_DIR}/relay-${domain}.pid`;

/**
 * The agent of domU `domain`: hot-plugs its port into dom0 (once), starts its relay there
 * (once), and returns the client. The domU's agent answers once it has booted: waitDomuReady.
 */
export async function openDomuAgent(host: XenHost, domain: string): Promise<GuestAgent> {
  const ids = relayIds(domain);
  const socket = domuAgentSocket(host, domain);
  if (!existsSync(socket)) {
    await qmp(host, 'chardev-add', { id: ids.chardev, backend: { type: 'socket', data: { addr: { type: 'unix', data: { path: socket } }, server: true, wait: false } } }, /duplicate|already/i);
    await qmp(host, 'device_add', { driver: 'virtserialport', id: ids.device, chardev: ids.chardev, name: ids.port }, /duplicate|already/i);
  }
  const a = host.dom0.agent;
  const pidFile = relayPidFile(domain);
  const running = await a.exec(GUEST_BUSYBOX, ['sh', '-c', `[ -s ${shq(pidFile)} ] && kill -0 "$(cat ${shq(pidFile)})"`]);
  if (running.code !== 0) {
    const script = `${GUEST_RUN_DIR}/relay.sh`;
    await a.writeFile(script, relayScript(), 0o755);
    const addr = `${linkLocal(controlMac(domain))}%${CONTROL_BRIDGE}`;
    // a session of its own (spawn), restarting the relay should it die: closeDomuAgent kills the group
    const args = [ids.port, addr, domain].map(shq).join(' ');
    const loop = `echo $$ >${shq(pidFile)}; while :; do ${GUEST_BUSYBOX} sh ${script} ${args}; echo "relay exited ($?); restarting it"; ${GUEST_BUSYBOX} sleep 1; done`;
    await a.spawn(GUEST_BUSYBOX, ['sh', '-c', loop], { logFile: `/var/log/xen/cellctl-relay-${domain}.log` });
  }
  return new GuestAgent(socket, `domU ${domain}`);
}

/**
 * Waits until the domU's agent answers through its relay; returns the milliseconds waited.
 * Fails early, with the domU's last console lines, once the domain is gone (a panic, init failing).
 */
export async function waitDomuReady(host: XenHost, domain: string, agent: GuestAgent, timeoutMs = 120_000): Promise<number> {
  const t0 = Date.now();
  let checked = t0;
  const consoleEnd = () => xlConsole(host, domain).trimEnd().split('\n').slice(-12).join('\n');
  for (;;) {
    const left = timeoutMs - (Date.now() - t0);
    if (left <= 0) throw new AgentTimeoutError(`${agent.label}: agent not ready after ${timeoutMs} ms; console ends:\n${consoleEnd()}`);
    try {
      // the relay says at once when the domU's agent is not listening yet ("undelivered"); a
      // ping that gets no word at all is a busy machine: give it time
      await agent.ping(Math.min(30_000, left));
      return Date.now() - t0;
    } catch (e) {
      if (Date.now() - checked > 10_000) {
        checked = Date.now();
        if (!(await xlList(host)).some((d) => d.name === domain)) throw new Error(`${agent.label}: the domain is gone before its agent answered; console ends:\n${consoleEnd()}`);
      }
      if (!(e instanceof AgentTimeoutError)) await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Stops the domU's relay and unplugs its port (after xl destroy/shutdown, or before). */
export async function closeDomuAgent(host: XenHost, domain: string): Promise<void> {
  const ids = relayIds(domain);
  const pidFile = relayPidFile(domain);
  await host.dom0.agent.exec(GUEST_BUSYBOX, ['sh', '-c', `[ -s ${shq(pidFile)} ] && kill -TERM -"$(cat ${shq(pidFile)})"; rm -rf ${shq(pidFile)} ${shq(`${GUEST_RUN_DIR}/relay-${domain}`)}; :`]);
  await qmp(host, 'device_del', { id: ids.device }, /not found/i);
  // the port goes away asynchronously; the chardev can be removed once nothing uses it
  for (let i = 0; ; i++) {
    const r = await qmpCommand(host.dom0.qmpSocket, 'chardev-remove', { id: ids.chardev });
    if (!r.error || /not found/i.test(r.error.desc)) break;
    if (i >= 50) throw new Error(`Xen host ${host.spec.name}: QMP chardev-remove ${ids.chardev}: ${r.error.desc}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
