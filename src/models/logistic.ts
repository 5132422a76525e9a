import {
  choleskyFactor,
  choleskySolve,
  hessianStride,
  lbfgs,
  preconditionedNewtonStep,
  weightedGram,
} from "./optimize.ts";
import {
  fitStandardizer,
  linearMargin,
  linearMargins,
  StandardizedView,
  type Standardizer,
  standardizedRows,
  standardizerFromJSON,
  standardizerToJSON,
  withBias,
} from "./standardize.ts";
import type { ClassWeight, FitOptions, Matrix, ModelJSON, SkipModel } from "./types.ts";
import {
  checkFitInputs,
  checkFitted,
  checkPredictInput,
  combinedWeights,
  expectKind,
  jsonFinite,
  jsonFiniteArray,
  jsonInteger,
  outputBuffer,
  sigmoid,
} from "./validate.ts";

export interface LogisticRegressionParams {
  /** Inverse L2 strength, as in scikit-learn: minimise Σ wᵢ·logloss + ‖β‖² / (2C). The intercept is not penalised. */
  C: number;
  classWeight: ClassWeight;
  /** "auto": Newton from NEWTON_MIN_ROWS rows on (a handful of passes), L-BFGS below (scikit-learn's default). */
  solver: "auto" | "lbfgs" | "newton";
  maxIter: number;
  /** Stop when the largest gradient entry of the (weight-averaged) objective is below this (scikit-learn: 1e-4). */
  tol: number;
  /** Standardise columns inside the model (NaN → training mean either way). */
  standardize: boolean;
}

const DEFAULTS: LogisticRegressionParams = {
  C: 1,
  classWeight: undefined,
  solver: "auto",
  maxIter: 500,
  tol: 1e-5,
  standardize: true,
};

/** From this many rows on, "auto" takes Newton steps: L-BFGS needs a pass per iteration and tens of them. */
export const NEWTON_MIN_ROWS = 20_000;
const NEWTON_MAX_ITER = 50;

/** L2-regularised logistic regression on standardised, mean-imputed columns. */
export class LogisticRegression implements SkipModel {
  readonly kind = "logistic";
  readonly params: LogisticRegressionParams;
  private scaler: Standardizer = {
    mean: new Float64Array(0),
    shift: new Float64Array(0),
    invScale: new Float64Array(0),
  };
  /** Coefficients on the standardised scale. */
  private weights = new Float64Array(0);
  private bias = 0;
  private cols = -1;
  iterations = 0;

  constructor(params: Partial<LogisticRegressionParams> = {}) {
    this.params = { ...DEFAULTS, ...params };
  }

