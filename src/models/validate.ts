import type { ClassWeight, FitOptions, Matrix } from "./types.ts";

/** Thrown for inputs a model cannot use: the message names the model, the argument and the problem. */
export class ModelInputError extends Error {
  override name = "ModelInputError";
}

/**
 * Thrown when a model is used before `fit` (scikit-learn's NotFittedError): predicting, scoring, saving
 * (`toJSON`) or reading what was learned. The message names the model and the call.
 */
export class NotFittedError extends Error {
  override name = "NotFittedError";
  constructor(kind: string, method: string) {
    super(`${kind}: ${method} called before fit`);
  }
}

/** Throws NotFittedError unless `fitted`. */
export function checkFitted(kind: string, fitted: boolean, method: string): void {
  if (!fitted) throw new NotFittedError(kind, method);
}

export function checkMatrix(kind: string, what: string, X: Matrix): void {
  if (X === null || typeof X !== "object" || !(X.data instanceof Float32Array)) {
    throw new ModelInputError(`${kind}: ${what} must be a Matrix { rows, cols, data: Float32Array }`);
  }
  if (!Number.isInteger(X.rows) || !Number.isInteger(X.cols) || X.rows < 0 || X.cols < 0) {
    throw new ModelInputError(`${kind}: ${what} has invalid shape ${X.rows}×${X.cols}`);
  }
  if (X.data.length !== X.rows * X.cols) {
    throw new ModelInputError(
      `${kind}: ${what}.data has ${X.data.length} values but rows×cols = ${X.rows}×${X.cols} = ${X.rows * X.cols}`,
    );
  }
}

/**
 * Validates fit inputs: a non-empty matrix, one 0/1 label per row, sample weights finite and ≥ 0.
 * `needBothClasses` is set by learners that cannot fit a single-class problem.
 */
export function checkFitInputs(
  kind: string,
  X: Matrix,
  y: Uint8Array,
  options: FitOptions | undefined,
  needBothClasses: boolean,
): void {
  checkMatrix(kind, "X", X);
  if (X.rows === 0) throw new ModelInputError(`${kind}: cannot fit on an empty matrix (0 rows)`);
  if (X.cols === 0) throw new ModelInputError(`${kind}: cannot fit on a matrix with 0 columns`);
  if (y === null || y === undefined || typeof y.length !== "number") {
    throw new ModelInputError(`${kind}: y must be a Uint8Array of 0/1 labels`);
  }
  if (y.length !== X.rows) {
    throw new ModelInputError(`${kind}: y has ${y.length} labels but X has ${X.rows} rows`);
  }
  let positives = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) {
      throw new ModelInputError(
        `${kind}: label y[${i}] is ${Number.isNaN(v) ? "NaN" : v}; labels must be 0 or 1`,
      );
    }
    positives += v;
  }
  if (needBothClasses && (positives === 0 || positives === y.length)) {
    throw new ModelInputError(
      `${kind}: y contains only class ${positives === 0 ? 0 : 1}; both classes (0 = played, 1 = skipped) are needed`,
    );
  }
  const w = options?.sampleWeight;
  if (w !== undefined) {
    if (w.length !== X.rows) {
      throw new ModelInputError(`${kind}: sampleWeight has ${w.length} values but X has ${X.rows} rows`);
    }
    let total = 0;
    for (let i = 0; i < w.length; i++) {
      if (!(w[i] >= 0) || !Number.isFinite(w[i])) {
        throw new ModelInputError(`${kind}: sampleWeight[${i}] is ${w[i]}; weights must be finite and ≥ 0`);
      }
      total += w[i];
    }
    if (total === 0) throw new ModelInputError(`${kind}: sampleWeight sums to 0`);
  }
  const v = options?.validation;
  if (v !== undefined) {
    checkMatrix(kind, "validation.X", v.X);
    if (v.X.cols !== X.cols) {
      throw new ModelInputError(`${kind}: validation.X has ${v.X.cols} columns but X has ${X.cols}`);
    }
    if (v.y.length !== v.X.rows) {
      throw new ModelInputError(
        `${kind}: validation.y has ${v.y.length} labels but validation.X has ${v.X.rows} rows`,
      );
    }
    for (let i = 0; i < v.y.length; i++) {
      if (v.y[i] !== 0 && v.y[i] !== 1) {
        throw new ModelInputError(`${kind}: validation label y[${i}] is ${v.y[i]}; labels must be 0 or 1`);
      }
    }
  }
}

