// A PV domU's /init (busybox sh, generated), its stage 2, and the agent's network side.
// Boot: xen-netfront/xen-blkfront/ext4 -> root from the config's `root=` (the disk xl attached;
// hdX/sdX names read as xvdX, which is what a PV kernel calls them), mounted as asked and then
// read-write, as a distribution's init would; no root= keeps the initramfs as root -> proc, sys,
// dev, run, tmp -> hostname, NICs by MAC -> switch_root -> stage 2 (PID 1).
// The agent: the control NIC (a vif on dom0's private bridge) is moved into a network namespace
// of its own where `nc -ll` listens; each connection runs the kit's agent for one request,
// back in the main namespace (nsenter -t 1 -n). So the agent is reachable from dom0 only,
// and whatever the cell does to the guest's own network cannot cut it off.
// Every step prints a "cellctl-init:" line on the console (xenconsoled logs it).
import { GUEST_BUSYBOX, GUEST_RUN_DIR, agentScript, fill, type AgentChannel } from '../vm/guest-agent.js';
import type { InitScripts } from '../vm/initramfs.js';

/** TCP port the domU agent listens on, in its control namespace only. */
export const DOMU_AGENT_PORT = 7000;

/** What /init loads: the PV NIC and disk drivers, ext4 (root disks), overlay (read-only roots). */
export const DOMU_MODULES = ['xen-netfront', 'xen-blkfront', 'ext4', 'overlay'];

/** The kit's agent, one request per connection, the socket on stdin (busybox nc -e). */
export const SOCKET_CHANNEL: AgentChannel = {
  open: 'exec 3<&0 </dev/null >/dev/null',
  onEof: 'exit 0',
  oneShot: true,
};

const INIT = `#!/bin/sh
# cellctl domU init (generated; see src/drivers/xen/domu-init.ts)
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { read -r up _ </proc/uptime; echo "cellctl-init: [$up] $*"; }
fail() { say "FAILED: $*"; sync; poweroff -f; }
say "domU userspace up, kernel $(uname -r), hypervisor $(cat /sys/hypervisor/type 2>/dev/null || echo none)"

hostname=domu; root=; mode=; ctl=; gw=; nets=
for w in $(cat /proc/cmdline); do
  case $w in
    cellctl.hostname=*) hostname=\${w#*=} ;;
    cellctl.ctl=*) ctl=\${w#*=} ;;
    cellctl.gw=*) gw=\${w#*=} ;;
    cellctl.net=*) nets="$nets \${w#*=}" ;;
    root=*) root=\${w#root=} ;;
    ro|rw) mode=$w ;;
  esac
done

n=0
while read -r m args; do
  insmod /modules/$m.ko $args || say "insmod $m failed"
  n=$((n + 1))
done </modules/order
say "modules loaded ($n)"

R=/newroot
mkdir -p $R
if [ -n "$root" ]; then
  case $root in
    /dev/hd*|/dev/sd*) want=/dev/xvd\${root#/dev/??} ;;
    *) want=$root ;;
  esac
  # blkfront drops the partition of an IDE/SCSI vdev (0x301 = hda1 is the whole disk xvda):
  # a disk without that partition (seen on two looks, after its partition scan) is the root
  whole=$want
  while :; do case $whole in *[0-9]) whole=\${whole%?} ;; *) break ;; esac; done
  i=0; dev=; seen=0
  while [ -z "$dev" ]; do
    if [ -b "$want" ]; then dev=$want
    elif [ "$whole" != "$want" ] && [ -b "$whole" ] && [ ! -e /sys/block/\${whole#/dev/}/\${want#/dev/} ] && [ $((seen += 1)) -gt 2 ]; then dev=$whole
    else
      i=$((i + 1)); [ $i -ge 200 ] && fail "root device $want (root=$root) did not appear; disks: $(ls /sys/block | tr '\\n' ' ')"
      sleep 0.05
    fi
  done
  mount -o ro "$dev" $R || fail "cannot mount $dev"
  say "root $dev mounted read-only (root=$root \${mode:-ro})"
  if mount -o remount,rw $R 2>/dev/null; then
    say "root remounted read-write"
  else
    # a read-only disk: the guest writes to a tmpfs over it
    mkdir -p /lower /rw && mount --move $R /lower && mount -t tmpfs -o mode=0755 tmpfs /rw &&
      mkdir -p /rw/upper /rw/work &&
      mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay $R ||
      fail "cannot put an overlay on the read-only root"
    say "root read-only: overlayfs with a tmpfs upper"
  fi
else
  mount -t tmpfs -o mode=0755 tmpfs $R && cp -a /bin /etc /cellctl $R/ 2>/dev/null
  mkdir -p $R/etc
  say "no root= given: root is a tmpfs with the initramfs's busybox"
fi

mkdir -p $R/proc $R/sys $R/dev $R/run $R/tmp $R/etc $R/root
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tmpfs -o mode=0755 tmpfs $R/run
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mkdir -p $R/run/lock $R@@RUN@@
say "proc, sys, dev, devpts, run, tmp mounted"

hostname "$hostname"
echo "$hostname" >$R/etc/hostname
ip link set lo up
first=
for spec in $nets; do
  mac=\${spec%%,*}; addr=; [ "$spec" != "$mac" ] && addr=\${spec#*,}
  dev=
  for i in /sys/class/net/*; do [ "$(cat $i/address)" = "$mac" ] && dev=\${i##*/}; done
  [ -n "$dev" ] || { say "no NIC with MAC $mac"; continue; }
  ip link set "$dev" up
  if [ -n "$addr" ]; then
    ip addr add "$addr" dev "$dev" || say "cannot set $addr on $dev"
    [ -n "$first" ] || first=\${addr%/*}
  fi
  say "net: $dev $mac \${addr:-(no address)}"
done
[ -n "$gw" ] && { ip route add default via "$gw" || say "cannot add default route via $gw"; }
grep -q "[[:space:]]$hostname\\$" $R/etc/hosts 2>/dev/null || printf '%s\\t%s\\n' "\${first:-127.0.1.1}" "$hostname" >>$R/etc/hosts
say "hostname $hostname"

cp /bin/busybox $R@@BB@@ && cp /cellctl/*.sh $R@@RUN@@/ || fail "cannot install the agent"
# xl shutdown: the kernel runs this (as root, no tty) for an orderly poweroff
echo "@@BB@@ sh @@RUN@@/shutdown.sh" >/proc/sys/kernel/poweroff_cmd
say "switching root"
exec switch_root $R @@BB@@ sh @@RUN@@/stage2.sh "$ctl"
`;

