// "Did you mean X?": the nearest candidate by Damerau-Levenshtein distance (optimal string alignment).

/** Edit distance with adjacent transpositions, or `limit + 1` as soon as it must exceed `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/**
 * The candidate nearest to `word`, compared case-insensitively, if it is close enough to be a
 * plausible typo: at most a third of the word's length in edits (at least one). Ties go to the
 * candidate listed first, so callers control preference by order.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestDist = limit + 1;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase(), bestDist - 1);
    if (d < bestDist) {
      best = c;
      bestDist = d;
      if (d === 0) break;
    }
  }
  return best;
}

/** A hint for an unknown name: "did you mean X?", else the valid names when there are few. */
export function hintFor(word: string, candidates: readonly string[], maxListed = 12): string | undefined {
  const s = suggest(word, candidates);
  if (s !== undefined) return `did you mean ${s}?`;
  if (candidates.length === 0) return undefined;
  if (candidates.length <= maxListed) return `expected one of: ${candidates.join(', ')}`;
  return undefined;
}
