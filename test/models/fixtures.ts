import { Rng } from "../../src/models/random.ts";
import type { Matrix } from "../../src/models/types.ts";

export function matrix(rows: readonly (readonly number[])[]): Matrix {
  const cols = rows.length > 0 ? rows[0].length : 0;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => {
    data.set(r, i * cols);
  });
  return { rows: rows.length, cols, data };
}

export interface Dataset {
  X: Matrix;
  y: Uint8Array;
}

/** Two gaussian columns; y = 1 when x0 + 2·x1 > 0.3, rows within `margin` of the boundary dropped. */
export function separable(n: number, seed: number, margin = 0.1): Dataset {
  const rng = new Rng(seed);
  const data = new Float32Array(n * 2);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; ) {
    const a = rng.normal();
    const b = rng.normal();
    const s = a + 2 * b - 0.3;
    if (Math.abs(s) < margin) continue;
    data[2 * i] = a;
    data[2 * i + 1] = b;
    y[i] = s > 0 ? 1 : 0;
    i++;
  }
  return { X: { rows: n, cols: 2, data }, y };
}

/** y drawn from a logistic model with the given intercept and weights on gaussian columns of given scales. */
export function logisticData(
  n: number,
  seed: number,
  intercept: number,
  weights: readonly number[],
  scales: readonly number[],
  shifts: readonly number[],
): Dataset & { p: Float64Array } {
  const rng = new Rng(seed);
  const d = weights.length;
  const data = new Float32Array(n * d);
  const y = new Uint8Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = intercept;
    for (let j = 0; j < d; j++) {
      const x = Math.fround(shifts[j] + scales[j] * rng.normal());
      data[i * d + j] = x;
      m += weights[j] * x;
    }
    p[i] = 1 / (1 + Math.exp(-m));
    y[i] = rng.next() < p[i] ? 1 : 0;
  }
  return { X: { rows: n, cols: d, data }, y, p };
}

/** XOR of the signs of two uniform columns, plus one noise column: no linear signal at all. */
export function xor(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const data = new Float32Array(n * 3);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.next() * 2 - 1;
    const b = rng.next() * 2 - 1;
    data[3 * i] = a;
    data[3 * i + 1] = b;
    data[3 * i + 2] = rng.next();
    y[i] = a > 0 !== b > 0 ? 1 : 0;
  }
  return { X: { rows: n, cols: 3, data }, y };
}

export function accuracy(p: Float64Array, y: Uint8Array, threshold = 0.5): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) ok += (p[i] >= threshold ? 1 : 0) === y[i] ? 1 : 0;
  return ok / y.length;
}

/** ROC AUC by the rank-sum formula (ties get half credit). */
export function auc(score: ArrayLike<number>, y: Uint8Array): number {
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && score[idx[j + 1]] === score[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[idx[k]] === 1) {
        rankSum += rank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = y.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** Imbalanced data: about 10 % positives, shifted on column 0. */
export function imbalanced(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const data = new Float32Array(n * 2);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.1 ? 1 : 0;
    data[2 * i] = rng.normal() + (y[i] === 1 ? 1 : 0);
    data[2 * i + 1] = rng.normal();
  }
  return { X: { rows: n, cols: 2, data }, y };
}

/** Column names of `ruleColumnsData`: the baselines read genre_match and session_prev_skipped. */
export const RULE_COLUMN_NAMES = ["a", "genre_match", "session_prev_skipped", "b"];

/**
 * 600 rows every model kind can fit: a logistic signal, genre_match and session_prev_skipped as 0/1 flags
 * (the latter missing on every 10th row), and column b missing on every 9th row.
 */
export function ruleColumnsData(seed: number): Dataset {
  const { X, y } = logisticData(600, seed, 0, [1, 0.5, 0.8, -1], [1, 1, 1, 1], [0, 0, 0, 0]);
  for (let i = 0; i < X.rows; i++) {
    X.data[i * 4 + 1] = X.data[i * 4 + 1] > 0 ? 1 : 0;
    X.data[i * 4 + 2] = i % 10 === 0 ? Number.NaN : X.data[i * 4 + 2] > 0 ? 1 : 0;
    if (i % 9 === 0) X.data[i * 4 + 3] = Number.NaN;
  }
  return { X, y };
}
