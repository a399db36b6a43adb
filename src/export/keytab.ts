// The keytab file format MIT krb5 and Heimdal read (version 0x0502, big-endian; MIT's
// doc/formats/keytab_file_format.rst): one entry per key of a principal.
import type { KeytabKeys } from '../drivers/driver.js';

/** Enctype numbers (IANA "Kerberos Encryption Type Numbers"; RFC 3961, 3962, 4757, 6803, 8009). */
const ENCTYPE_NUMBER: Record<string, number> = {
  'des-cbc-crc': 1, 'des-cbc-md4': 2, 'des-cbc-md5': 3, 'des3-cbc-sha1': 16, 'aes128-cts-hmac-sha1-96': 17,
  'aes256-cts-hmac-sha1-96': 18, 'aes128-cts-hmac-sha256-128': 19, 'aes256-cts-hmac-sha384-192': 20, 'arcfour-hmac': 23,
  'camellia128-cts-cmac': 25, 'camellia256-cts-cmac': 26,
};
const KRB5_NT_PRINCIPAL = 1;

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const counted = (b: Buffer) => Buffer.concat([u16(b.length), b]);

/** A keytab file's bytes for the given principals' keys; `timestamp`: seconds since 1970 for each entry. */
export function keytabFile(entries: KeytabKeys[], timestamp: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x05, 0x02])];
  for (const e of entries) {
    const at = e.principal.lastIndexOf('@');
    const components = e.principal.slice(0, at).split('/');
    for (const k of e.keys) {
      const type = ENCTYPE_NUMBER[k.enctype];
      if (type === undefined) throw new Error(`keytab: unknown enctype ${k.enctype}`);
      const body = Buffer.concat([
        u16(components.length), counted(Buffer.from(e.principal.slice(at + 1))), ...components.map((c) => counted(Buffer.from(c))),
        u32(KRB5_NT_PRINCIPAL), u32(timestamp), Buffer.from([e.kvno & 0xff]), u16(type), counted(k.key), u32(e.kvno),
      ]);
      parts.push(u32(body.length), body);
    }
  }
  return Buffer.concat(parts);
}
