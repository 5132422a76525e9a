// Standard normal distribution: CDF via the incomplete gamma function (erf(z) = P(½, z²)), quantile by
// Halley refinement of the Abramowitz & Stegun 26.2.23 starting point, so both are good to ~1e-15.
import { regularizedGammaP, regularizedGammaQ } from "./gamma.ts";

const SQRT_TWO_PI = Math.sqrt(2 * Math.PI);

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
