// Comparing two binomial proportions: the difference with Newcombe's hybrid score interval (built from
// the two Wilson intervals of src/base/statistics.ts) and the Wald interval, and the pooled z-test.
import { checkProportionCounts, normalInterval, normalSurvival, wilsonInterval } from "../base/statistics.ts";

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
  checkProportionCounts(successes1, n1, "twoProportionZTest (first sample)");
  checkProportionCounts(successes2, n2, "twoProportionZTest (second sample)");
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
  const seWald = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const { lower, upper } = normalInterval(difference, seWald, confidence);
  const wald = { lower, upper };
  return { difference, newcombe, wald, ...test };
}
