// Integrity of the files cellctl keeps (state.json, secrets.json): the first member of the JSON
// object records the byte length and SHA-256 of the document written without it, so a truncated,
// torn or edited file is refused instead of being misread. The file stays one plain JSON object.
import { createHash } from 'node:crypto';

const HEAD = /^\{"integrity":\{"sha256":"([0-9a-f]{64})","length":(\d+)\}/;
/** Longer than any head HEAD matches (the digest, a length of up to 20 digits). */
const HEAD_MAX = 160;

function digest(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** `body` is the JSON text of an object ("{...}"); returns it with its integrity member in front. */
export function seal(body: string): string {
  const head = `{"integrity":{"sha256":"${digest(body)}","length":${Buffer.byteLength(body)}}`;
  return body === '{}' ? `${head}}` : `${head},${body.slice(1)}`;
}

/**
 * The document's bytes without its integrity member, checked; `sealed: false` when the file has none
 * (written by an older cellctl: the caller must parse it whole). Works on the bytes as read, so a
 * large state is hashed without being decoded and re-encoded (`file` is reused: one byte is
 * overwritten). Throws saying what is wrong, never quoting the content (a secrets file must not
 * leak into an error).
 */
export function unsealBytes(file: Buffer): { body: Buffer; sealed: boolean } {
  const start = file.toString('latin1', 0, Math.min(file.length, HEAD_MAX));
  const m = HEAD.exec(start);
  if (!m) {
    if (start.startsWith('{"integrity"')) throw new Error('its integrity record is malformed or cut off');
    if (file.length < 13 && '{"integrity":'.startsWith(start)) throw new Error('it is truncated: its integrity record is cut off');
    return { body: file, sealed: false };
  }
  let end = file.length;
  if (end > m[0].length && file[end - 1] === 0x0a) end -= 1;
  const at = m[0].length; // the byte after the head: ',' before the rest of the members, or the closing '}'
  const want = Number(m[2]);
  let body: Buffer | undefined;
  if (end - at === 1 && file[at] === 0x7d) body = Buffer.from('{}');
  else if (end > at && file[at] === 0x2c) {
    file[at] = 0x7b; // ',' -> '{': the document as it was sealed, without a copy
    body = file.subarray(at, end);
  }
  const got = body?.length ?? 0;
  if (body === undefined || got < want) throw new Error(`it is truncated: ${got} of ${want} bytes`);
  if (got > want) throw new Error(`it is ${got} bytes, ${want} were written`);
  if (createHash('sha256').update(body).digest('hex') !== m[1]) throw new Error('its checksum does not match its content (damaged or edited by hand)');
  return { body, sealed: true };
}

/** unsealBytes for a text already read. */
export function unseal(text: string): { body: string; sealed: boolean } {
  const { body, sealed } = unsealBytes(Buffer.from(text));
  return { body: sealed ? body.toString('utf8') : text, sealed };
}
