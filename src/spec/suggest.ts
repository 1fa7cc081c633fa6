// "Did you mean" suggestions for misspelled keys and names.

export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest candidate, if it is close enough to be a plausible typo. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === lower ? 0 : levenshtein(lower, candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  if (best === undefined) return undefined;
  const tolerance = Math.max(1, Math.floor(Math.max(word.length, best.candidate.length) / 3));
  return best.distance <= tolerance ? best.candidate : undefined;
}

/**
 * `; did you mean `x`?` or `; allowed: a, b` (or `; none are defined` when nothing is allowed).
 * With `alwaysList`, the list follows the suggestion too, for names the user may not remember.
 */
export function suggestionSuffix(word: string, candidates: readonly string[], noun = "allowed", alwaysList = false): string {
  const match = closestMatch(word, candidates);
  const list = candidates.length === 0 ? `none are defined` : `${noun}: ${candidates.join(", ")}`;
  if (match === undefined) return `; ${list}`;
  return alwaysList ? `; did you mean \`${match}\`? (${list})` : `; did you mean \`${match}\`?`;
}
