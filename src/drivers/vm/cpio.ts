// A newc ("070701") cpio writer: the format the kernel unpacks as an initramfs.
// Entries carry fixed owner (root) and mtime 0, so the same inputs always give the same bytes
// (the initramfs cache is keyed by a hash of its inputs, not of this output).
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`cpio: field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, nlink: number, size: number, nameLen: number, rdev: [number, number]): string {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return '070701' + [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameLen, 0].map(hex8).join('');
}

/** Archive paths are relative ("bin/busybox"); a leading "/" or "./" is dropped. */
function archiveName(path: string): string {
  const p = path.replace(/^(\.\/|\/)+/, '');
  if (!p || p.split('/').includes('..')) throw new Error(`cpio: bad path ${JSON.stringify(path)}`);
  return p;
}

/** Serialises entries in the order given (parents must come before their children). */
export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  const push = (ino: number, mode: number, nlink: number, name: string, data: Uint8Array, rdev: [number, number] = [0, 0]) => {
    const nameBytes = Buffer.from(name + '\0', 'utf8');
    const head = Buffer.from(header(ino, mode, nlink, data.length, nameBytes.length, rdev), 'ascii');
    parts.push(head, nameBytes, Buffer.alloc(pad4(head.length + nameBytes.length)));
    parts.push(Buffer.from(data.buffer, data.byteOffset, data.length), Buffer.alloc(pad4(data.length)));
  };
  let ino = 1;
  for (const e of entries) {
    const name = archiveName(e.path);
    if (seen.has(name)) throw new Error(`cpio: duplicate entry ${name}`);
    seen.add(name);
    if (e.kind === 'dir') push(ino++, S_IFDIR | (e.mode ?? 0o755), 2, name, new Uint8Array());
    else if (e.kind === 'file') push(ino++, S_IFREG | (e.mode ?? 0o644), 1, name, e.data);
    else if (e.kind === 'symlink') push(ino++, S_IFLNK | 0o777, 1, name, Buffer.from(e.target, 'utf8'));
    else push(ino++, S_IFCHR | (e.mode ?? 0o600), 1, name, new Uint8Array(), [e.major, e.minor]);
  }
  push(0, 0, 1, 'TRAILER!!!', new Uint8Array());
  return Buffer.concat(parts);
}

/** The gzip'd archive, as the kernel's initramfs unpacker takes it (CONFIG_RD_GZIP). */
export function writeCpioGz(entries: CpioEntry[]): Buffer {
  return gzipSync(writeCpio(entries), { level: 6 });
}
