/**
 * Smooth convex minimisation for the linear models: L-BFGS (two-loop recursion, Armijo backtracking)
 * and a dense Cholesky solve for Newton steps.
 */

/** Writes the gradient at x into `grad` and returns the objective. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function lbfgs(
  f: Objective,
  x0: Float64Array,
  options: { maxIter: number; gradTol: number; memory?: number; onIteration?: (iteration: number) => void },
): LbfgsResult {
  const n = x0.length;
  const m = options.memory ?? 10;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let fx = f(x, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(m);
  let iter = 0;
  let converged = maxAbs(g) <= options.gradTol;
  while (!converged && iter < options.maxIter) {
    // Two-loop recursion: d = −H·g.
    for (let i = 0; i < n; i++) d[i] = -g[i];
    for (let k = S.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(S[k], d);
      for (let i = 0; i < n; i++) d[i] -= alpha[k] * Y[k][i];
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    } else {
      const scale = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let i = 0; i < n; i++) d[i] *= scale;
    }
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k] * dot(Y[k], d);
      for (let i = 0; i < n; i++) d[i] += S[k][i] * (alpha[k] - beta);
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = -dot(g, g);
    }
    let step = 1;
    let fNew = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 50; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      fNew = f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew <= fx)) break; // line search failed: x is as good as we can get
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      yv[i] = gNew[i] - g[i];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const decrease = fx - fNew;
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    iter++;
    options.onIteration?.(iter);
    converged = maxAbs(g) <= options.gradTol || decrease <= 1e-15 * Math.max(1, Math.abs(fx));
  }
  return { x, value: fx, iterations: iter, converged };
}

/** Solves A·x = b for symmetric positive-definite A (n×n row-major), in place on copies. */
export function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  return solveWithFactor(choleskyFactor(A, n), b, n);
}

/** Lower-triangular L with A = L·Lᵀ (A symmetric positive-definite, n×n row-major). */
export function choleskyFactor(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        L[i * n + i] = Math.sqrt(Math.max(s, 1e-300));
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  return L;
}

/** x with L·Lᵀ·x = b (L from choleskyFactor). */
export function solveWithFactor(L: Float64Array, b: Float64Array, n: number): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/**
 * The Newton step s = −H⁻¹g by conjugate gradients on the exact Hessian (`hessianTimes` = one pass over the
 * rows), preconditioned by an estimate of H factored as L·Lᵀ (the Gram matrix of a row sample). With a good
 * estimate CG needs two or three passes; the step is exact to `tolerance`·‖g‖ whatever the sample missed
 * (rare one-hot columns, say), so Newton keeps its few iterations.
 */
export function preconditionedNewtonStep(
  hessianTimes: (v: Float64Array, out: Float64Array) => void,
  g: Float64Array,
  L: Float64Array,
  d: number,
  tolerance = 0.1,
  maxIter = 50,
): Float64Array {
  const s = new Float64Array(d);
  const r = new Float64Array(d);
  for (let j = 0; j < d; j++) r[j] = -g[j];
  const stop = tolerance * Math.sqrt(dot(g, g));
  let z = solveWithFactor(L, r, d);
  const p = Float64Array.from(z);
  const hp = new Float64Array(d);
  let rz = dot(r, z);
  for (let k = 0; k < maxIter; k++) {
    hessianTimes(p, hp);
    const curvature = dot(p, hp);
    if (!(curvature > 0)) break;
    const alpha = rz / curvature;
    for (let j = 0; j < d; j++) {
      s[j] += alpha * p[j];
      r[j] -= alpha * hp[j];
    }
    if (Math.sqrt(dot(r, r)) <= stop) break;
    z = solveWithFactor(L, r, d);
    const rzNext = dot(r, z);
    const beta = rzNext / rz;
    rz = rzNext;
    for (let j = 0; j < d; j++) p[j] = z[j] + beta * p[j];
  }
  return s;
}

/**
 * Newton steps on many rows estimate the Hessian from a regular sample of them (the gradient stays exact,
 * so the optimum is the same): a d × d Gram matrix costs d²/2 per row, the gradient only 2d. The sample
 * holds about this many values (rows × columns): 60,000 rows of 66 features, 20,000 of 200.
 */
export const HESSIAN_SAMPLE_CELLS = 4_000_000;
/** The sample's row count stays within these bounds (the lower one well above any column count we fit). */
const HESSIAN_MIN_SAMPLE_ROWS = 10_000;
const HESSIAN_MAX_SAMPLE_ROWS = 60_000;

/** Rows the Hessian sample holds for d columns. */
export function hessianSampleRows(d: number): number {
  const rows = Math.floor(HESSIAN_SAMPLE_CELLS / Math.max(1, d));
  return Math.min(HESSIAN_MAX_SAMPLE_ROWS, Math.max(HESSIAN_MIN_SAMPLE_ROWS, rows));
}

/** Every `stride`-th of `candidates` rows, so that the Hessian sample for d columns holds about hessianSampleRows(d). */
export function hessianStride(candidates: number, d: number): number {
  return Math.max(1, Math.ceil(candidates / hessianSampleRows(d)));
}

/**
 * H ← Σₖ weight[k]·x̃ₖx̃ₖᵀ over the first `count` rows of the row-major z (x̃ = the row with a trailing 1), as
 * a full symmetric d × d matrix (d = cols + 1). Rows go four at a time, so H is loaded and stored a quarter
 * as often.
 */
export function weightedGram(
  z: Float32Array,
  cols: number,
  weight: Float64Array,
  count: number,
  H: Float64Array,
): void {
  const d = cols + 1;
  H.fill(0);
  const x0 = new Float64Array(d);
  const x1 = new Float64Array(d);
  const x2 = new Float64Array(d);
  const x3 = new Float64Array(d);
  const load = (x: Float64Array, k: number) => {
    const base = k * cols;
    for (let j = 0; j < cols; j++) x[j] = z[base + j];
    x[cols] = 1;
  };
  let k = 0;
  for (; k + 3 < count; k += 4) {
    load(x0, k);
    load(x1, k + 1);
    load(x2, k + 2);
    load(x3, k + 3);
    const w0 = weight[k];
    const w1 = weight[k + 1];
    const w2 = weight[k + 2];
    const w3 = weight[k + 3];
    for (let a = 0; a < d; a++) {
      const a0 = w0 * x0[a];
      const a1 = w1 * x1[a];
      const a2 = w2 * x2[a];
      const a3 = w3 * x3[a];
      const row = a * d;
      for (let b = 0; b <= a; b++) H[row + b] += a0 * x0[b] + a1 * x1[b] + a2 * x2[b] + a3 * x3[b];
    }
  }
  for (; k < count; k++) {
    load(x0, k);
    const w0 = weight[k];
    for (let a = 0; a < d; a++) {
      const a0 = w0 * x0[a];
      const row = a * d;
      for (let b = 0; b <= a; b++) H[row + b] += a0 * x0[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) H[b * d + a] = H[a * d + b];
}
