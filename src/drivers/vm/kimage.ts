// Reading x86 kernel images: the bzImage setup header (release string, compressed payload) and the
// ELF vmlinux inside it. QEMU boots an ELF vmlinux through its PVH entry point, which skips the
// real-mode setup and the in-guest decompression (seconds under TCG).
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';

export function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

export function isBzImage(b: Buffer): boolean {
  return b.length > 0x250 && b.toString('latin1', 0x202, 0x206) === 'HdrS';
}

/** The first word of the image's version string ("6.1.0-57-amd64"), from the setup header. */
export function bzImageRelease(b: Buffer): string | undefined {
  if (!isBzImage(b)) return undefined;
  const ptr = b.readUInt16LE(0x20e);
  if (!ptr) return undefined;
  const start = ptr + 0x200;
  const end = b.indexOf(0, start);
  const s = b.toString('latin1', start, end < 0 ? start + 256 : end);
  return s.split(' ')[0] || undefined;
}

/** The release an ELF vmlinux announces in its banner ("Linux version 6.1.0-57-amd64 (...").*/
export function vmlinuxRelease(elf: Buffer): string | undefined {
  const at = elf.indexOf('Linux version ', 0, 'latin1');
  if (at < 0) return undefined;
  const m = /^Linux version (\S+)/.exec(elf.toString('latin1', at, at + 200));
  return m?.[1];
}

/** The compressed kernel (payload_offset/length, boot protocol >= 2.08) inside a bzImage. */
function bzPayload(b: Buffer): Buffer | undefined {
  if (!isBzImage(b) || b.readUInt16LE(0x206) < 0x208) return undefined;
  const setupSects = b[0x1f1] || 4;
  const pmStart = (setupSects + 1) * 512;
  const off = b.readUInt32LE(0x248);
  const len = b.readUInt32LE(0x24c);
  if (!len || pmStart + off + len > b.length) return undefined;
  return b.subarray(pmStart + off, pmStart + off + len);
}

const XZ = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const GZIP = Buffer.from([0x1f, 0x8b, 0x08]);

async function viaCli(cmd: string, args: string[], input: Buffer): Promise<Buffer> {
  const r = await execa(cmd, args, { input, encoding: 'buffer', reject: false, stripFinalNewline: false, maxBuffer: 1 << 30 });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${Buffer.from(r.stderr).toString().trim() || `exit ${r.exitCode}`}`);
  return Buffer.from(r.stdout);
}

/**
 * Decompresses one kernel payload. The build appends the uncompressed size (4 bytes) after the
 * stream, so each decoder is told to stop at the end of the first stream.
 */
async function decompress(p: Buffer): Promise<Buffer> {
  if (p.subarray(0, 6).equals(XZ)) return viaCli('xz', ['-dc', '--single-stream'], p);
  if (p.subarray(0, 4).equals(ZSTD)) return viaCli('zstd', ['-dcq'], p.subarray(0, p.length - 4));
  if (p.subarray(0, 3).equals(GZIP)) return gunzipSync(p);
  throw new Error(`unsupported kernel compression (magic ${p.subarray(0, 6).toString('hex')}); xz, zstd and gzip are handled`);
}

/**
 * The ELF vmlinux inside a bzImage. Uses the setup header's payload fields; if they are missing
 * (very old boot protocol) scans for an xz stream that decompresses to an ELF, as the kernel's
 * own scripts/extract-vmlinux does.
 */
export async function extractVmlinux(bz: Buffer): Promise<Buffer> {
  const payload = bzPayload(bz);
  if (payload) {
    const out = await decompress(payload);
    if (!isElf(out)) throw new Error('the bzImage payload decompressed, but not to an ELF image');
    return out;
  }
  for (let at = bz.indexOf(XZ); at >= 0; at = bz.indexOf(XZ, at + 1)) {
    const out = await decompress(bz.subarray(at)).catch(() => undefined);
    if (out && isElf(out)) return out;
  }
  throw new Error('no compressed ELF kernel found in the image');
}

/** Program headers of a 64-bit little-endian ELF (type, file offset, file size). */
export function elfProgramHeaders(elf: Buffer): { type: number; offset: number; size: number }[] {
  if (!isElf(elf) || elf[4] !== 2 || elf[5] !== 1) return [];
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const out: { type: number; offset: number; size: number }[] = [];
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length) break;
    out.push({ type: elf.readUInt32LE(ph), offset: Number(elf.readBigUInt64LE(ph + 8)), size: Number(elf.readBigUInt64LE(ph + 32)) });
  }
  return out;
}

const PT_INTERP = 3;
const PT_NOTE = 4;

/** A dynamically linked program names its loader in PT_INTERP; a static one (busybox-static) does not. */
export function isStaticElf(elf: Buffer): boolean {
  return isElf(elf) && !elfProgramHeaders(elf).some((p) => p.type === PT_INTERP);
}

/**
 * Whether an ELF kernel has the Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) QEMU needs to boot
 * it directly; without it QEMU must be given the bzImage.
 */
export function hasPvhNote(elf: Buffer): boolean {
  for (const ph of elfProgramHeaders(elf).filter((p) => p.type === PT_NOTE)) {
    const end = Math.min(elf.length, ph.offset + ph.size);
    for (let n = ph.offset; n + 12 <= end; ) {
      const namesz = elf.readUInt32LE(n);
      const descsz = elf.readUInt32LE(n + 4);
      const type = elf.readUInt32LE(n + 8);
      const name = elf.toString('latin1', n + 12, n + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === 18) return true;
      n += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}
