/** Small statistics helpers for the benchmark (pure). */

/** p50/p99/max of a sample, in the sample's unit; `undefined` members when the sample is empty. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  readonly max: number | undefined;
}

/** Nearest-rank percentile of an ascending-sorted array (`q` in 0..1). */
export function percentileOfSorted(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** p50, p99 and max of `values` (not modified). */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentileOfSorted(sorted, 0.5),
    p99: percentileOfSorted(sorted, 0.99),
    max: sorted.at(-1),
  };
}

/** Median of `values`; `undefined` when empty. */
export function median(values: readonly number[]): number | undefined {
  return percentileOfSorted(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** Least-squares slope of y over x; `undefined` with fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number | undefined {
  if (points.length < 2) return undefined;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / points.length;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / points.length;
  let numerator = 0;
  let denominator = 0;
  for (const p of points) {
    numerator += (p.x - meanX) * (p.y - meanY);
    denominator += (p.x - meanX) ** 2;
  }
  return denominator === 0 ? undefined : numerator / denominator;
}
