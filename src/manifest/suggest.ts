/**
 * "Did you mean" hints for misspelt keys, pools and job names.
 */

/**
 * Edit distance between `a` and `b` counting insertions, deletions, substitutions and
 * swaps of two adjacent characters (so `retires` → `retries` is 1).
 */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}

/**
 * The candidate nearest to `word`, if it is close enough to be a plausible typo: at
 * most `limit` edits (by default 2, 1 for words of three characters or fewer), compared
 * case-insensitively.
 */
export function nearest(
  word: string,
  candidates: Iterable<string>,
  limit = word.length <= 3 ? 1 : 2,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance && d <= limit && candidate !== word) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `; did you mean "x"?` when a near candidate exists, else ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const hint = nearest(word, candidates);
  return hint === undefined ? '' : `; did you mean ${JSON.stringify(hint)}?`;
}