const STAGE2 = `# cellctl domU stage 2 (generated): PID 1; keeps the agent's listener running
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux LANG=C.UTF-8
cd /
BB=@@BB@@
ctl=$1
say() { read -r up _ </proc/uptime; echo "cellctl-init: [$up] $*"; }
say "root switched; agent on the control NIC \${ctl:-(none)}"
[ -n "$ctl" ] || { say "no cellctl.ctl=MAC: no agent"; exec $BB sleep 2147483647; }
while :; do
  $BB unshare -n $BB sh @@RUN@@/listen.sh "$ctl" &
  pid=$!
  dev=
  for i in /sys/class/net/*; do [ "$($BB cat $i/address)" = "$ctl" ] && dev=\${i##*/}; done
  if [ -z "$dev" ]; then say "no NIC with MAC $ctl"; elif ! $BB ip link set "$dev" netns $pid; then say "cannot move $dev into the agent's namespace"; fi
  wait $pid
  say "agent listener exited ($?); restarting it"
  $BB sleep 1
done
`;

// In the agent's own network namespace: the control NIC (moved in by stage 2), link-local only.
const LISTEN = `# cellctl domU agent listener (generated)
BB=@@BB@@
say() { read -r up _ </proc/uptime; echo "cellctl-init: [$up] $*" >/dev/console; }
$BB ip link set lo up
i=0; dev=
while [ -z "$dev" ]; do
  dev=$($BB ip -o link | while read -r _ d rest; do case "$rest" in *"link/ether $1 "*) echo "\${d%:}" ;; esac; done)
  [ -n "$dev" ] && break
  i=$((i + 1)); [ $i -ge 100 ] && { say "control NIC $1 not in the agent's namespace"; exit 1; }
  $BB sleep 0.05
done
# usable at once: no duplicate address detection (the bridge holds only dom0 and this host's domUs)
echo 0 >/proc/sys/net/ipv6/conf/$dev/accept_dad
$BB ip link set "$dev" up
say "agent listening on [link-local]:@@PORT@@ of $dev ($1)"
exec $BB nc -ll -p @@PORT@@ -e $BB nsenter -t 1 -n $BB sh @@RUN@@/agent.sh
`;

const SHUTDOWN = `# cellctl domU orderly poweroff (generated): what xl shutdown ends in
read -r up _ </proc/uptime
echo "cellctl-init: [$up] shutdown requested; syncing and powering off" >/dev/console
@@BB@@ sync
@@BB@@ poweroff -f
`;

export function domuScripts(): InitScripts {
  const v = { BB: GUEST_BUSYBOX, RUN: GUEST_RUN_DIR, PORT: String(DOMU_AGENT_PORT) };
  return {
    init: fill(INIT, v),
    stage2: fill(STAGE2, v),
    agent: agentScript(SOCKET_CHANNEL),
    extra: { 'listen.sh': fill(LISTEN, v), 'shutdown.sh': fill(SHUTDOWN, v) },
  };
}