export function checkPredictInput(kind: string, X: Matrix, fittedCols: number): void {
  if (fittedCols < 0) throw new NotFittedError(kind, "predict");
  checkMatrix(kind, "X", X);
  if (X.cols !== fittedCols) {
    throw new ModelInputError(`${kind}: X has ${X.cols} columns but the model was fitted on ${fittedCols}`);
  }
}

export function outputBuffer(rows: number, out?: Float64Array): Float64Array {
  if (out === undefined) return new Float64Array(rows);
  if (out.length < rows) throw new ModelInputError(`output buffer has ${out.length} slots for ${rows} rows`);
  return out;
}

/**
 * Per-row weights combining sample weights and class weights; `null` when every weight is 1.
 * "balanced" gives class c the weight n / (2 · n_c) computed on the sample-weighted counts.
 */
export function combinedWeights(
  y: Uint8Array,
  sampleWeight?: Float64Array,
  classWeight?: ClassWeight,
): Float64Array | null {
  if (sampleWeight === undefined && classWeight === undefined) return null;
  const n = y.length;
  let w0 = 1;
  let w1 = 1;
  if (classWeight === "balanced") {
    let total0 = 0;
    let total1 = 0;
    for (let i = 0; i < n; i++) {
      const s = sampleWeight === undefined ? 1 : sampleWeight[i];
      if (y[i] === 1) total1 += s;
      else total0 += s;
    }
    const total = total0 + total1;
    w0 = total0 > 0 ? total / (2 * total0) : 1;
    w1 = total1 > 0 ? total / (2 * total1) : 1;
  } else if (classWeight !== undefined) {
    w0 = classWeight[0];
    w1 = classWeight[1];
  }
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    w[i] = (sampleWeight === undefined ? 1 : sampleWeight[i]) * (y[i] === 1 ? w1 : w0);
  }
  return w;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export function expectKind(json: { kind: string; version: number }, kind: string, version: number): void {
  if (json.kind !== kind)
    throw new ModelInputError(`expected a ${kind} model JSON, found kind "${json.kind}"`);
  if (json.version !== version) {
    throw new ModelInputError(`${kind}: JSON version ${json.version} is not supported (expected ${version})`);
  }
}

/** What a JSON value is, for messages that must not echo a model file's content. */
function describeJSON(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "missing";
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/**
 * Checks of a parsed model JSON (`fromJSON`): a restored model must predict exactly what was fitted, so a
 * missing, `null` (JSON's NaN) or non-numeric coefficient is refused rather than read as 0. Messages name
 * the model kind and the field, never the file's content beyond the offending scalar.
 */
export function jsonFinite(kind: string, field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ModelInputError(`${kind}: ${field} is ${describeJSON(value)}, expected a finite number`);
  }
  return value;
}

/** An integer in [min, max]. */
export function jsonInteger(
  kind: string,
  field: string,
  value: unknown,
  min: number,
  max = Infinity,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new ModelInputError(`${kind}: ${field} is ${describeJSON(value)}, expected an integer ${range}`);
  }
  return value;
}

/**
 * An array of `length` (when given) finite numbers; with `nullAs`, a `null` element stands for that value
 * (JSON has no Infinity or NaN).
 */
export function jsonFiniteArray(
  kind: string,
  field: string,
  value: unknown,
  length?: number,
  nullAs?: number,
): number[] {
  if (!Array.isArray(value))
    throw new ModelInputError(`${kind}: ${field} is ${describeJSON(value)}, expected an array`);
  if (length !== undefined && value.length !== length) {
    throw new ModelInputError(`${kind}: ${field} has ${value.length} values, expected ${length}`);
  }
  const out = new Array<number>(value.length);
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    out[i] = v === null && nullAs !== undefined ? nullAs : jsonFinite(kind, `${field}[${i}]`, v);
  }
  return out;
}

/** An object (not null, not an array). */
export function jsonObject(kind: string, field: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ModelInputError(`${kind}: ${field} is ${describeJSON(value)}, expected an object`);
  }
  return value as Record<string, unknown>;
}
