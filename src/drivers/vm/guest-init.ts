// The guest's /init (busybox sh, generated) and the kernel command line parameters it reads.
// Boot: modules -> host / over 9p, or a root image disk (read-only) -> writable root (overlayfs, tmpfs upper; or tmpfs
// copies of the dirs services write) -> proc/sys/dev/run/tmp -> hostname, NICs -> virtio port
// links -> switch_root -> stage2 (PID 1) keeps the agent running. Every step prints a
// "cellctl-init:" line on the serial console, between the kernel's own lines.
import { AGENT_PORT, GUEST_BUSYBOX, GUEST_RUN_DIR, fill } from './guest-agent.js';

export const HOSTFS_TAG = 'root'; // the 9p mount_tag of the host's /

/** One guest NIC, found in the guest by its MAC. */
export interface GuestNic {
  mac: string; // "52:54:00:12:34:56"
  ip?: string; // "10.0.0.2" (IPv4 or IPv6); none: link up only
  prefix?: number; // 24
}

export interface GuestBootConfig {
  hostname: string;
  nics?: GuestNic[];
  gateway?: string;
  /**
   * writable root: overlay (default; falls back to tmpfs if refused), or tmpfs dirs, both over the
   * host root; or diskless: a tmpfs with the initramfs's busybox only (no 9p: QEMU can migrate it)
   */
  root?: 'overlay' | 'tmpfs' | 'diskless';
  probe?: boolean; // print "probe ok" and power off as soon as userspace runs (accelerator probe)
  // 9p caching of the host root: none (default: every read goes to the host) or loose (the
  // guest's page cache keeps what it read: right for a root nobody changes under a running guest,
  // and much faster where each 9p round trip is slow, as in a nested Xen dom0)
  hostCache?: 'none' | 'loose';
  // the root's read-only lower layer from this virtio disk (an ext4 root image, "vdb") instead of
  // the host root over 9p: nothing over 9p, so QEMU can migrate the guest
  rootDisk?: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IP = /^[0-9a-fA-F.:]+$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/;

/**
 * The "cellctl.*" kernel parameters (a dotted name is not passed to init as an argument or
 * environment, it only shows in /proc/cmdline, which is where /init reads it):
 *   cellctl.hostname=NAME   cellctl.net=MAC[,IP/PREFIX] (one per NIC)   cellctl.gw=IP
 *   cellctl.root=overlay|tmpfs|diskless   cellctl.9pcache=loose   cellctl.probe=1
 */
export function guestBootParams(c: GuestBootConfig): string[] {
  if (!HOSTNAME.test(c.hostname)) throw new Error(`bad guest hostname ${JSON.stringify(c.hostname)}`);
  const out = [`cellctl.hostname=${c.hostname}`];
  for (const n of c.nics ?? []) {
    const mac = n.mac.toLowerCase();
    if (!MAC.test(mac)) throw new Error(`bad MAC address ${JSON.stringify(n.mac)}`);
    if (n.ip === undefined) {
      out.push(`cellctl.net=${mac}`);
      continue;
    }
    const prefix = n.prefix ?? (n.ip.includes(':') ? 64 : 24);
    if (!IP.test(n.ip) || !Number.isInteger(prefix) || prefix < 0 || prefix > 128) throw new Error(`bad address ${n.ip}/${prefix} for ${mac}`);
    out.push(`cellctl.net=${mac},${n.ip}/${prefix}`);
  }
  if (c.gateway !== undefined) {
    if (!IP.test(c.gateway)) throw new Error(`bad gateway ${JSON.stringify(c.gateway)}`);
    out.push(`cellctl.gw=${c.gateway}`);
  }
  if (c.root) out.push(`cellctl.root=${c.root}`);
  if (c.hostCache && c.hostCache !== 'none') out.push(`cellctl.9pcache=${c.hostCache}`);
  if (c.rootDisk !== undefined) {
    if (!/^vd[a-z]{1,3}$/.test(c.rootDisk)) throw new Error(`bad root disk ${JSON.stringify(c.rootDisk)}`);
    out.push(`cellctl.rootdisk=${c.rootDisk}`);
  }
  if (c.probe) out.push('cellctl.probe=1');
  return out;
}

const INIT = `#!/bin/sh
# cellctl guest init (generated; see src/drivers/vm/guest-init.ts)
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { read -r up _ </proc/uptime; echo "cellctl-init: [$up] $*"; }
fail() { say "FAILED: $*"; sync; poweroff -f; }
say "userspace up, kernel $(uname -r)"

hostname=guest; root=overlay; gw=; nets=; cache=; rootdisk=
for w in $(cat /proc/cmdline); do
  case $w in
    cellctl.hostname=*) hostname=\${w#*=} ;;
    cellctl.root=*) root=\${w#*=} ;;
    cellctl.gw=*) gw=\${w#*=} ;;
    cellctl.9pcache=loose) cache=,cache=loose ;;
    cellctl.rootdisk=*) rootdisk=\${w#*=} ;;
    cellctl.net=*) nets="$nets \${w#*=}" ;;
    cellctl.probe=1) say "probe ok"; poweroff -f ;;
  esac
done

n=0
while read -r m args; do
  insmod /modules/$m.ko $args || say "insmod $m failed"
  n=$((n + 1))
done </modules/order
say "modules loaded ($n)"

mkdir -p /host /rw /newroot
if [ "$root" = diskless ]; then
  mount -t tmpfs -o mode=0755 tmpfs /newroot && cp -a /bin /newroot/ &&
    mkdir -p /newroot/etc /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp /newroot/root /newroot/var ||
    fail "cannot make the diskless root"
  say "root: tmpfs with the initramfs's busybox (diskless: no host root)"
elif [ -n "$rootdisk" ]; then
  mount -t ext4 -o ro,noload /dev/$rootdisk /host || fail "cannot mount the root image /dev/$rootdisk"
  say "root image /dev/$rootdisk mounted (read-only)"
else
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144$cache @@TAG@@ /host || fail "cannot mount the host root (9p tag @@TAG@@)"
  say "host root mounted over 9p (read-only$cache)"
fi

if [ "$root" = overlay ]; then
  mount -t tmpfs -o mode=0755 tmpfs /rw && mkdir -p /rw/upper /rw/work &&
    mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot &&
    say "root: overlayfs (tmpfs upper over the host root)" ||
    { say "overlayfs refused; using tmpfs directories instead"; root=tmpfs; }
fi
if [ "$root" != overlay ] && [ "$root" != diskless ]; then
  mount --bind /host /newroot || fail "cannot bind the host root"
  # /etc is copied (services read the host's configuration); the others start empty but for
  # their first two levels of directories and /var's symlinks (/var/run -> /run ...)
  mount -t tmpfs -o mode=0755 tmpfs /newroot/etc && cp -a /host/etc/. /newroot/etc/ || fail "cannot make /etc writable"
  for d in var root home srv mnt; do
    [ -d /newroot/$d ] || continue
    mount -t tmpfs -o mode=0755 tmpfs /newroot/$d || fail "cannot mount a tmpfs on /$d"
    (cd /host/$d && find . -maxdepth 2 -type d | while read -r s; do mkdir -p "/newroot/$d/$s"; done
     find . -maxdepth 1 -type l | while read -r s; do cp -a "$s" "/newroot/$d/$s"; done)
  done
  [ -d /newroot/afs ] && mount -t tmpfs -o mode=0755 tmpfs /newroot/afs
  chmod 0700 /newroot/root
  say "root: host root read-only, tmpfs on /etc (copied) /var /root /home /srv /mnt"
fi

R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tmpfs -o mode=0755 tmpfs $R/run
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mkdir -p $R/run/lock @@RUNROOT@@
[ "$root" = overlay ] && mkdir -p $R/afs
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
printf '%s\\t%s\\n' "\${first:-127.0.1.1}" "$hostname" >>$R/etc/hosts
say "hostname $hostname"

# no udev: name the virtio ports the way its rule does (/dev/virtio-ports/<name> -> ../vportNpM)
mkdir -p /dev/virtio-ports
i=0
while :; do
  for p in /sys/class/virtio-ports/*; do
    [ -r "$p/name" ] && nm=$(cat "$p/name") && [ -n "$nm" ] && ln -sf "../\${p##*/}" "/dev/virtio-ports/$nm"
  done
  [ -e /dev/virtio-ports/@@PORT@@ ] && break
  i=$((i + 1)); [ $i -ge 100 ] && { say "agent port @@PORT@@ not found"; break; }
  sleep 0.05
done
say "virtio ports: $(ls /dev/virtio-ports | tr '\\n' ' ')"

cp /bin/busybox $R@@BB@@ && cp /cellctl/agent.sh /cellctl/stage2.sh $R@@RUN@@/ || fail "cannot install the agent"
say "switching root"
exec switch_root $R @@BB@@ sh @@RUN@@/stage2.sh
`;

const STAGE2 = `# cellctl stage 2 (generated): PID 1 in the guest's root; keeps the agent running
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux LANG=C.UTF-8
cd /
read -r up _ </proc/uptime
echo "cellctl-init: [$up] root switched; starting the agent"
while :; do
  @@BB@@ sh @@RUN@@/agent.sh
  echo "cellctl-init: agent exited ($?); restarting it"
  @@BB@@ sleep 1
done
`;

export function initScript(): string {
  return fill(INIT, { TAG: HOSTFS_TAG, BB: GUEST_BUSYBOX, RUN: GUEST_RUN_DIR, RUNROOT: `$R${GUEST_RUN_DIR}`, PORT: AGENT_PORT });
}

export function stage2Script(): string {
  return fill(STAGE2, { BB: GUEST_BUSYBOX, RUN: GUEST_RUN_DIR });
}
