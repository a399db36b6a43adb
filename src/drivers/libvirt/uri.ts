// What a libvirt connection URI says: which hypervisor driver, whether it is this machine, and the
// socket of a libvirtd reached by path (qemu:///system?socket=...). Pure string reading.
import { basename, dirname } from 'node:path';

/** test:// connections keep their domains only while the connection is open. */
export function isTestUri(uri: string): boolean {
  return /^test(\+\w+)?:\/\//.test(uri);
}

/** libvirt's QEMU driver, over any transport (qemu://, qemu+ssh://, qemu+unix://, ...). */
export function isQemuUri(uri: string): boolean {
  return /^qemu(\+[a-z]+)?:\/\//.test(uri);
}

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/**
 * Is the libvirtd behind this URI on this machine (no host, or loopback)? Then the guests' files
 * (kernel, initramfs, disks, the agent's socket) are the same paths here and there.
 */
export function isThisMachine(uri: string): boolean {
  const u = parse(uri);
  return !!u && ['', 'localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
}

/**
 * The libvirtd socket a URI names on this machine: qemu:///system?socket=/p/libvirt-sock,
 * qemu+unix://..., or qemu+ssh:// to loopback (socket= is the far side's path, reached with nc -U
 * over ssh; on loopback the far side is here).
 */
export function socketOf(uri: string): string | undefined {
  const u = parse(uri);
  if (!u) return undefined;
  const local = /^qemu(\+unix)?:$/.test(u.protocol) && u.hostname === '';
  const loopSsh = u.protocol === 'qemu+ssh:' && u.hostname !== '' && isThisMachine(uri);
  return local || loopSsh ? u.searchParams.get('socket') ?? undefined : undefined;
}

/**
 * The directory of a libvirtd cellctl runs for a host: the URI names a socket "libvirt-sock" in it.
 * Whether cellctl may start one there (the directory is absent, empty or made by cellctl) is the
 * caller's to decide.
 */
export function daemonDirOf(uri: string): string | undefined {
  const s = socketOf(uri);
  return s?.startsWith('/') && basename(s) === 'libvirt-sock' ? dirname(s) : undefined;
}

/**
 * What the libvirt driver realizes on these URIs: real guests when every host is a QEMU
 * hypervisor, domains only otherwise (the test driver runs nothing; Xen hosts get Xen PV domains).
 */
export function libvirtMode(uris: (string | null | undefined)[]): 'guests' | 'domains' {
  const known = uris.filter((u): u is string => !!u);
  return known.length > 0 && known.every(isQemuUri) ? 'guests' : 'domains';
}
