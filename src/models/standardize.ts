import type { Matrix } from "./types.ts";
import { jsonFiniteArray, jsonObject } from "./validate.ts";

/**
 * Column standardisation with mean imputation, owned by the linear models so that callers hand them
 * the raw feature matrix: z = (x − mean) / std, and a missing value (NaN) becomes the training mean (z = 0).
 * Constant columns keep scale 1. Disabled, columns are used as they are (only NaN → mean), so the
 * intercept is regularised exactly as in liblinear.
 */
export interface Standardizer {
  /** Training mean per column: the value a NaN is replaced with. */
  mean: Float64Array;
  /** Subtracted before scaling: the mean when standardising, 0 when not. */
  shift: Float64Array;
  /** 1 / std per column (1 when not standardising). */
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
  if (!enabled) return { mean, shift: new Float64Array(cols), invScale };
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
  return { mean, shift: Float64Array.from(mean), invScale };
}

/** Standardised, imputed copy of X (row-major Float32Array, same shape). */
export function standardizedCopy(X: Matrix, s: Standardizer): Float32Array {
  const { rows, cols, data } = X;
  const z = new Float32Array(rows * cols);
  const { mean, shift, invScale } = s;
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const x = data[base + j];
      z[base + j] = ((Number.isNaN(x) ? mean[j] : x) - shift[j]) * invScale[j];
    }
  }
  return z;
}

/** Coefficients with the bias appended (the solvers' layout: the constant feature last). */
export function withBias(weights: Float64Array, bias: number): Float64Array {
  const out = new Float64Array(weights.length + 1);
  out.set(weights);
  out[weights.length] = bias;
  return out;
}

/** b + Σ w_j z_j for one raw row, standardising on the fly (NaN → training mean). */
export function linearMargin(
  row: ArrayLike<number>,
  offset: number,
  s: Standardizer,
  weights: Float64Array,
  bias: number,
): number {
  const { mean, shift, invScale } = s;
  let m = bias;
  for (let j = 0; j < weights.length; j++) {
    const x = row[offset + j];
    m += weights[j] * ((Number.isNaN(x) ? mean[j] : x) - shift[j]) * invScale[j];
  }
  return m;
}

export function standardizerToJSON(s: Standardizer): { mean: number[]; shift: number[]; invScale: number[] } {
  return { mean: Array.from(s.mean), shift: Array.from(s.shift), invScale: Array.from(s.invScale) };
}

/** Refuses (naming `kind` and the field) arrays that are missing, of another length than `cols`, or not finite. */
export function standardizerFromJSON(json: unknown, kind = "standardizer", cols?: number): Standardizer {
  const o = jsonObject(kind, "state.scaler", json);
  return {
    mean: Float64Array.from(jsonFiniteArray(kind, "state.scaler.mean", o.mean, cols)),
    shift: Float64Array.from(jsonFiniteArray(kind, "state.scaler.shift", o.shift, cols)),
    invScale: Float64Array.from(jsonFiniteArray(kind, "state.scaler.invScale", o.invScale, cols)),
  };
}

/** `linearMargin` for every row of X, written to `out`. */
export function linearMargins(
  X: Matrix,
  s: Standardizer,
  weights: Float64Array,
  bias: number,
  out: Float64Array,
): Float64Array {
  for (let i = 0; i < X.rows; i++) out[i] = linearMargin(X.data, i * X.cols, s, weights, bias);
  return out;
}
