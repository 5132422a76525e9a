// Permutation importance for any Model: how much ROC AUC drops when one column's values are shuffled
// across rows (breaking its link to the label while keeping its distribution). Works on a fixed
// random row sample so it stays cheap on large test sets; deterministic for a given seed.
import type { Matrix, Model } from "../models/types.ts";
import { rocAuc } from "./metrics.ts";

export interface PermutationImportance {
  names: string[];
  /** Mean drop in ROC AUC over the repeats (positive = the model relies on the feature). */
  mean: Float64Array;
  /** Standard deviation of the drop over the repeats (population, as scikit-learn). */
  std: Float64Array;
  /** ROC AUC on the unshuffled sample. */
  baseline: number;
  rowsUsed: number;
  repeats: number;
  seed: number;
}

export interface PermutationOptions {
  featureNames?: readonly string[];
  repeats?: number;
  seed?: number;
  /** Rows drawn (without replacement) from X; all rows when X has fewer. Default 20 000. */
  maxRows?: number;
  onProgress?: (done: number, total: number) => void;
}

/** mulberry32: small, fast, good enough for shuffles. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffleInPlace(values: Uint32Array, random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = values[i];
    values[i] = values[j];
    values[j] = tmp;
  }
}

/** Copies `rows` (indices into X) into a new matrix, in that order. */
function takeRows(X: Matrix, rows: Uint32Array): Matrix {
  const data = new Float32Array(rows.length * X.cols);
  for (let k = 0; k < rows.length; k++) {
    data.set(X.data.subarray(rows[k] * X.cols, (rows[k] + 1) * X.cols), k * X.cols);
  }
  return { rows: rows.length, cols: X.cols, data };
}

export function permutationImportance(
  model: Model,
  X: Matrix,
  y: Uint8Array,
  options: PermutationOptions = {},
): PermutationImportance {
  if (X.rows !== y.length)
    throw new RangeError(`permutationImportance: X has ${X.rows} rows but y has ${y.length}`);
  if (X.data.length !== X.rows * X.cols) {
    throw new RangeError(
      `permutationImportance: X.data has ${X.data.length} values, expected ${X.rows * X.cols}`,
    );
  }
  const names = options.featureNames
    ? [...options.featureNames]
    : Array.from({ length: X.cols }, (_, c) => `f${c}`);
  if (names.length !== X.cols) {
    throw new RangeError(`permutationImportance: ${names.length} feature names for ${X.cols} columns`);
  }
  const repeats = options.repeats ?? 5;
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new RangeError("permutationImportance: repeats must be >= 1");
  const seed = options.seed ?? 42;
  const random = mulberry32(seed);

  const all = new Uint32Array(X.rows);
  for (let i = 0; i < X.rows; i++) all[i] = i;
  const take = Math.min(X.rows, options.maxRows ?? 20_000);
  if (take < X.rows) {
    // Partial Fisher–Yates: the first `take` slots become a uniform sample without replacement.
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(random() * (X.rows - i));
      const tmp = all[i];
      all[i] = all[j];
      all[j] = tmp;
    }
  }
  const rows = all.slice(0, take).sort();
  const sample = takeRows(X, rows);
  const ySample = new Uint8Array(take);
  for (let k = 0; k < take; k++) ySample[k] = y[rows[k]];

  const scores = new Float64Array(take);
  const baseline = rocAuc(ySample, model.predictProba(sample, scores));
  const mean = new Float64Array(X.cols);
  const std = new Float64Array(X.cols);
  const original = new Float32Array(take);
  const order = new Uint32Array(take);
  const drops = new Float64Array(repeats);
  const total = X.cols * repeats;
  for (let c = 0; c < X.cols; c++) {
    for (let k = 0; k < take; k++) original[k] = sample.data[k * X.cols + c];
    for (let r = 0; r < repeats; r++) {
      for (let k = 0; k < take; k++) order[k] = k;
      shuffleInPlace(order, random);
      for (let k = 0; k < take; k++) sample.data[k * X.cols + c] = original[order[k]];
      drops[r] = baseline - rocAuc(ySample, model.predictProba(sample, scores));
      options.onProgress?.(c * repeats + r + 1, total);
    }
    for (let k = 0; k < take; k++) sample.data[k * X.cols + c] = original[k];
    let m = 0;
    for (let r = 0; r < repeats; r++) m += drops[r];
    m /= repeats;
    let v = 0;
    for (let r = 0; r < repeats; r++) v += (drops[r] - m) ** 2;
    mean[c] = m;
    std[c] = Math.sqrt(v / repeats);
  }
  return { names, mean, std, baseline, rowsUsed: take, repeats, seed };
}
