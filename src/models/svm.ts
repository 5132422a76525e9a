import { fitPlatt, type PlattParams, plattProbability } from "./platt.ts";
import { Rng } from "./random.ts";
import {
  fitStandardizer,
  linearMargin,
  linearMargins,
  type Standardizer,
  standardizedCopy,
  standardizerFromJSON,
  standardizerToJSON,
} from "./standardize.ts";
import type { ClassWeight, FitOptions, Matrix, ModelJSON, SkipModel } from "./types.ts";
import {
  checkFitInputs,
  checkPredictInput,
  combinedWeights,
  expectKind,
  jsonFinite,
  jsonFiniteArray,
  jsonInteger,
  jsonObject,
  outputBuffer,
} from "./validate.ts";

export interface LinearSVMParams {
  /** Penalty of the squared hinge loss, as in scikit-learn's LinearSVC: ½‖w‖² + C Σ cᵢ max(0, 1 − yᵢ f(xᵢ))². */
  C: number;
  classWeight: ClassWeight;
  /** Passes over the data (liblinear's max_iter). */
  maxIter: number;
  /** Stop when the projected-gradient spread is below this (liblinear's eps). */
  tol: number;
  /** Standardise columns inside the model (NaN → training mean either way). */
  standardize: boolean;
  seed: number;
}

const DEFAULTS: LinearSVMParams = {
  C: 1,
  classWeight: "balanced",
  maxIter: 1000,
  tol: 1e-4,
  standardize: true,
  seed: 42,
};

/**
 * Linear SVM as scikit-learn's LinearSVC with its defaults (squared hinge, L2, C = 1, intercept as a
 * constant feature of value 1 that is regularised like the others), solved by liblinear's dual
 * coordinate descent with shrinking. Class "balanced" by default: the reference project's target model.
 *
 * Probabilities: an SVM gives margins, not probabilities. `predictProba` maps the decision value through a
 * Platt sigmoid fitted on the training decision values (sample weights apply, class weights do not, so the
 * probabilities follow the real skip rate). Fitting Platt on the training data itself is slightly
 * over-confident; the ranking (AUC) is unaffected.
 */
export class LinearSVM implements SkipModel {
  readonly kind = "linear-svm";
  readonly params: LinearSVMParams;
  private scaler: Standardizer = {
    mean: new Float64Array(0),
    shift: new Float64Array(0),
    invScale: new Float64Array(0),
  };
  private weights = new Float64Array(0);
  private bias = 0;
  private platt: PlattParams = { A: -1, B: 0 };
  private cols = -1;
  iterations = 0;

  constructor(params: Partial<LinearSVMParams> = {}) {
    this.params = { ...DEFAULTS, ...params };
  }

