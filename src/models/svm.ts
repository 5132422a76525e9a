import {
  choleskyFactor,
  choleskySolve,
  hessianSampleRows,
  hessianStride,
  preconditionedNewtonStep,
  weightedGram,
} from "./optimize.ts";
import { fitPlatt, type PlattParams, plattProbability } from "./platt.ts";
import { Rng } from "./random.ts";
import {
  fitStandardizer,
  linearMargin,
  linearMargins,
  StandardizedView,
  type Standardizer,
  standardizedCopy,
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
  jsonObject,
  outputBuffer,
} from "./validate.ts";

export interface LinearSVMParams {
  /** Penalty of the squared hinge loss, as in scikit-learn's LinearSVC: ½‖w‖² + C Σ cᵢ max(0, 1 − yᵢ f(xᵢ))². */
  C: number;
  classWeight: ClassWeight;
  /**
   * "primal": Newton's method with conjugate-gradient steps on the primal (liblinear's `-s 2`, for rows ≫
   * features: tens of passes); "dual": dual coordinate descent (liblinear's `-s 1`, scikit-learn's default,
   * for few rows); "auto": primal from PRIMAL_MIN_ROWS rows on.
   */
  solver: "auto" | "primal" | "dual";
  /** Dual: passes over the data (liblinear's max_iter); primal: Newton iterations. */
  maxIter: number;
  /** Dual: stop when the projected-gradient spread is below this (liblinear's eps). */
  tol: number;
  /** Primal: stop when ‖∇f‖ ≤ primalTol · ‖∇f(0)‖. */
  primalTol: number;
  /** Standardise columns inside the model (NaN → training mean either way). */
  standardize: boolean;
  seed: number;
}

const DEFAULTS: LinearSVMParams = {
  C: 1,
  classWeight: "balanced",
  solver: "auto",
  maxIter: 1000,
  tol: 1e-4,
  primalTol: 1e-4,
  standardize: true,
  seed: 42,
};

