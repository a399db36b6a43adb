// The one XML escaping helper. XML 1.0 cannot carry most control characters even escaped: a
// config we generate refuses them (a value that has one is a mistake), a report strips them
// (command output may contain anything).

const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/g;

/** Escape for XML text and for attributes in either quote style. */
export function xmlEscape(value: unknown, invalid: 'refuse' | 'strip' = 'refuse'): string {
  let s = String(value);
  if (invalid === 'strip') s = s.replace(XML_FORBIDDEN, '');
  else if (new RegExp(XML_FORBIDDEN.source).test(s)) {
    throw new Error(`value ${JSON.stringify(s)} contains a control character XML cannot carry`);
  }
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}
