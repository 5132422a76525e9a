// Sample-ratio mismatch: chi-square goodness-of-fit of the observed units per variant against the
// configured weights. A tiny p-value means the assignment or the logging is broken, not that a variant won.
import { chiSquareSurvival } from "../base/statistics.ts";

export interface SrmResult {
  observed: number[];
  expected: number[];
  chiSquare: number;
  df: number;
  pValue: number;
  /** The alarm threshold the result was judged against (default 0.001). */
  alpha: number;
  alarm: boolean;
}

export function sampleRatioMismatch(
  observed: readonly number[],
  weights: readonly number[],
  alpha = 0.001,
): SrmResult {
  if (observed.length !== weights.length) {
    throw new RangeError(
      `sampleRatioMismatch: ${observed.length} observed counts but ${weights.length} weights`,
    );
  }
  if (observed.length < 2) throw new RangeError("sampleRatioMismatch: need at least two variants");
  for (const [i, w] of weights.entries()) {
    if (!(w > 0) || !Number.isFinite(w))
      throw new RangeError(`sampleRatioMismatch: weight ${i} must be > 0, got ${w}`);
  }
  for (const [i, o] of observed.entries()) {
    if (!(o >= 0) || !Number.isFinite(o))
      throw new RangeError(`sampleRatioMismatch: count ${i} must be ≥ 0, got ${o}`);
  }
  const total = observed.reduce((a, b) => a + b, 0);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const expected = weights.map((w) => (total * w) / weightSum);
  const df = observed.length - 1;
  if (total === 0) {
    return { observed: [...observed], expected, chiSquare: 0, df, pValue: 1, alpha, alarm: false };
  }
  let chiSquare = 0;
  for (let i = 0; i < observed.length; i++) chiSquare += (observed[i] - expected[i]) ** 2 / expected[i];
  const pValue = chiSquareSurvival(chiSquare, df);
  return { observed: [...observed], expected, chiSquare, df, pValue, alpha, alarm: pValue < alpha };
}