/** From this many rows on, "auto" solves the primal: the dual's passes grow with the rows, Newton's do not. */
export const PRIMAL_MIN_ROWS = 20_000;
/** Newton iterations at most (each is a conjugate-gradient solve: a few passes over the active rows). */
const PRIMAL_MAX_NEWTON = 50;

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
    const cw = combinedWeights(y, options?.sampleWeight, p.classWeight);
    const primal = p.solver === "primal" || (p.solver === "auto" && rows >= PRIMAL_MIN_ROWS);
    // The primal passes over the rows in order, block by block; the dual visits them at random, from a copy.
    const w = primal
      ? this.solvePrimal(X, y, cw, options?.onProgress, options?.warmStart)
      : this.solveDual(standardizedCopy(X, this.scaler), y, cw, rows, cols, options?.onProgress);
    this.weights = w.slice(0, cols);
    this.bias = w[cols];
    this.cols = cols;
    const decision = linearMargins(X, this.scaler, this.weights, this.bias, new Float64Array(rows));
    this.platt = fitPlatt(decision, y, options?.sampleWeight ?? null);
    return this;
  }

  /** Final value of the primal objective ½‖w‖² + C Σ cᵢ max(0, 1 − yᵢ f(xᵢ))² (for the parity bench). */
  objective(X: Matrix, y: Uint8Array, sampleWeight?: Float64Array): number {
    const margins = this.decisionFunction(X);
    const cw = combinedWeights(y, sampleWeight, this.params.classWeight);
    let loss = 0;
    for (let i = 0; i < X.rows; i++) {
      const slack = 1 - (y[i] === 1 ? 1 : -1) * margins[i];
      if (slack > 0) loss += this.params.C * (cw === null ? 1 : cw[i]) * slack * slack;
    }
    let norm = this.bias * this.bias;
    for (let j = 0; j < this.weights.length; j++) norm += this.weights[j] * this.weights[j];
    return 0.5 * norm + loss;
  }

  /**
   * Newton's method on the primal, f(w) = ½‖w‖² + Σ cᵢ max(0, 1 − yᵢ wᵀxᵢ)² (xᵢ with the constant 1):
   * each step solves H s = −∇f with the generalised Hessian H = I + 2 Σ_{active} cᵢ xᵢxᵢᵀ (d × d, one pass
   * to build, a Cholesky solve), then a backtracking line search that needs no pass (f along s is a
   * function of the margins and xᵢᵀs, computed once). liblinear's `-s 2` solves the same steps by
   * conjugate gradients, which suits its sparse, wide data; ours is dense and narrow.
   */
  private solvePrimal(
    X: Matrix,
    y: Uint8Array,
    cw: Float64Array | null,
    onProgress?: (done: number, total: number) => void,
    warmStart?: Float64Array,
  ): Float64Array {
    const p = this.params;
    const { rows, cols } = X;
    const d = cols + 1;
    const view = new StandardizedView(X, this.scaler);
    const c = new Float64Array(rows);
    const sign = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      c[i] = p.C * (cw === null ? 1 : cw[i]);
      sign[i] = y[i] === 1 ? 1 : -1;
    }
    const w = warmStart?.length === d ? Float64Array.from(warmStart) : new Float64Array(d);
    const margin = new Float64Array(rows); // wᵀxᵢ
    /** out[i] = vᵀxᵢ for every row. */
    const project = (v: Float64Array, out: Float64Array) =>
      view.sweep(
        v,
        (i, m) => {
          out[i] = m;
          return 0;
        },
        null,
      );
    /** into ← into + Σᵢ coef(i)·xᵢ over the rows with a non-zero coefficient. */
    const accumulate = (coef: (i: number) => number, into: Float64Array) =>
      view.sweep(null, (i) => coef(i), into);
    project(w, margin);
    const g = new Float64Array(d);
    const s = new Float64Array(d);
    const hessian = new Float64Array(d * d);
    const sampleRows = new Int32Array(Math.min(rows, hessianSampleRows(d)));
    const sampleWeight = new Float64Array(sampleRows.length);
    const xs = new Float64Array(rows);
    const active = new Uint8Array(rows);
    const dot = (a: Float64Array, b: Float64Array) => {
      let t = 0;
      for (let j = 0; j < d; j++) t += a[j] * b[j];
      return t;
    };
    /** −2 cᵢ slackᵢ yᵢ: row i's share of ∇f (0 off the active set). */
    const slope = (i: number) => {
      const slack = 1 - sign[i] * margin[i];
      return slack > 0 ? -2 * c[i] * slack * sign[i] : 0;
    };
    /** f and ∇f at w from the margins; marks the active rows. */
    const evaluate = (): number => {
      let f = 0.5 * dot(w, w);
      for (let i = 0; i < rows; i++) {
        const slack = 1 - sign[i] * margin[i];
        active[i] = slack > 0 && c[i] > 0 ? 1 : 0;
        if (active[i] === 1) f += c[i] * slack * slack;
      }
      g.set(w);
      accumulate(slope, g);
      return f;
    };
    /** out = H v = v + 2 Σ_active cᵢ xᵢ (xᵢᵀv), exactly (one pass). */
    const hessianTimes = (v: Float64Array, out: Float64Array) => {
      out.set(v);
      view.sweep(v, (i, m) => (active[i] === 0 ? 0 : 2 * c[i] * m), out);
    };
    /** f(w + t s), from the margins and xᵢᵀs alone. */
    const along = (t: number, ww: number, ws: number, ss: number): number => {
      let f = 0.5 * (ww + 2 * t * ws + t * t * ss);
      for (let i = 0; i < rows; i++) {
        const slack = 1 - sign[i] * (margin[i] + t * xs[i]);
        if (slack > 0) f += c[i] * slack * slack;
      }
      return f;
    };
    let f = evaluate();
    // The stopping scale is the gradient at w = 0 (every row active), also when warm-started: relative to a
    // warm start's small gradient the same tolerance would ask for far more precision.
    let g0 = 0;
    if (warmStart === undefined) g0 = Math.sqrt(dot(g, g));
    else {
      const zero = new Float64Array(d);
      accumulate((i) => -2 * c[i] * sign[i], zero);
      g0 = Math.sqrt(dot(zero, zero));
    }
    let iter = 0;
    // Newton converges in a handful of steps; the bar's total is a cap, reached only if it does not.
    const cap = Math.min(p.maxIter, PRIMAL_MAX_NEWTON);
    while (iter < cap && Math.sqrt(dot(g, g)) > p.primalTol * g0) {
      // The Newton step: H = I + 2 Σ_active cᵢ xᵢxᵢᵀ is only d × d, so it is accumulated directly and a
      // Cholesky solve gives s = −H⁻¹g. On many rows a regular sample of the active rows estimates H, and
      // conjugate gradients on the exact H, preconditioned by the estimate, finish the step in a few passes.
      let activeCount = 0;
      for (let i = 0; i < rows; i++) activeCount += active[i];
      const stride = hessianStride(activeCount, d);
      let sampled = 0;
      for (let i = 0, seen = 0; i < rows; i++) {
        if (active[i] === 0) continue;
        if (seen++ % stride === 0) sampleRows[sampled++] = i;
      }
      const scale = sampled > 0 ? (2 * activeCount) / sampled : 0;
      for (let k = 0; k < sampled; k++) sampleWeight[k] = scale * c[sampleRows[k]];
      weightedGram(
        standardizedRows(X, this.scaler, sampleRows, sampled),
        cols,
        sampleWeight,
        sampled,
        hessian,
      );
      for (let a = 0; a < d; a++) hessian[a * d + a] += 1;
      if (stride === 1) {
        const step = choleskySolve(hessian, g, d);
        for (let j = 0; j < d; j++) s[j] = -step[j];
      } else {
        // Forcing term √(‖g‖/‖g₀‖) (Eisenstat–Walker): loose far from the optimum, tight near it.
        const forcing = Math.min(0.1, Math.sqrt(Math.sqrt(dot(g, g)) / g0));
        s.set(preconditionedNewtonStep(hessianTimes, g, choleskyFactor(hessian, d), d, forcing));
      }
      project(s, xs);
      const ww = dot(w, w);
      const ws = dot(w, s);
      const ss = dot(s, s);
      const descent = dot(g, s);
      let t = 1;
      let next = along(t, ww, ws, ss);
      while (next > f + 0.01 * t * descent && t > 1e-10) {
        t *= 0.5;
        next = along(t, ww, ws, ss);
      }
      for (let j = 0; j < d; j++) w[j] += t * s[j];
      for (let i = 0; i < rows; i++) margin[i] += t * xs[i];
      const previous = f;
      f = evaluate();
      iter++;
      onProgress?.(iter, cap);
      if (previous - f <= 1e-12 * Math.abs(previous)) break;
    }
    this.iterations = iter;
    return w;
  }

  /** liblinear's dual coordinate descent with shrinking (squared hinge: no upper bound on α). */
  private solveDual(
    z: Float32Array,
    y: Uint8Array,
    cw: Float64Array | null,
    rows: number,
    cols: number,
    onProgress?: (done: number, total: number) => void,
  ): Float64Array {
    const p = this.params;
    const d = cols + 1;
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
      onProgress?.(iter, p.maxIter);
      if (pgMaxNew - pgMinNew <= p.tol) {
        if (active === total) break;
        active = total;
        pgMaxOld = Number.POSITIVE_INFINITY;
        continue;
      }
      pgMaxOld = pgMaxNew <= 0 ? Number.POSITIVE_INFINITY : pgMaxNew;
    }
    this.iterations = iter;
    return w;
  }

  /** Coefficients in the standardised space, bias last: a warm start for a refit. */
  standardizedCoefficients(): Float64Array {
    checkFitted(this.kind, this.cols >= 0, "standardizedCoefficients");
    return withBias(this.weights, this.bias);
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
    checkFitted(this.kind, this.cols >= 0, "predictOne");
    return plattProbability(this.platt, linearMargin(row, offset, this.scaler, this.weights, this.bias));
  }

  /** Platt sigmoid parameters: P(skip) = 1 / (1 + exp(A·f + B)). */
  get plattParams(): PlattParams {
    checkFitted(this.kind, this.cols >= 0, "plattParams");
    return { ...this.platt };
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
