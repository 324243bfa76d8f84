/**
 * The p-th percentile of `values` by the nearest-rank method: the smallest value with at least p % of
 * the values at or below it (for 20 samples, p95 is the 19th smallest and p50 the 10th). NaN when empty.
 */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? NaN;
}