  fit(X: Matrix, y: Uint8Array, options?: FitOptions): this {
    checkFitInputs(this.kind, X, y, options, true);
    const { rows, cols } = X;
    const p = this.params;
    this.scaler = fitStandardizer(X, p.standardize);
    const z = standardizedCopy(X, this.scaler);
    const cw = combinedWeights(y, options?.sampleWeight, p.classWeight);
    const d = cols + 1; // the constant bias feature (intercept_scaling = 1)
    const w = new Float64Array(d);
    const alpha = new Float64Array(rows);
    const diag = new Float64Array(rows);
    const qd = new Float64Array(rows);
    const index = new Int32Array(rows);
    let active = 0;
    for (let i = 0; i < rows; i++) {
      const ci = p.C * (cw === null ? 1 : cw[i]);
      if (ci <= 0) continue; // weight 0: the row does not take part
      diag[i] = 0.5 / ci;
      let sq = 1;
      const base = i * cols;
      for (let j = 0; j < cols; j++) sq += z[base + j] * z[base + j];
      qd[i] = sq + diag[i];
      index[active++] = i;
    }
    const total = active;
    const rng = new Rng(p.seed);
    // Squared hinge has no upper bound on α, so only the lower-bound shrinking rule of liblinear applies.
    let pgMaxOld = Number.POSITIVE_INFINITY;
    let iter = 0;
    while (iter < p.maxIter) {
      let pgMaxNew = Number.NEGATIVE_INFINITY;
      let pgMinNew = Number.POSITIVE_INFINITY;
      rng.shuffle(index, active);
      for (let s = 0; s < active; s++) {
        const i = index[s];
        const yi = y[i] === 1 ? 1 : -1;
        const base = i * cols;
        let dotw = w[cols];
        for (let j = 0; j < cols; j++) dotw += w[j] * z[base + j];
        const G = yi * dotw - 1 + alpha[i] * diag[i];
        let pg = 0;
        if (alpha[i] === 0) {
          if (G > pgMaxOld) {
            active--;
            index[s] = index[active];
            index[active] = i;
            s--;
            continue;
          }
          if (G < 0) pg = G;
        } else {
          pg = G;
        }
        if (pg > pgMaxNew) pgMaxNew = pg;
        if (pg < pgMinNew) pgMinNew = pg;
        if (Math.abs(pg) > 1e-12) {
          const old = alpha[i];
          const next = Math.max(old - G / qd[i], 0);
          alpha[i] = next;
          const delta = (next - old) * yi;
          for (let j = 0; j < cols; j++) w[j] += delta * z[base + j];
          w[cols] += delta;
        }
      }
      iter++;
      options?.onProgress?.(iter, p.maxIter);
      if (pgMaxNew - pgMinNew <= p.tol) {
        if (active === total) break;
        active = total;
        pgMaxOld = Number.POSITIVE_INFINITY;
        continue;
      }
      pgMaxOld = pgMaxNew <= 0 ? Number.POSITIVE_INFINITY : pgMaxNew;
    }
    this.iterations = iter;
    this.weights = w.slice(0, cols);
    this.bias = w[cols];
    this.cols = cols;
    const decision = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      let m = this.bias;
      for (let j = 0; j < cols; j++) m += this.weights[j] * z[base + j];
      decision[i] = m;
    }
    this.platt = fitPlatt(decision, y, options?.sampleWeight ?? null);
    return this;
  }

  /** Signed distance to the separating hyperplane; positive = skip side. */
  decisionFunction(X: Matrix, out?: Float64Array): Float64Array {
    checkPredictInput(this.kind, X, this.cols);
    return linearMargins(X, this.scaler, this.weights, this.bias, outputBuffer(X.rows, out));
  }

  predictProba(X: Matrix, out?: Float64Array): Float64Array {
    const result = this.decisionFunction(X, out);
    for (let i = 0; i < X.rows; i++) result[i] = plattProbability(this.platt, result[i]);
    return result;
  }

  predictOne(row: ArrayLike<number>, offset = 0): number {
    return plattProbability(this.platt, linearMargin(row, offset, this.scaler, this.weights, this.bias));
  }

  /** Platt sigmoid parameters: P(skip) = 1 / (1 + exp(A·f + B)). */
  get plattParams(): PlattParams {
    return { ...this.platt };
  }

  toJSON(): ModelJSON {
    return {
      kind: this.kind,
      version: 1,
      params: { ...this.params },
      state: {
        cols: this.cols,
        scaler: standardizerToJSON(this.scaler),
        weights: Array.from(this.weights),
        bias: this.bias,
        platt: { ...this.platt },
      },
    };
  }

  static fromJSON(json: ModelJSON): LinearSVM {
    expectKind(json, "linear-svm", 1);
    const model = new LinearSVM(json.params as Partial<LinearSVMParams>);
    const kind = "linear-svm";
    const cols = jsonInteger(kind, "state.cols", json.state.cols, 0);
    model.cols = cols;
    model.scaler = standardizerFromJSON(json.state.scaler, kind, cols);
    model.weights = Float64Array.from(jsonFiniteArray(kind, "state.weights", json.state.weights, cols));
    model.bias = jsonFinite(kind, "state.bias", json.state.bias);
    const platt = jsonObject(kind, "state.platt", json.state.platt);
    model.platt = {
      A: jsonFinite(kind, "state.platt.A", platt.A),
      B: jsonFinite(kind, "state.platt.B", platt.B),
    };
    return model;
  }
}
