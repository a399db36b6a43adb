// The VM kit shared by the real-VM drivers (qemu, xen, libvirt): guest kernel and initramfs,
// the guest agent, and QEMU guests' lifecycle.
export { prepareBootFiles, type BootFiles } from './boot-files.js';
export { guestKernel, hostKernelImage, type GuestKernel, type KernelChoice } from './kernel.js';
export { guestInitramfs, moduleClosure, INIT_MODULES, type Initramfs, type InitramfsOptions, type InitScripts } from './initramfs.js';
export { guestBootParams, type GuestBootConfig, type GuestNic } from './guest-init.js';
export { AGENT_PORT, agentScript, type AgentChannel } from './guest-agent.js';
export { GuestAgent, AgentError, AgentTimeoutError, type ExecOptions, type ExecResult, type SpawnOptions } from './agent.js';
export { chooseAccel, type AccelChoice } from './accel.js';
export { guestPaths, kernelCmdline, qemuArgs, type GuestPaths, type GuestSpec, type Vif, type Disk, type Share } from './qemu-args.js';
export { startGuest, waitReady, stopGuest, guestAlive, attachGuest, type Guest, type StopMethod } from './qemu.js';
