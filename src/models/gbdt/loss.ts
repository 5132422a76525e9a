// The logistic loss's gradients and hessians, in fixed point. Each value is rounded to a multiple of a power
// of two chosen so that it is a float32 of at most 24 significant bits (|m| ≤ 2^23 units of 2^−k). A float64
// then adds up to 2^30 of them without rounding, so every histogram bin, node total and parent − child
// difference is exact: the same bits whatever order the rows are added in and however the threads split
// them. The rounding is ~1e−7 of the largest gradient, the precision float32 storage already had.

/** The fixed-point units 2^k of the gradients and of the hessians. */
export interface GradientScales {
  g: number;
  h: number;
}

/** Rows up to which sums of fixed-point gradients are exact in float64 (2^30 · 2^23 = 2^53). */
export const EXACT_SUM_ROWS = 2 ** 30;

/** 2^k with maxAbs · 2^k ≤ 2^23 (1 for maxAbs 0). */
export function fixedPointScale(maxAbs: number): number {
  if (!(maxAbs > 0) || !Number.isFinite(maxAbs)) return 1;
  return 2 ** (23 - Math.ceil(Math.log2(maxAbs)));
}

/** Units for the logistic loss: |g| ≤ w and h ≤ w / 4 for row weight w. */
export function gradientScales(weights: Float64Array | null): GradientScales {
  let wmax = 1;
  if (weights !== null) {
    wmax = 0;
    for (let i = 0; i < weights.length; i++) if (weights[i] > wmax) wmax = weights[i];
  }
  return { g: fixedPointScale(wmax), h: fixedPointScale(wmax / 4) };
}

/**
 * Gradient and hessian of the logistic loss at the raw scores for rows [from, to), in fixed point. A row of
 * positive weight keeps a hessian of at least one unit. 1 / (1 + e^−z) needs no branch: it is 0 or 1 (not
 * NaN) when e^−z overflows or underflows.
 */
export function logisticGradients(
  raw: Float64Array,
  y: Uint8Array,
  weights: Float64Array | null,
  grad: Float32Array,
  hess: Float32Array,
  from: number,
  to: number,
  scales: GradientScales,
): void {
  const sg = scales.g;
  const sh = scales.h;
  const ig = 1 / sg;
  const ih = 1 / sh;
  if (weights === null) {
    for (let i = from; i < to; i++) {
      const p = 1 / (1 + Math.exp(-raw[i]));
      grad[i] = Math.round((p - y[i]) * sg) * ig;
      hess[i] = Math.max(Math.round(p * (1 - p) * sh), 1) * ih;
    }
  } else {
    for (let i = from; i < to; i++) {
      const p = 1 / (1 + Math.exp(-raw[i]));
      const w = weights[i];
      grad[i] = Math.round(w * (p - y[i]) * sg) * ig;
      hess[i] = w > 0 ? Math.max(Math.round(w * p * (1 - p) * sh), 1) * ih : 0;
    }
  }
}
