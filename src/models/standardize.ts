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
  const out = new Float32Array(X.rows * X.cols);
  for (let i = 0; i < X.rows; i++) standardizeRow(X, s, i, out, i * X.cols);
  return out;
}

/** Standardised copies of the listed rows, in list order (row-major, count × cols). */
export function standardizedRows(X: Matrix, s: Standardizer, rows: Int32Array, count: number): Float32Array {
  const out = new Float32Array(count * X.cols);
  for (let k = 0; k < count; k++) standardizeRow(X, s, rows[k], out, k * X.cols);
  return out;
}

/** Row i of X, standardised and imputed, into out[at..at + cols). */
function standardizeRow(X: Matrix, s: Standardizer, i: number, out: Float32Array, at: number): void {
  const { cols, data } = X;
  const { mean, shift, invScale } = s;
  const base = i * cols;
  for (let j = 0; j < cols; j++) {
    const x = data[base + j];
    out[at + j] = ((Number.isNaN(x) ? mean[j] : x) - shift[j]) * invScale[j];
  }
}

/**
 * Passes over the standardised rows z(x) = (x̃ − shift)·invScale (x̃ = x, or the training mean for NaN) that
 * read the raw matrix, with the standardisation folded into the coefficients: vᵀz(x) = b′ + Σⱼ v′ⱼ x̃ⱼ,
 * and Σᵢ aᵢ z(xᵢ) = invScale·(Σᵢ aᵢ x̃ᵢ − shift·Σᵢ aᵢ). No standardised copy (0.5 GB per fit on a
 * production delivery), and each element costs one multiply-add, not a standardisation as well.
 */
export class StandardizedView {
  private readonly folded: Float64Array;
  private readonly sums: Float64Array;

  constructor(
    private readonly X: Matrix,
    private readonly s: Standardizer,
  ) {
    this.folded = new Float64Array(X.cols);
    this.sums = new Float64Array(X.cols);
  }

  /**
   * For every row i in order: m = vᵀz̃ᵢ (z̃ = z with a trailing 1; m = 0 when v is null), then
   * a = row(i, m), and into += a·z̃ᵢ (when into is given).
   */
  sweep(v: Float64Array | null, row: (i: number, m: number) => number, into: Float64Array | null): void {
    const { rows, cols, data } = this.X;
    const { mean, shift, invScale } = this.s;
    const folded = this.folded;
    const sums = this.sums;
    let bias = 0;
    if (v !== null) {
      bias = v[cols];
      for (let j = 0; j < cols; j++) {
        folded[j] = v[j] * invScale[j];
        bias -= folded[j] * shift[j];
      }
    } else folded.fill(0);
    sums.fill(0);
    let total = 0;
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      let m = bias;
      if (v !== null) {
        for (let j = 0; j < cols; j++) {
          const x = data[base + j];
          m += folded[j] * (Number.isNaN(x) ? mean[j] : x);
        }
      }
      const a = row(i, m);
      if (into === null || a === 0) continue;
      total += a;
      for (let j = 0; j < cols; j++) {
        const x = data[base + j];
        sums[j] += a * (Number.isNaN(x) ? mean[j] : x);
      }
    }
    if (into === null) return;
    for (let j = 0; j < cols; j++) into[j] += invScale[j] * (sums[j] - shift[j] * total);
    into[cols] += total;
  }
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
