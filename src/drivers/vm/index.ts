// The VM kit shared by the real-VM drivers (qemu, xen, libvirt): guest kernel and initramfs,
// the guest agent, one guest description rendered for QEMU or libvirt, and QEMU guests' lifecycle.
export { prepareBootFiles, type BootFiles } from './boot-files.js';
export { guestKernel, hostKernelImage, type GuestKernel, type KernelChoice } from './kernel.js';
export { guestInitramfs, moduleClosure, INIT_MODULES, type Initramfs, type InitramfsOptions, type InitScripts } from './initramfs.js';
export { guestBootParams, type GuestBootConfig, type GuestNic } from './guest-init.js';
export { AGENT_PORT, agentScript, type AgentChannel } from './guest-agent.js';
export { GuestAgent, AgentError, AgentTimeoutError, type ExecOptions, type ExecResult, type SpawnOptions } from './agent.js';
export { chooseAccel, type AccelChoice } from './accel.js';
export { describeGuest, kernelCmdline, type GuestDescription, type GuestSpec, type Vif, type Disk, type Share } from './guest-description.js';
export { guestPaths, qemuArgs, qemuArgsOf, type GuestPaths } from './qemu-args.js';
export { domainXml, hotplugDiskXml, diskAlias, virtioDev, type DomainOptions } from './domain-xml.js';
export { startGuest, waitReady, stopGuest, guestAlive, attachGuest, type Guest, type StopMethod } from './qemu.js';
