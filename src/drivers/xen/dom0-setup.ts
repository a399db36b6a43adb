// What turns the kit's booted dom0 (host root over 9p, agent running) into a Xen toolstack host:
// the xen kernel modules, xenfs, the host directories shared into dom0, xenstored, xen-init-dom0,
// xenconsoled (logging every guest console from its first byte), the bridges, the uplinks.
// One sh script, run through the dom0 agent; a second run finds the daemons up and skips them.
import { fill } from '../vm/guest-agent.js';
import { shq } from '../vm/guest-scripts.js';

/** dom0's /var/log/xen: xl's logs, the hotplug log, console/guest-<name>.log (xenconsoled). */
export const XEN_LOG_DIR = '/var/log/xen';
/** The dom0-only bridge the domU agents are reached on (see domu-agent.ts). */
export const CONTROL_BRIDGE = 'cellctl0';
// locally administered, fixed: the bridge's link-local address is then fe80::ff:fe00:1
export const CONTROL_BRIDGE_MAC = '02:00:00:00:00:01';

/** Kernel modules of a Xen dom0 with block and network backends, plus bridging and loop devices. */
export const DOM0_MODULES = ['xenfs', 'xen-evtchn', 'xen-privcmd', 'xen-gntdev', 'xen-gntalloc', 'xen-blkback', 'xen-netback', 'bridge', 'loop'];

export interface Dom0Mount {
  tag: string; // 9p mount_tag of a QEMU -virtfs share
  path: string; // where dom0 mounts it
  // image files: cache=loose (dom0's page cache; a loop device over uncached 9p reads 4 KiB per
  // round trip: 0.6 MB/s measured, 18 MB/s cached); logs the host reads live: none
  cache?: 'loose';
}

export interface UplinkPort {
  mac: string; // dom0's NIC (a QEMU virtio-net on a tap in the host's netns)
  bridge: string; // the dom0 bridge it joins
}

export interface Dom0Setup {
  toolsDir: string; // /usr/lib/xen-4.17/bin
  mounts: Dom0Mount[];
  bridges: string[];
  uplinks: UplinkPort[];
  hotplug?: Record<string, string>; // /etc/xen/scripts/<name> -> text, installed in dom0 (hotplug.ts)
}

const NAME = /^[A-Za-z0-9][\w.-]{0,14}$/; // a Linux interface name
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

