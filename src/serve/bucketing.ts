// GrowthBook-compatible bucketing, so an assignment made here reproduces in GrowthBook and its SDKs.
// hash v2 = fnv1a32(String(fnv1a32(seed + value))) % 10000 / 10000, ranges as in GrowthBook's getBucketRanges.

import { fnv1a32 } from "../base/hash.ts";

export { fnv1a32 };

/** GrowthBook's `hash(seed, value, version)`: a number in [0, 1). */
export function growthbookHash(seed: string, value: string, version: 1 | 2): number {
  if (version === 1) return (fnv1a32(value + seed) % 1000) / 1000;
  return (fnv1a32(String(fnv1a32(seed + value))) % 10000) / 10000;
}

export type BucketRange = readonly [start: number, end: number];

/**
 * Consecutive [start, end) ranges over [0, 1), one per weight. Weights are normalised to sum 1,
 * `coverage` shrinks every range from its start (GrowthBook semantics: users outside coverage get -1).
 */
export function bucketRanges(weights: readonly number[], coverage = 1): BucketRange[] {
  const total = weights.reduce((sum, w) => sum + w, 0);
  if (!(total > 0)) throw new Error("experiment weights must be positive numbers with a positive sum");
  const clamped = Math.min(1, Math.max(0, coverage));
  let cumulative = 0;
  return weights.map((w) => {
    const start = cumulative;
    cumulative += w / total;
    return [start, start + clamped * (w / total)] as const;
  });
}

/** Index of the range holding n, or -1. */
export function chooseVariant(n: number, ranges: readonly BucketRange[]): number {
  for (let i = 0; i < ranges.length; i++) {
    if (n >= ranges[i][0] && n < ranges[i][1]) return i;
  }
  return -1;
}
