// Distributions and interval helpers shared by every stage: the standard normal (CDF via the incomplete
// gamma function, erf(z) = P(½, z²); quantile by Halley refinement of the Abramowitz & Stegun 26.2.23
// starting point, both good to ~1e-15 relative, tails included), the chi-square survival function,
// two-sided critical values, normal-approximation and Wilson score intervals, and the linear-interpolation
// quantile of sorted data (numpy.percentile's default, used for bootstrap percentile intervals), and
// always-valid inference: the asymptotic confidence sequence for a mean and the sample-size calculators.
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

// ---------------------------------------------------------------------------------------------
// Always-valid inference: a confidence sequence for a mean, and sample sizes

/**
 * The mixture constant c(α) = −2 log α + log(−2 log α + 1): with ρ² = c / (n* σ²) the normal-mixture
 * boundary of a stream with standard deviation σ is tightest at n = n* (Waudby-Smith, Arbour, Sinha,
 * Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences", 2021/2024;
 * the paper states it for σ = 1: ρ² = c / n*).
 */
export function mixtureConstant(alpha: number): number {
  return -2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1);
}

/**
 * Half-width of the asymptotic normal-mixture confidence sequence after `n` observations of variance
 * `variance`: sqrt( 2 (n σ² ρ² + 1) / (n² ρ²) · log( sqrt(n σ² ρ² + 1) / α ) ). The "+1" keeps it wide
 * while σ̂² is still near 0 (a few observations of mostly-zero data). +∞ for n ≤ 0.
 */
export function confidenceSequenceRadius(n: number, variance: number, alpha: number, rho2: number): number {
  if (!(n > 0)) return Number.POSITIVE_INFINITY;
  const a = n * variance * rho2 + 1;
  return Math.sqrt(((2 * a) / (n * n * rho2)) * Math.log(Math.sqrt(a) / alpha));
}

function checkAlpha(alpha: number, where: string): void {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`${where}: alpha must be in (0, 1), got ${alpha}`);
}

function checkPlan(plannedN: number, plannedSd: number, where: string): void {
  if (!(Number.isFinite(plannedN) && plannedN >= 1)) {
    throw new RangeError(`${where}: plannedN must be a finite number ≥ 1, got ${plannedN}`);
  }
  if (!(Number.isFinite(plannedSd) && plannedSd > 0)) {
    throw new RangeError(`${where}: plannedSd must be a finite number > 0, got ${plannedSd}`);
  }
}

/** Mixing precision ρ² = c(α) / (plannedN · plannedSd²). */
export function mixturePrecision(alpha: number, plannedN: number, plannedSd = 1): number {
  return mixtureConstant(alpha) / (plannedN * plannedSd * plannedSd);
}

/** What a ConfidenceSequence keeps: enough to resume it (service state) or export it. */
export interface ConfidenceSequenceState {
  alpha: number;
  plannedN: number;
  plannedSd: number;
  n: number;
  mean: number;
  /** Σ (x − mean)², Welford's running sum of squared deviations. */
  m2: number;
}

export interface ConfidenceSequenceOptions {
  /** P(the true mean ever leaves the interval); default 0.05. */
  alpha?: number;
  /** Sample size where the interval is to be tightest (it is valid at every n); default 10,000. */
  plannedN?: number;
  /** Standard deviation the plan assumes (only moves where it is tightest); default 1. */
  plannedSd?: number;
}

/**
 * Streaming always-valid (1 − α) confidence sequence for the mean of i.i.d. observations: the asymptotic
 * normal-mixture CS of Waudby-Smith et al. around the running mean, with the running (Welford) variance
 * and a fixed ρ from the plan. P(the mean ever leaves the interval) ≤ α asymptotically over every look:
 * it may be checked after each observation. O(1) memory; `add`, `radius` and `sign` allocate nothing.
 */