  fit(X: Matrix, y: Uint8Array, options?: FitOptions): this {
    checkFitInputs(this.kind, X, y, options, true);
    const { rows, cols } = X;
    const p = this.params;
    this.scaler = fitStandardizer(X, p.standardize);
    const view = new StandardizedView(X, this.scaler);
    const w = combinedWeights(y, options?.sampleWeight, p.classWeight);
    let totalWeight = rows;
    if (w !== null) {
      totalWeight = 0;
      for (let i = 0; i < rows; i++) totalWeight += w[i];
    }
    const lambda = 1 / (p.C * totalWeight);
    const d = cols + 1; // last entry = intercept
    /** The objective and its gradient at β; also each row's curvature wᵢpᵢ(1 − pᵢ)/Σw when asked. */
    const objective = (beta: Float64Array, grad: Float64Array, curvature?: Float64Array): number => {
      grad.fill(0);
      let loss = 0;
      view.sweep(
        beta,
        (i, m) => {
          const wi = w === null ? 1 : w[i];
          const yi = y[i];
          // One exponential for the loss, its derivative and the curvature: e = e^{−|m|}.
          const e = Math.exp(-Math.abs(m));
          loss += wi * (Math.max(m, 0) + Math.log1p(e) - yi * m);
          const pr = m >= 0 ? 1 / (1 + e) : e / (1 + e);
          if (curvature !== undefined) curvature[i] = (wi * pr * (1 - pr)) / totalWeight;
          return wi * (pr - yi);
        },
        grad,
      );
      const inv = 1 / totalWeight;
      let reg = 0;
      for (let j = 0; j < cols; j++) {
        reg += beta[j] * beta[j];
        grad[j] = grad[j] * inv + lambda * beta[j];
      }
      grad[cols] *= inv;
      return loss * inv + 0.5 * lambda * reg;
    };
    let beta: Float64Array;
    const onProgress = options?.onProgress;
    if (p.solver === "newton" || (p.solver === "auto" && rows >= NEWTON_MIN_ROWS)) {
      beta = this.newton(X, view, w, totalWeight, lambda, objective, options?.warmStart, onProgress);
    } else {
      const start = options?.warmStart?.length === d ? options.warmStart : new Float64Array(d);
      const result = lbfgs(objective, start, {
        maxIter: p.maxIter,
        gradTol: p.tol,
        onIteration: onProgress ? (iteration) => onProgress(iteration, p.maxIter) : undefined,
      });
      beta = result.x;
      this.iterations = result.iterations;
    }
    this.weights = beta.slice(0, cols);
    this.bias = beta[cols];
    this.cols = cols;
    return this;
  }

  private newton(
    X: Matrix,
    view: StandardizedView,
    w: Float64Array | null,
    totalWeight: number,
    lambda: number,
    objective: (beta: Float64Array, grad: Float64Array, curvature?: Float64Array) => number,
    warmStart: Float64Array | undefined,
    onProgress: ((done: number, total: number) => void) | undefined,
  ): Float64Array {
    const { rows, cols } = X;
    const d = cols + 1;
    let beta = warmStart?.length === d ? Float64Array.from(warmStart) : new Float64Array(d);
    const grad = new Float64Array(d);
    const gradTrial = new Float64Array(d);
    const H = new Float64Array(d * d);
    // A regular sample of the rows estimates the Hessian on many rows; the gradient stays exact.
    const stride = hessianStride(rows, d);
    // Exact curvature per row at the current β, for H·v when H is estimated. The objective fills it: the
    // line search's last evaluation is the accepted step, so it always holds the current β's.
    const curvature = stride > 1 ? new Float64Array(rows) : undefined;
    let value = objective(beta, grad, curvature);
    const sampleRows = new Int32Array(Math.ceil(rows / stride));
    for (let k = 0; k < sampleRows.length; k++) sampleRows[k] = k * stride;
    const zs = standardizedRows(X, this.scaler, sampleRows, sampleRows.length);
    const sampleWeight = new Float64Array(sampleRows.length);
    const scale = rows / sampleRows.length / totalWeight;
    const hessianTimes = (v: Float64Array, out: Float64Array) => {
      out.fill(0);
      view.sweep(v, (i, m) => (curvature as Float64Array)[i] * m, out);
      for (let j = 0; j < cols; j++) out[j] += lambda * v[j];
      out[cols] += 1e-12 * v[cols];
    };
    // Newton converges in a handful of steps; the progress total is a cap, reached only if it does not.
    const maxIter = Math.min(this.params.maxIter, NEWTON_MAX_ITER);
    let iter = 0;
    for (; iter < maxIter; iter++) {
      let gmax = 0;
      for (let j = 0; j < d; j++) gmax = Math.max(gmax, Math.abs(grad[j]));
      if (gmax <= this.params.tol) break;
      for (let k = 0; k < sampleRows.length; k++) {
        const base = k * cols;
        let m = beta[cols];
        for (let j = 0; j < cols; j++) m += beta[j] * zs[base + j];
        const pr = sigmoid(m);
        sampleWeight[k] = scale * (w === null ? 1 : w[sampleRows[k]]) * pr * (1 - pr);
      }
      weightedGram(zs, cols, sampleWeight, sampleRows.length, H);
      for (let a = 0; a < cols; a++) H[a * d + a] += lambda;
      H[cols * d + cols] += 1e-12;
      let step: Float64Array;
      if (curvature === undefined) step = choleskySolve(H, grad, d);
      else {
        // H was estimated from the sample: conjugate gradients on the exact H, preconditioned by it.
        // Forcing term √‖g‖∞ (Eisenstat–Walker): loose far from the optimum, tight near it (superlinear).
        const forcing = Math.min(0.1, Math.sqrt(gmax));
        step = preconditionedNewtonStep(hessianTimes, grad, choleskyFactor(H, d), d, forcing);
        for (let j = 0; j < d; j++) step[j] = -step[j];
      }
      let t = 1;
      let accepted = false;
      for (let tries = 0; tries < 40; tries++) {
        const trial = new Float64Array(d);
        for (let j = 0; j < d; j++) trial[j] = beta[j] - t * step[j];
        const v = objective(trial, gradTrial, curvature);
        if (v <= value) {
          beta = trial;
          value = v;
          grad.set(gradTrial);
          accepted = true;
          break;
        }
        t *= 0.5;
      }
      if (!accepted) break;
      onProgress?.(iter + 1, maxIter);
    }
    this.iterations = iter;
    return beta;
  }

