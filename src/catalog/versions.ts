// Dotted version ids as the catalog writes them: "3.0.2" < "3.0.10" < "3.1"; "4.0_beta" counts as 4.0.

/** The numbers of a dotted version; a part's leading digits, 0 when it has none. */
function parts(v: string): number[] {
  return v.split('.').map((x) => Number.parseInt(x, 10) || 0);
}

/** -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
