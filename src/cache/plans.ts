// Prefetch plans of the simulated policies: milliseconds of each track downloaded before it starts.
import type { CacheListen } from "./types.ts";

export function cacheAllPlan(listens: readonly CacheListen[]): Float64Array {
  return Float64Array.from(listens, (l) => l.durationMs);
}

export function cacheNothingPlan(listens: readonly CacheListen[]): Float64Array {
  return new Float64Array(listens.length);
}

/** Knows the future: prefetches exactly the tracks that will be played to the end. */
export function oraclePlan(listens: readonly CacheListen[]): Float64Array {
  return Float64Array.from(listens, (l) => (l.skipped ? 0 : l.durationMs));
}

/** Prefetch whole where the rule or model does not predict a skip (`skip[i]` = 1 means predicted SKIP). */
export function decisionPlan(listens: readonly CacheListen[], skip: ArrayLike<number>): Float64Array {
  if (skip.length !== listens.length)
    throw new RangeError(`${skip.length} decisions for ${listens.length} listens`);
  return Float64Array.from(listens, (l, i) => (skip[i] ? 0 : l.durationMs));
}

/** Predicted SKIP when P(skip) ≥ threshold (NaN scores count as PLAY: prefetch when unsure). */
export function thresholdDecisions(pSkip: Float64Array, threshold: number): Uint8Array {
  const out = new Uint8Array(pSkip.length);
  for (let i = 0; i < pSkip.length; i++) out[i] = pSkip[i] >= threshold ? 1 : 0;
  return out;
}

/** The first `prefixMs` of every track always; the rest only when the full play is predicted. */
export function partialPlan(
  listens: readonly CacheListen[],
  skip: ArrayLike<number>,
  prefixMs: number,
): Float64Array {
  if (skip.length !== listens.length)
    throw new RangeError(`${skip.length} decisions for ${listens.length} listens`);
  return Float64Array.from(listens, (l, i) => (skip[i] ? Math.min(prefixMs, l.durationMs) : l.durationMs));
}
