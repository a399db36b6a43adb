// Integrity of the files cellctl keeps (state.json, secrets.json): the first member of the JSON
// object records the byte length and SHA-256 of the document written without it, so a truncated,
// torn or edited file is refused instead of being misread. The file stays one plain JSON object.
import { createHash } from 'node:crypto';

const HEAD = /^\{"integrity":\{"sha256":"([0-9a-f]{64})","length":(\d+)\}/;

function digest(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** `body` is the JSON text of an object ("{...}"); returns it with its integrity member in front. */
export function seal(body: string): string {
  const head = `{"integrity":{"sha256":"${digest(body)}","length":${Buffer.byteLength(body)}}`;
  return body === '{}' ? `${head}}` : `${head},${body.slice(1)}`;
}

/**
 * The document without its integrity member, checked; `sealed: false` when the file has none
 * (written by an older cellctl: the caller must parse it whole). Throws saying what is wrong,
 * never quoting the content (a secrets file must not leak into an error).
 */
export function unseal(text: string): { body: string; sealed: boolean } {
  const m = HEAD.exec(text);
  if (!m) {
    if (text.startsWith('{"integrity"')) throw new Error('its integrity record is malformed or cut off');
    if (text.length < 13 && '{"integrity":'.startsWith(text)) throw new Error('it is truncated: its integrity record is cut off');
    return { body: text, sealed: false };
  }
  const rest = text.slice(m[0].length).replace(/\n$/, '');
  const body = rest === '}' ? '{}' : rest.startsWith(',') ? `{${rest.slice(1)}` : undefined;
  const want = Number(m[2]);
  const got = body === undefined ? 0 : Buffer.byteLength(body);
  if (body === undefined || got < want) throw new Error(`it is truncated: ${got} of ${want} bytes`);
  if (got > want) throw new Error(`it is ${got} bytes, ${want} were written`);
  if (digest(body) !== m[1]) throw new Error('its checksum does not match its content (damaged or edited by hand)');
  return { body, sealed: true };
}
