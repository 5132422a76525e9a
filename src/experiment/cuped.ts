// CUPED (Deng et al. 2013): Y_adj = Y − θ (X − mean X), θ = cov(Y, X) / var(X), with X a covariate
// measured before the experiment, so the adjustment removes variance without biasing the difference.

export interface CupedFit {
  theta: number;
  covariateMean: number;
}

export interface MeanSummary {
  n: number;
  mean: number;
  /** Sample variance (n − 1 denominator). */
  variance: number;
  standardError: number;
}

export function summarise(values: ArrayLike<number>): MeanSummary {
  const n = values.length;
  if (n === 0) return { n, mean: Number.NaN, variance: Number.NaN, standardError: Number.NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i] - mean) ** 2;
  const variance = n > 1 ? squares / (n - 1) : Number.NaN;
  return { n, mean, variance, standardError: Math.sqrt(variance / n) };
}

/** θ = cov(Y, X) / var(X) over paired samples; θ = 0 when X has no variance. */
export function cupedTheta(y: ArrayLike<number>, x: ArrayLike<number>): CupedFit {
  if (y.length !== x.length)
    throw new RangeError(`cupedTheta: ${y.length} outcomes but ${x.length} covariates`);
  const n = y.length;
  if (n === 0) return { theta: 0, covariateMean: Number.NaN };
  let meanY = 0;
  let meanX = 0;
  for (let i = 0; i < n; i++) {
    meanY += y[i];
    meanX += x[i];
  }
  meanY /= n;
  meanX /= n;
  let covariance = 0;
  let varianceX = 0;
  for (let i = 0; i < n; i++) {
    covariance += (y[i] - meanY) * (x[i] - meanX);
    varianceX += (x[i] - meanX) ** 2;
  }
  return { theta: varianceX > 0 ? covariance / varianceX : 0, covariateMean: meanX };
}

/** Y_adj_i = Y_i − θ (X_i − mean X). */
export function cupedAdjust(y: ArrayLike<number>, x: ArrayLike<number>, fit: CupedFit): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = y[i] - fit.theta * (x[i] - fit.covariateMean);
  return out;
}