// Run by the kit's static busybox: its applets (mount, ip, grep...) run without an exec of a
// dynamically linked program over 9p, which costs about a second each in a PV dom0 under TCG.
const SCRIPT = `# cellctl dom0 setup (generated; see src/drivers/xen/dom0-setup.ts)
set -u
XB=@@TOOLS@@
say() { read -r up _ </proc/uptime; echo "cellctl-dom0: [$up] $*" >/dev/console; echo "$*"; }
fail() { say "FAILED: $*"; exit 1; }
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# /init loaded them (prepareDom0Boot); modprobe only what is missing
need=
for m in @@MODULES@@; do [ -d /sys/module/\${m//-/_} ] || need="$need $m"; done
[ -z "$need" ] || /sbin/modprobe -a $need || fail "modprobe$need"
grep -q ' /proc/xen ' /proc/mounts || mount -t xenfs xenfs /proc/xen || fail "cannot mount xenfs"
grep -q control_d /proc/xen/capabilities 2>/dev/null || fail "not running as Xen's dom0 (/proc/xen/capabilities)"
say "xen modules loaded, xenfs mounted"

# mount_share TAG PATH [OPTIONS]
mount_share() {
  grep -q " $2 9p " /proc/mounts && return 0
  mkdir -p "$2" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144\${3:+,$3} "$1" "$2" || fail "cannot mount 9p share $1 on $2"
  say "host directory (9p $1) on $2 \${3:-}"
}
@@MOUNTS@@
@@HOTPLUG@@
# /run/lock: without it xl console fails and a domU created with -c stays paused
mkdir -p /run/lock /run/xen /var/lib/xen /var/lib/xenstored @@LOG@@/console

if ! running /run/xen/xenstored.pid; then
  $XB/xenstored --pid-file=/run/xen/xenstored.pid || fail "xenstored exited $?"
  i=0
  while ! running /run/xen/xenstored.pid; do i=$((i + 1)); [ $i -gt 200 ] && fail "xenstored did not start"; sleep 0.05; done
  $XB/xen-init-dom0 || fail "xen-init-dom0 exited $?"
  say "xenstored up, dom0 registered"
fi
if ! running /run/xen/xenconsoled.pid; then
  $XB/xenconsoled --pid-file=/run/xen/xenconsoled.pid --log=guest --log-dir=@@LOG@@/console || fail "xenconsoled exited $?"
  say "xenconsoled up (guest consoles in @@LOG@@/console)"
fi

bridge() {
  [ -d /sys/class/net/$1/bridge ] && return 0
  ip link add "$1" \${2:+address $2} type bridge || fail "cannot add bridge $1"
  # a domU's link-local address is usable at once (no duplicate address detection wait)
  echo 0 >/proc/sys/net/ipv6/conf/$1/accept_dad
  ip link set "$1" up
  say "bridge $1"
}
bridge @@CTL@@ @@CTL_MAC@@
@@BRIDGES@@
uplink() {
  for i in /sys/class/net/*; do
    [ "$(cat $i/address)" = "$1" ] || continue
    ip link set "\${i##*/}" master "$2" && ip link set "\${i##*/}" up && say "uplink \${i##*/} ($1) on $2" && return 0
  done
  fail "no NIC with MAC $1 for the uplink on $2"
}
@@UPLINKS@@
say "dom0 ready"
`;

/** sh that writes /etc/xen/scripts/<name> in dom0 (its overlay: the host's file is untouched). */
function installScript(name: string, text: string): string {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`bad hotplug script name ${JSON.stringify(name)}`);
  if (text.split('\n').includes('CELLCTL_SCRIPT_END')) throw new Error(`hotplug script ${name} contains the here-document end marker`);
  const f = `/etc/xen/scripts/${name}`;
  return `cat >${f} <<'CELLCTL_SCRIPT_END' && chmod 755 ${f} || fail "cannot install ${f}"\n${text.trimEnd()}\nCELLCTL_SCRIPT_END\nsay "hotplug script ${f}: cellctl's"`;
}

/** The setup script for dom0 (pure: validates names, quotes every value). */
export function dom0SetupScript(s: Dom0Setup): string {
  for (const b of [...s.bridges, ...s.uplinks.map((u) => u.bridge)]) {
    if (!NAME.test(b) || b === CONTROL_BRIDGE) throw new Error(`bad bridge name ${JSON.stringify(b)}`);
  }
  for (const u of s.uplinks) {
    if (!MAC.test(u.mac.toLowerCase())) throw new Error(`bad uplink MAC ${JSON.stringify(u.mac)}`);
    if (!s.bridges.includes(u.bridge)) throw new Error(`uplink ${u.mac}: bridge ${u.bridge} is not one of the host's bridges (${s.bridges.join(', ') || 'none'})`);
  }
  return fill(SCRIPT, {
    TOOLS: shq(s.toolsDir),
    MODULES: DOM0_MODULES.join(' '),
    LOG: XEN_LOG_DIR,
    MOUNTS: s.mounts.map((m) => `mount_share ${shq(m.tag)} ${shq(m.path)}${m.cache ? ` cache=${m.cache}` : ''}`).join('\n'),
    HOTPLUG: Object.entries(s.hotplug ?? {}).map(([name, text]) => installScript(name, text)).join('\n'),
    CTL: CONTROL_BRIDGE,
    CTL_MAC: CONTROL_BRIDGE_MAC,
    BRIDGES: s.bridges.map((b) => `bridge ${b}`).join('\n'),
    UPLINKS: s.uplinks.map((u) => `uplink ${u.mac.toLowerCase()} ${u.bridge}`).join('\n'),
  });
}
