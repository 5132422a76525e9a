/**
 * Bayesian-smoothed rate: `strength` pseudo-observations at `prior` added to `hits` of `trials`.
 * With no trials it is the prior (cold start); with many it approaches hits / trials.
 */
export function smoothedRate(hits: number, trials: number, prior: number, strength: number): number {
  return (hits + prior * strength) / (trials + strength);
}

/** Fraction of a track heard, clipped to [0, 1]; NaN when either number is unusable. */
export function heardFraction(heardMs: number, durationMs: number): number {
  if (!(durationMs > 0) || !Number.isFinite(heardMs)) return Number.NaN;
  return heardMs <= 0 ? 0 : heardMs >= durationMs ? 1 : heardMs / durationMs;
}