export class ConfidenceSequence {
  readonly alpha: number;
  readonly plannedN: number;
  readonly plannedSd: number;
  /** Mixing precision ρ² = c(α) / (plannedN · plannedSd²). */
  readonly rho2: number;
  private count = 0;
  private runningMean = 0;
  private m2 = 0;

  constructor(options: ConfidenceSequenceOptions = {}) {
    const alpha = options.alpha ?? 0.05;
    const plannedN = options.plannedN ?? 10_000;
    const plannedSd = options.plannedSd ?? 1;
    checkAlpha(alpha, "ConfidenceSequence");
    checkPlan(plannedN, plannedSd, "ConfidenceSequence");
    this.alpha = alpha;
    this.plannedN = plannedN;
    this.plannedSd = plannedSd;
    this.rho2 = mixturePrecision(alpha, plannedN, plannedSd);
  }

  /** One observation. */
  add(x: number): void {
    if (!Number.isFinite(x)) throw new RangeError(`ConfidenceSequence.add: need a finite number, got ${x}`);
    this.count++;
    const delta = x - this.runningMean;
    this.runningMean += delta / this.count;
    this.m2 += delta * (x - this.runningMean);
  }

  get n(): number {
    return this.count;
  }

  /** Running mean (NaN before the first observation). */
  get mean(): number {
    return this.count > 0 ? this.runningMean : Number.NaN;
  }

  /** Running variance Σ (x − mean)² / n (the paper's plug-in σ̂²; NaN before the first observation). */
  get variance(): number {
    return this.count > 0 ? Math.max(0, this.m2) / this.count : Number.NaN;
  }

  /** Half-width now: +∞ before 2 observations. */
  radius(): number {
    if (this.count < 2) return Number.POSITIVE_INFINITY;
    return confidenceSequenceRadius(this.count, this.variance, this.alpha, this.rho2);
  }

  /** The interval now; (−∞, +∞) before 2 observations. */
  interval(): Interval {
    const r = this.radius();
    const estimate = this.mean;
    if (r === Number.POSITIVE_INFINITY) {
      return { estimate, lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY };
    }
    return { estimate, lower: estimate - r, upper: estimate + r };
  }

  /** +1 when the whole interval is above 0, −1 when below, 0 otherwise. */
  sign(): -1 | 0 | 1 {
    const r = this.radius();
    if (r === Number.POSITIVE_INFINITY) return 0;
    if (this.runningMean - r > 0) return 1;
    if (this.runningMean + r < 0) return -1;
    return 0;
  }

  toJSON(): ConfidenceSequenceState {
    return {
      alpha: this.alpha,
      plannedN: this.plannedN,
      plannedSd: this.plannedSd,
      n: this.count,
      mean: this.runningMean,
      m2: this.m2,
    };
  }

  /** Resumes a sequence from `toJSON`'s state; throws a RangeError naming the bad field. */
  static fromJSON(state: ConfidenceSequenceState): ConfidenceSequence {
    if (state === null || typeof state !== "object") {
      throw new RangeError("ConfidenceSequence.fromJSON: the state is not an object");
    }
    const cs = new ConfidenceSequence(state);
    if (!(Number.isInteger(state.n) && state.n >= 0)) {
      throw new RangeError(`ConfidenceSequence.fromJSON: field "n" must be an integer ≥ 0, got ${state.n}`);
    }
    if (!Number.isFinite(state.mean)) {
      throw new RangeError(`ConfidenceSequence.fromJSON: field "mean" must be finite, got ${state.mean}`);
    }
    if (!(Number.isFinite(state.m2) && state.m2 >= 0)) {
      throw new RangeError(`ConfidenceSequence.fromJSON: field "m2" must be finite and ≥ 0, got ${state.m2}`);
    }
    cs.count = state.n;
    cs.runningMean = state.mean;
    cs.m2 = state.m2;
    return cs;
  }
}

