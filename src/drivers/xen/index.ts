// The Xen kit: real Xen hosts nested in QEMU (dom0 = the VM kit's guest), domUs made by the real
// `xl create`, and an agent inside each domU with the same client as the QEMU guests' (GuestAgent).
export { findXen, xenImage, type XenImage } from './hypervisor.js';
export { CONTROL_BRIDGE, DOM0_MODULES, XEN_LOG_DIR, dom0SetupScript, type Dom0Setup } from './dom0-setup.js';
export { attachXenHost, prepareDom0Boot, xenHostPaths, startXenHost, stopXenHost, waitXenReady, xenHostAlive, type HostShare, type Uplink, type XenHost, type XenHostSpec } from './host.js';
export { XlError, consoleLogPath, parseXlInfo, parseXlList, xlBlockAttach, xlBlockDetach, xlConsole, xlCreate, xlDestroy, xlInfo, xlList, xlMemSet, xlShutdown, type XenInfo, type XlDomain } from './xl.js';
export { DOMU_AGENT_PORT, DOMU_MODULES, domuScripts } from './domu-init.js';
export { closeDomuAgent, controlMac, linkLocal, openDomuAgent, waitDomuReady } from './domu-agent.js';
export { domuConfig, prepareDomuBoot, type DomuBoot, type DomuOptions } from './domu-config.js';
export { buildRootImage, type RootImage, type RootTree } from './root-image.js';
export { pvLiveMigration, xlMigrate, xlMoveCold } from './migrate.js';