  /** Coefficients in the standardised space, bias last: a warm start for a refit. */
  standardizedCoefficients(): Float64Array {
    checkFitted(this.kind, this.cols >= 0, "standardizedCoefficients");
    return withBias(this.weights, this.bias);
  }

  /** Log-odds of skipping per row. */
  decisionFunction(X: Matrix, out?: Float64Array): Float64Array {
    checkPredictInput(this.kind, X, this.cols);
    return linearMargins(X, this.scaler, this.weights, this.bias, outputBuffer(X.rows, out));
  }

  predictProba(X: Matrix, out?: Float64Array): Float64Array {
    const result = this.decisionFunction(X, out);
    for (let i = 0; i < X.rows; i++) result[i] = sigmoid(result[i]);
    return result;
  }

  predictOne(row: ArrayLike<number>, offset = 0): number {
    checkFitted(this.kind, this.cols >= 0, "predictOne");
    return sigmoid(linearMargin(row, offset, this.scaler, this.weights, this.bias));
  }

  /** Coefficients and intercept in the original feature units (valid for rows without NaN). */
  coefficients(): { weights: Float64Array; intercept: number } {
    checkFitted(this.kind, this.cols >= 0, "coefficients");
    const weights = new Float64Array(this.weights.length);
    let intercept = this.bias;
    for (let j = 0; j < weights.length; j++) {
      weights[j] = this.weights[j] * this.scaler.invScale[j];
      intercept -= weights[j] * this.scaler.shift[j];
    }
    return { weights, intercept };
  }

  toJSON(): ModelJSON {
    checkFitted(this.kind, this.cols >= 0, "toJSON");
    return {
      kind: this.kind,
      version: 1,
      params: { ...this.params },
      state: {
        cols: this.cols,
        scaler: standardizerToJSON(this.scaler),
        weights: Array.from(this.weights),
        bias: this.bias,
      },
    };
  }

  static fromJSON(json: ModelJSON): LogisticRegression {
    expectKind(json, "logistic", 1);
    const model = new LogisticRegression(json.params as Partial<LogisticRegressionParams>);
    const cols = jsonInteger("logistic", "state.cols", json.state.cols, 0);
    model.cols = cols;
    model.scaler = standardizerFromJSON(json.state.scaler, "logistic", cols);
    model.weights = Float64Array.from(jsonFiniteArray("logistic", "state.weights", json.state.weights, cols));
    model.bias = jsonFinite("logistic", "state.bias", json.state.bias);
    return model;
  }
}
