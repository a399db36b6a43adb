// Accelerator choice: KVM only after a probe boot succeeded under it; TCG otherwise, saying why.
import { existsSync } from 'node:fs';
import { execaSync } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseAccel, probeKvm } from '../../../src/drivers/vm/accel.js';
import { prepareBootFiles } from '../../../src/drivers/vm/boot-files.js';

function haveQemu(): boolean {
  try {
    execaSync('qemu-system-x86_64', ['--version']);
    return true;
  } catch {
    return false;
  }
}
const QEMU = haveQemu();
const KVM = existsSync('/dev/kvm');
const saved = process.env.CELLCTL_VM_ACCEL;
afterEach(() => {
  if (saved === undefined) delete process.env.CELLCTL_VM_ACCEL;
  else process.env.CELLCTL_VM_ACCEL = saved;
});
const noBoot = { kernel: '/nonexistent/vmlinux', initrd: '/nonexistent/initrd' };

describe('accelerator choice', () => {
  it('CELLCTL_VM_ACCEL overrides the probe', async () => {
    process.env.CELLCTL_VM_ACCEL = 'tcg';
    expect(await chooseAccel(noBoot)).toEqual({ accel: 'tcg', cpu: 'max', reason: 'CELLCTL_VM_ACCEL=tcg' });
    process.env.CELLCTL_VM_ACCEL = 'kvm';
    expect((await chooseAccel(noBoot)).accel).toBe('kvm');
  });

  it.skipIf(KVM)(`without /dev/kvm: TCG, without probing${KVM ? ' (skipped: /dev/kvm exists here)' : ''}`, async () => {
    delete process.env.CELLCTL_VM_ACCEL;
    expect(await chooseAccel(noBoot)).toEqual({ accel: 'tcg', cpu: 'max', reason: 'no /dev/kvm' });
  });

  it.skipIf(!QEMU)(`a KVM probe that cannot boot falls back to TCG and says why${QEMU ? '' : ' (skipped: no qemu-system-x86_64)'}`, async () => {
    // here QEMU cannot use KVM at all (no /dev/kvm) or cannot load the kernel: either way the probe fails
    const v = await probeKvm(noBoot, 20_000);
    expect(v.accel).toBe('tcg');
    expect(v.reason).toMatch(/^\/dev\/kvm present but the KVM probe boot failed: \S/);
  }, 30_000);

  it.skipIf(!KVM || !QEMU)(`with /dev/kvm: the probe boots the kit's initramfs and decides${KVM && QEMU ? '' : ' (skipped: no /dev/kvm)'}`, async () => {
    const { kernel, initramfs } = await prepareBootFiles();
    const v = await probeKvm({ kernel: kernel.boot, initrd: initramfs.path });
    expect(v.reason).toMatch(v.accel === 'kvm' ? /KVM probe boot reached userspace/ : /KVM probe boot failed/);
  }, 60_000);
});
