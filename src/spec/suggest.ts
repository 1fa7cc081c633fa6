import { ECHO_MAX_CHARS } from "../errors.js";

// "Did you mean" suggestions for misspelled keys and names.

/** How many candidates a list names before it says how many more there are. */
const LISTED_MAX = 20;

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
  // A name this long is no typo of anything, and comparing two of them would cost their lengths multiplied.
  if (word.length > ECHO_MAX_CHARS) return undefined;
  const lower = word.toLowerCase();
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (candidate.length > ECHO_MAX_CHARS) continue;
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
  const list = candidates.length === 0 ? `none are defined` : `${noun}: ${listed(candidates)}`;
  if (match === undefined) return `; ${list}`;
  return alwaysList ? `; did you mean \`${match}\`? (${list})` : `; did you mean \`${match}\`?`;
}

/** Candidates as a list says them: each cut to ECHO_MAX_CHARS, at most LISTED_MAX, so a list never amplifies input. */
function listed(candidates: readonly string[]): string {
  const shown = candidates.slice(0, LISTED_MAX).map((candidate) => (candidate.length <= ECHO_MAX_CHARS ? candidate : `${candidate.slice(0, ECHO_MAX_CHARS)}… (${candidate.length} characters)`));
  const more = candidates.length - shown.length;
  return more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
}
