/** Nearest-match suggestions for misspelt keys and values. */

/** Largest edit distance at which a candidate still counts as a likely typo. */
const MAX_SUGGESTION_DISTANCE = 2;

/** Shortest string that may count as a prefix of a candidate: "a" would match too many keys. */
const MIN_PREFIX_LENGTH = 3;

/**
 * Computes the optimal string alignment distance (Damerau-Levenshtein restricted to
 * non-overlapping edits): insertions, deletions, substitutions and swaps of two adjacent
 * characters each cost 1. Case is ignored, because "Label" for "label" is a typo too.
 */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();

  // rows[i][j] is the distance between the first i characters of left and the first j of right.
  const rows: number[][] = [];
  for (let i = 0; i <= left.length; i++) {
    rows.push(new Array<number>(right.length + 1).fill(0));
  }
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  const set = (i: number, j: number, value: number): void => {
    const row = rows[i];
    if (row !== undefined) row[j] = value;
  };

  for (let i = 0; i <= left.length; i++) set(i, 0, i);
  for (let j = 0; j <= right.length; j++) set(0, j, j);

  for (let i = 1; i <= left.length; i++) {
    for (let j = 1; j <= right.length; j++) {
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      const swapped = i > 1 && j > 1 && left[i - 1] === right[j - 2] && left[i - 2] === right[j - 1];
      if (swapped) best = Math.min(best, at(i - 2, j - 2) + 1);
      set(i, j, best);
    }
  }

  return at(left.length, right.length);
}

/**
 * Returns the candidate closest to `input`, or undefined when none is close enough.
 * A candidate is close when it is at most 2 edits away, or when one of the two is a
 * prefix of the other and at least 3 characters long (e.g. "rotate" for "rotateAfterDays"). The smallest distance wins,
 * and on a tie the candidate listed first.
 */
export function suggestNearest(input: string, candidates: readonly string[]): string | undefined {
  if (input === '') return undefined;

  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === input) continue;

    const distance = editDistance(input, candidate);
    const lowerInput = input.toLowerCase();
    const lowerCandidate = candidate.toLowerCase();
    const shorterLength = Math.min(lowerInput.length, lowerCandidate.length);
    const isPrefix =
      shorterLength >= MIN_PREFIX_LENGTH &&
      (lowerCandidate.startsWith(lowerInput) || lowerInput.startsWith(lowerCandidate));
    const isClose = distance <= MAX_SUGGESTION_DISTANCE || isPrefix;
    if (isClose && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }

  return best;
}