/** Inputs of the sample-size calculators. */
export interface DetectionOptions {
  /** The true mean difference to detect (its sign does not matter). */
  effect: number;
  /** Standard deviation of one observation. */
  sd: number;
  /** Two-sided error rate; default 0.05. */
  alpha?: number;
  /** Probability of detecting the effect; default 0.8. */
  power?: number;
  /** The confidence sequence's plan (its ρ), as in ConfidenceSequenceOptions; defaults 10,000 and 1. */
  plannedN?: number;
  plannedSd?: number;
}

function detectionArgs(o: Omit<DetectionOptions, "effect"> & { effect: number }, where: string) {
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  const plannedN = o.plannedN ?? 10_000;
  const plannedSd = o.plannedSd ?? 1;
  checkAlpha(alpha, where);
  checkPlan(plannedN, plannedSd, where);
  if (!(power > 0 && power < 1)) throw new RangeError(`${where}: power must be in (0, 1), got ${power}`);
  if (!(Number.isFinite(o.sd) && o.sd > 0)) throw new RangeError(`${where}: sd must be > 0, got ${o.sd}`);
  if (!Number.isFinite(o.effect)) throw new RangeError(`${where}: effect must be finite, got ${o.effect}`);
  return {
    alpha,
    power,
    effect: Math.abs(o.effect),
    sd: o.sd,
    rho2: mixturePrecision(alpha, plannedN, plannedSd),
  };
}

/**
 * Observations a fixed-horizon two-sided z-test at level α needs to detect `effect` with `power`:
 * ⌈((z_{1−α/2} + z_{power}) σ / δ)²⌉ (rejections in the wrong tail ignored, as usual). +∞ for δ = 0.
 * Valid for one look at that n only.
 */
export function fixedHorizonListens(options: DetectionOptions): number {
  const { alpha, power, effect, sd } = detectionArgs(options, "fixedHorizonListens");
  if (effect === 0) return Number.POSITIVE_INFINITY;
  const z = normalQuantile(1 - alpha / 2) + normalQuantile(power);
  return Math.ceil(((z * sd) / effect) ** 2);
}

/**
 * Observations after which the confidence sequence excludes 0 with probability ≈ `power` when the true
 * mean is `effect`: the smallest n ≥ 2 with √n (δ − radius_n) / σ ≥ z_{power}, radius_n the CS half-width
 * at σ̂ = σ (the running mean at n then clears the radius with probability `power`), by doubling and
 * bisection. Conservative as a stopping time: the CS may already have excluded 0 at an earlier look.
 * +∞ for δ = 0.
 */
export function sequentialListens(options: DetectionOptions): number {
  const { alpha, power, effect, sd, rho2 } = detectionArgs(options, "sequentialListens");
  if (effect === 0) return Number.POSITIVE_INFINITY;
  const zPower = normalQuantile(power);
  const enough = (n: number) =>
    (Math.sqrt(n) * (effect - confidenceSequenceRadius(n, sd * sd, alpha, rho2))) / sd >= zPower;
  if (enough(2)) return 2;
  let lo = 2;
  let hi = 4;
  while (!enough(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > 2 ** 52) return Number.POSITIVE_INFINITY;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (enough(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The smallest effect detectable with `power` after `n` observations: the fixed-horizon z-test's
 * (z_{1−α/2} + z_{power}) σ / √n, and the confidence sequence's radius_n + z_{power} σ / √n.
 */
export function minimumDetectableEffect(options: Omit<DetectionOptions, "effect"> & { n: number }): {
  fixedHorizon: number;
  sequential: number;
} {
  const { alpha, power, sd, rho2 } = detectionArgs({ ...options, effect: 0 }, "minimumDetectableEffect");
  const n = options.n;
  if (!(n >= 2)) return { fixedHorizon: Number.POSITIVE_INFINITY, sequential: Number.POSITIVE_INFINITY };
  const zPower = normalQuantile(power);
  return {
    fixedHorizon: ((normalQuantile(1 - alpha / 2) + zPower) * sd) / Math.sqrt(n),
    sequential: confidenceSequenceRadius(n, sd * sd, alpha, rho2) + (zPower * sd) / Math.sqrt(n),
  };
}
