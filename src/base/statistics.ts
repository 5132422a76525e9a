// Distributions and interval helpers shared by every stage: the standard normal (CDF via the incomplete
// gamma function, erf(z) = P(½, z²); quantile by Halley refinement of the Abramowitz & Stegun 26.2.23
// starting point, both good to ~1e-15 relative, tails included), the chi-square survival function,
// two-sided critical values, normal-approximation and Wilson score intervals, and the linear-interpolation
// quantile of sorted data (numpy.percentile's default, used for bootstrap percentile intervals).
import { regularizedGammaP, regularizedGammaQ } from "./gamma.ts";

const SQRT_TWO_PI = Math.sqrt(2 * Math.PI);

// ---------------------------------------------------------------------------------------------
// Standard normal distribution

/** Φ(x) = P(Z ≤ x). Tails keep relative precision (Φ(−30) ≈ 4.9e−198). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const halfSquare = (x * x) / 2;
  if (x < 0) return 0.5 * regularizedGammaQ(0.5, halfSquare);
  return 0.5 + 0.5 * regularizedGammaP(0.5, halfSquare);
}

/** P(Z ≥ x), computed without cancellation for large x. */
export function normalSurvival(x: number): number {
  return normalCdf(-x);
}

/** Standard normal density. */
export function normalPdf(x: number): number {
  return Math.exp(-(x * x) / 2) / SQRT_TWO_PI;
}

/** Lower-tail starting point for p ≤ 0.5 (A&S 26.2.23, |error| < 4.5e-4). */
function lowerTailGuess(p: number): number {
  const t = Math.sqrt(-2 * Math.log(p));
  const numerator = 2.515517 + 0.802853 * t + 0.010328 * t * t;
  const denominator = 1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t;
  return -(t - numerator / denominator);
}

/** Φ⁻¹(p): the x with Φ(x) = p. ±Infinity at 0 and 1, NaN outside [0, 1]. */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p > 0.5) return -normalQuantile(1 - p);
  if (p === 0.5) return 0;
  let x = lowerTailGuess(p);
  for (let i = 0; i < 8; i++) {
    const error = normalCdf(x) - p;
    // Newton step scaled by the density; Halley's correction (1 + x·u/2) for cubic convergence.
    const u = error * SQRT_TWO_PI * Math.exp((x * x) / 2);
    const step = u / (1 + (x * u) / 2);
    x -= step;
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// Chi-square distribution

/** Chi-square survival function P(X² ≥ x) with `df` degrees of freedom (any df > 0). */
export function chiSquareSurvival(x: number, df: number): number {
  if (Number.isNaN(x) || !(df > 0)) return Number.NaN;
  if (x <= 0) return 1;
  return regularizedGammaQ(df / 2, x / 2);
}

// ---------------------------------------------------------------------------------------------
// Intervals

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}

/** Two-sided critical value z_{1−α/2} for a confidence level such as 0.95. */
export function criticalValue(confidence: number): number {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  return normalQuantile(1 - (1 - confidence) / 2);
}

/** Normal-approximation interval estimate ± z·se at the two-sided `confidence` level. */
export function normalInterval(estimate: number, standardError: number, confidence = 0.95): Interval {
  const half = criticalValue(confidence) * standardError;
  return { estimate, lower: estimate - half, upper: estimate + half };
}

/** Throws a RangeError naming `what` unless 0 ≤ successes ≤ n (both finite). */
export function checkProportionCounts(successes: number, n: number, what: string): void {
  if (!Number.isFinite(successes) || !Number.isFinite(n) || successes < 0 || n < 0 || successes > n) {
    throw new RangeError(`${what}: need 0 ≤ successes ≤ n, got successes=${successes}, n=${n}`);
  }
}

/** Wilson score interval (no continuity correction) for successes / n; NaN when n = 0. */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): Interval {
  checkProportionCounts(successes, n, "wilsonInterval");
  if (n === 0) return { estimate: Number.NaN, lower: Number.NaN, upper: Number.NaN };
  const z = criticalValue(confidence);
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return { estimate: p, lower: Math.max(0, centre - halfWidth), upper: Math.min(1, centre + halfWidth) };
}

// ---------------------------------------------------------------------------------------------
// Quantiles of sorted data

/**
 * Quantile q ∈ [0, 1] of ascending data by linear interpolation between order statistics
 * (numpy.percentile's default "linear" method); NaN for empty data. Bootstrap percentile intervals take
 * `sortedQuantile(replicates, α/2)` and `sortedQuantile(replicates, 1 − α/2)`.
 */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
