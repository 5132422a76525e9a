import type { Matrix } from "./types.ts";

/**
 * Column standardisation with mean imputation, owned by the linear models so that callers hand them
 * the raw feature matrix: z = (x − mean) / std, and a missing value (NaN) becomes 0 = the training mean.
 * Constant columns keep scale 1.
 */
export interface Standardizer {
  mean: Float64Array;
  /** 1 / std per column. */
  invScale: Float64Array;
}

export function fitStandardizer(X: Matrix, enabled: boolean): Standardizer {
  const { rows, cols, data } = X;
  const mean = new Float64Array(cols);
  const invScale = new Float64Array(cols).fill(1);
  const count = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const x = data[base + j];
      if (!Number.isNaN(x)) {
        mean[j] += x;
        count[j]++;
      }
    }
  }
  for (let j = 0; j < cols; j++) mean[j] = count[j] > 0 ? mean[j] / count[j] : 0;
  if (!enabled) return { mean, invScale };
  const sq = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const x = data[base + j];
      if (!Number.isNaN(x)) {
        const d = x - mean[j];
        sq[j] += d * d;
      }
    }
  }
  for (let j = 0; j < cols; j++) {
    const sd = count[j] > 0 ? Math.sqrt(sq[j] / count[j]) : 0;
    invScale[j] = sd > 1e-12 ? 1 / sd : 1;
  }
  return { mean, invScale };
}

/** Standardised, imputed copy of X (row-major Float32Array, same shape). */
export function standardizedCopy(X: Matrix, s: Standardizer): Float32Array {
  const { rows, cols, data } = X;
  const z = new Float32Array(rows * cols);
  const { mean, invScale } = s;
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const x = data[base + j];
      z[base + j] = !Number.isNaN(x) ? (x - mean[j]) * invScale[j] : 0;
    }
  }
  return z;
}

/** b + Σ w_j z_j for one raw row, standardising on the fly (NaN → mean → contributes 0). */
export function linearMargin(
  row: ArrayLike<number>,
  offset: number,
  s: Standardizer,
  weights: Float64Array,
  bias: number,
): number {
  const { mean, invScale } = s;
  let m = bias;
  for (let j = 0; j < weights.length; j++) {
    const x = row[offset + j];
    if (!Number.isNaN(x)) m += weights[j] * (x - mean[j]) * invScale[j];
  }
  return m;
}

export function standardizerToJSON(s: Standardizer): { mean: number[]; invScale: number[] } {
  return { mean: Array.from(s.mean), invScale: Array.from(s.invScale) };
}

export function standardizerFromJSON(json: unknown): Standardizer {
  const o = json as { mean: number[]; invScale: number[] };
  return { mean: Float64Array.from(o.mean), invScale: Float64Array.from(o.invScale) };
}
