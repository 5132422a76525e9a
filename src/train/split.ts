// Honest evaluation splits: by time, never at random. Every listen of the validation part starts no
// earlier than every training listen, and every test listen no earlier than every validation listen.
import type { Matrix } from "../models/types.ts";

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

export const DEFAULT_SPLIT: SplitFractions = Object.freeze({ train: 0.7, validation: 0.1, test: 0.2 });

export interface TimeSplit {
  /** Row indices of each part, ascending. */
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
  /** First start time of the validation / test part (NaN when the part is empty). */
  validationStartMs: number;
  testStartMs: number;
}

/**
 * Splits rows by time quantiles: test = the last `test` share of rows by start time, validation the
 * share before it. Rows at a cut's exact time all go to the later part, so parts never share a
 * timestamp (their sizes may then differ slightly from the fractions).
 */
export function timeSplit(startMs: Float64Array, fractions: SplitFractions = DEFAULT_SPLIT): TimeSplit {
  const { train, validation, test } = fractions;
  for (const [name, value] of Object.entries(fractions)) {
    if (!(value >= 0 && value <= 1))
      throw new Error(`split fraction "${name}" must be within [0, 1], got ${value}`);
  }
  if (Math.abs(train + validation + test - 1) > 1e-9) {
    throw new Error(`split fractions must sum to 1, got ${train} + ${validation} + ${test}`);
  }
  const n = startMs.length;
  const sorted = Float64Array.from(startMs).sort();
  const testCount = Math.round(n * test);
  const validationCount = Math.round(n * validation);
  const testStart = testCount === 0 ? Number.POSITIVE_INFINITY : sorted[n - testCount];
  const validationFirst = Math.max(0, n - testCount - validationCount);
  const validationStart = validationCount === 0 || validationFirst >= n ? testStart : sorted[validationFirst];
  const [trainRows, validationRows, testRows] = splitAtTimes(startMs, [validationStart, testStart]);
  return {
    train: trainRows,
    validation: validationRows,
    test: testRows,
    validationStartMs: validationRows.length > 0 ? validationStart : Number.NaN,
    testStartMs: testRows.length > 0 ? testStart : Number.NaN,
  };
}

/**
 * Rows cut at ascending times: part k holds rows with cuts[k-1] <= start < cuts[k]
 * (part 0 everything before cuts[0], the last part everything from the last cut on).
 */
export function splitAtTimes(startMs: Float64Array, cuts: readonly number[]): Int32Array[] {
  for (let k = 1; k < cuts.length; k++) {
    if (!(cuts[k] >= cuts[k - 1]))
      throw new Error(`cut times must be ascending: ${cuts[k - 1]} then ${cuts[k]}`);
  }
  const part = new Uint32Array(startMs.length);
  const counts = new Int32Array(cuts.length + 1);
  for (let i = 0; i < startMs.length; i++) {
    const t = startMs[i];
    let k = 0;
    while (k < cuts.length && t >= cuts[k]) k++;
    part[i] = k;
    counts[k]++;
  }
  const parts = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(cuts.length + 1);
  for (let i = 0; i < startMs.length; i++) parts[part[i]][fill[part[i]]++] = i;
  return parts;
}

/**
 * The given rows of a matrix: a view sharing X's memory when they are one ascending run (time splits of
 * rows in time order always are), else a copy in the given order. Callers must not write into it.
 */
export function rowsOf(X: Matrix, rows: Int32Array): Matrix {
  const first = rows.length > 0 ? rows[0] : 0;
  for (let k = 1; k < rows.length; k++) if (rows[k] !== first + k) return selectRows(X, rows);
  return {
    rows: rows.length,
    cols: X.cols,
    data: X.data.subarray(first * X.cols, (first + rows.length) * X.cols),
  };
}

/** The given rows of a matrix, in the given order. */
export function selectRows(X: Matrix, rows: Int32Array): Matrix {
  const data = new Float32Array(rows.length * X.cols);
  for (let r = 0; r < rows.length; r++) {
    const from = rows[r] * X.cols;
    data.set(X.data.subarray(from, from + X.cols), r * X.cols);
  }
  return { rows: rows.length, cols: X.cols, data };
}

type Column = Uint8Array | Int32Array | Float64Array | Float32Array;

/** The given entries of a column, in the given order. */
export function selectValues<T extends Column>(values: T, rows: Int32Array): T {
  const out = new (values.constructor as new (n: number) => T)(rows.length);
  for (let r = 0; r < rows.length; r++) out[r] = values[rows[r]];
  return out;
}
