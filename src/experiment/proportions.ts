// Intervals and tests for binomial proportions: Wilson score interval, difference of two proportions
// (Newcombe's hybrid score interval and the Wald interval) and the pooled two-proportion z-test.
import { normalQuantile, normalSurvival } from "./normal.ts";

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}

export interface ProportionDifference {
  /** p1 − p2. */
  difference: number;
  /** Newcombe (1998) method 10: hybrid score interval built from the two Wilson intervals. */
  newcombe: { lower: number; upper: number };
  /** Wald interval with unpooled standard error; degenerate when a proportion is 0 or 1. */
  wald: { lower: number; upper: number };
  /** Pooled two-proportion z statistic and its two-sided p-value. */
  z: number;
  pValue: number;
}

const NAN_INTERVAL: Interval = { estimate: Number.NaN, lower: Number.NaN, upper: Number.NaN };

function checkCounts(successes: number, n: number, what: string): void {
  if (!Number.isFinite(successes) || !Number.isFinite(n) || successes < 0 || n < 0 || successes > n) {
    throw new RangeError(`${what}: need 0 ≤ successes ≤ n, got successes=${successes}, n=${n}`);
  }
}

/** Two-sided critical value z_{1−α/2} for a confidence level such as 0.95. */
export function criticalValue(confidence: number): number {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  return normalQuantile(1 - (1 - confidence) / 2);
}

/** Wilson score interval (no continuity correction) for successes / n; NaN when n = 0. */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): Interval {
  checkCounts(successes, n, "wilsonInterval");
  if (n === 0) return { ...NAN_INTERVAL };
  const z = criticalValue(confidence);
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return { estimate: p, lower: Math.max(0, centre - halfWidth), upper: Math.min(1, centre + halfWidth) };
}

/**
 * Pooled two-proportion z-test of H0: p1 = p2 (two-sided). When both samples are all successes or all
 * failures the statistic is undefined and NaN is returned for z and the p-value.
 */
export function twoProportionZTest(
  successes1: number,
  n1: number,
  successes2: number,
  n2: number,
): { z: number; pValue: number } {
  checkCounts(successes1, n1, "twoProportionZTest (first sample)");
  checkCounts(successes2, n2, "twoProportionZTest (second sample)");
  if (n1 === 0 || n2 === 0) return { z: Number.NaN, pValue: Number.NaN };
  const pooled = (successes1 + successes2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { z: Number.NaN, pValue: Number.NaN };
  const z = (successes1 / n1 - successes2 / n2) / se;
  return { z, pValue: Math.min(1, 2 * normalSurvival(Math.abs(z))) };
}

/** Difference p1 − p2 with Newcombe and Wald intervals and the pooled z-test. */
export function proportionDifference(
  successes1: number,
  n1: number,
  successes2: number,
  n2: number,
  confidence = 0.95,
): ProportionDifference {
  const test = twoProportionZTest(successes1, n1, successes2, n2);
  if (n1 === 0 || n2 === 0) {
    const nan = { lower: Number.NaN, upper: Number.NaN };
    return { difference: Number.NaN, newcombe: nan, wald: { ...nan }, ...test };
  }
  const p1 = successes1 / n1;
  const p2 = successes2 / n2;
  const difference = p1 - p2;
  const w1 = wilsonInterval(successes1, n1, confidence);
  const w2 = wilsonInterval(successes2, n2, confidence);
  const newcombe = {
    lower: difference - Math.sqrt((p1 - w1.lower) ** 2 + (w2.upper - p2) ** 2),
    upper: difference + Math.sqrt((w1.upper - p1) ** 2 + (p2 - w2.lower) ** 2),
  };
  const z = criticalValue(confidence);
  const seWald = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const wald = { lower: difference - z * seWald, upper: difference + z * seWald };
  return { difference, newcombe, wald, ...test };
}
