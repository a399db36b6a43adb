// How cellctl reads a vif's address: the cell file gives none a prefix, so an address is on the
// link with the prefix of its private block (RFC 1918: 10/8, 172.16/12, 192.168/16), /24 otherwise.
// The netns driver configures addresses that way; the compat rules judge reachability the same way.

export function impliedPrefix(ip: string): number {
  if (ip.startsWith('10.')) return 8;
  if (/^172\.(1[6-9]|2\d|3[01])\./.test(ip)) return 12;
  if (ip.startsWith('192.168.')) return 16;
  return 24;
}

/** The network an address is in, as "a.b.c.d/n". */
export function networkOf(ip: string): string {
  const prefix = impliedPrefix(ip);
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const net = Math.floor(n / 2 ** (32 - prefix)) * 2 ** (32 - prefix);
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${prefix}`;
}
