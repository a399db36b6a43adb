// What the guest-side helpers (modules judged by the guest's kernel, the kernel AFS client) need
// from a driver whose guests run a real Linux kernel behind a GuestAgent: where to record what they
// load, which kernel a guest runs, a guest's address, one kernel change at a time per guest.

export interface ModuleRec {
  guest: string;
  module: string; // catalog id or .ko path
  name: string; // as the kernel names it
  loadedAs?: string; // name in /proc/modules when it stays loaded (the stand-in's "openafs")
}

export interface ClientRec {
  guest: string;
  cell: string;
  loadedModule?: boolean; // openafs.ko was loaded by the client (no module resource holds it)
}

export interface GuestSide {
  readonly driver: string; // "qemu", "xen": named in what the helpers write (CellServDB's comment)
  /** The driver's records, by resource name (modules) and guest (clients); changed in place, then save(). */
  readonly modules: Record<string, ModuleRec>;
  readonly clients: Record<string, ClientRec>;
  save(): void;
  /** The cell's kernel (catalog id or Module.symvers path), what the guest really runs (uname -r), its memory (MiB). */
  guest(name: string): { kernel: string; release: string; memory: number };
  /** The guest's first address on the cell's network, if it has one. */
  addressOf(name: string): string | undefined;
  /** One kernel change at a time per guest (insmod, plug + mount): the kernel log lines between its marks are its own. */
  inKernel<T>(guest: string, fn: () => Promise<T>): Promise<T>;
}
