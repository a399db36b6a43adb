// Which accelerator QEMU gets. /dev/kvm existing is not enough (on nested-PVM hosts KVM_CREATE_VM
// works but guests abort or hang), so KVM is used only after a very short probe boot reached
// userspace under it. The verdict is kept for the life of the process.
import { existsSync } from 'node:fs';
import { execa } from 'execa';

export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  cpu: string; // QEMU -cpu model to use with it
  reason: string; // why, for the log: "no /dev/kvm", "KVM probe boot ok in 1.2 s", ...
}

export interface ProbeBoot {
  kernel: string; // a PVH vmlinux or bzImage
  initrd: string; // the kit's initramfs (its /init answers cellctl.probe=1 and powers off)
}

const PROBE_TIMEOUT_MS = 15_000;
const PROBE_LINE = /cellctl-init: \[[\d.]+\] probe ok/; // what /init prints for cellctl.probe=1

export function tcg(reason: string): AccelChoice {
  return { accel: 'tcg', cpu: 'max', reason };
}

/** Boots the probe under KVM; ok only if /init printed its probe line and QEMU exited cleanly. */
export async function probeKvm(boot: ProbeBoot, timeoutMs = PROBE_TIMEOUT_MS): Promise<AccelChoice> {
  const t0 = Date.now();
  const r = await execa('qemu-system-x86_64', [
    '-accel', 'kvm', '-cpu', 'max', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', boot.kernel, '-initrd', boot.initrd, '-append', 'console=ttyS0 panic=-1 quiet cellctl.probe=1',
    '-serial', 'stdio',
  ], { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.exitCode === 0 && PROBE_LINE.test(String(r.stdout))) {
    return { accel: 'kvm', cpu: 'max', reason: `KVM probe boot reached userspace in ${secs} s` };
  }
  const why = r.timedOut ? `hung (no poweroff within ${timeoutMs / 1000} s)` : String(r.stderr).trim().split('\n').at(-1) || `exit ${r.exitCode}`;
  return tcg(`/dev/kvm present but the KVM probe boot failed: ${why}`);
}

let verdict: Promise<AccelChoice> | undefined;

/**
 * The accelerator for this process's guests. CELLCTL_VM_ACCEL=tcg|kvm overrides the probe
 * (kvm: trusted without probing).
 */
export function chooseAccel(boot: ProbeBoot): Promise<AccelChoice> {
  const forced = process.env.CELLCTL_VM_ACCEL;
  if (forced === 'tcg') return Promise.resolve(tcg('CELLCTL_VM_ACCEL=tcg'));
  if (forced === 'kvm') return Promise.resolve({ accel: 'kvm', cpu: 'max', reason: 'CELLCTL_VM_ACCEL=kvm' });
  verdict ??= existsSync('/dev/kvm') ? probeKvm(boot) : Promise.resolve(tcg('no /dev/kvm'));
  return verdict;
}
