// Figures shared by the benchmarks' reports.

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The sample at rank floor(q·n) of the sorted values (q = 0.9: p90), the last one at most; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** `median 412 ms (min 348, max 479, n=7)`, each number written by `format`. */
export function spread(values: readonly number[], unit: string, format: (value: number) => string): string {
  return `median ${format(median(values))} ${unit} (min ${format(Math.min(...values))}, max ${format(Math.max(...values))}, n=${values.length})`;
}
