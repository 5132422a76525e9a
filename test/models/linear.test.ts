import { describe, expect, it } from "vitest";
import { LinearSVM, LogisticRegression } from "../../src/models/index.ts";
import { hessianSampleRows } from "../../src/models/optimize.ts";
import { PRIMAL_MIN_ROWS } from "../../src/models/svm.ts";
import type { Matrix } from "../../src/models/types.ts";
import { accuracy, auc, imbalanced, logisticData, matrix, mean, separable, xor } from "./fixtures.ts";

/** Gradient of Σ wᵢ·logloss + ‖β‖²/(2C) at (β, b) on raw columns, computed independently of the model. */
function logisticGradient(
  X: Matrix,
  y: Uint8Array,
  beta: Float64Array,
  b: number,
  C: number,
  w?: Float64Array,
) {
  const g = new Float64Array(X.cols + 1);
  for (let i = 0; i < X.rows; i++) {
    let m = b;
    for (let j = 0; j < X.cols; j++) m += beta[j] * X.data[i * X.cols + j];
    const r = (w ? w[i] : 1) * (1 / (1 + Math.exp(-m)) - y[i]);
    for (let j = 0; j < X.cols; j++) g[j] += r * X.data[i * X.cols + j];
    g[X.cols] += r;
  }
  for (let j = 0; j < X.cols; j++) g[j] += beta[j] / C;
  return g;
}

describe("LogisticRegression", () => {
  it("separates separable data", () => {
    const { X, y } = separable(400, 1);
    const m = new LogisticRegression({ C: 100 }).fit(X, y);
    expect(accuracy(m.predictProba(X), y)).toBe(1);
  });

  it("recovers the coefficients of a known logistic model, on any column scale", () => {
    const truth = [1.5, -0.02, 0.8];
    const { X, y } = logisticData(30_000, 2, -0.4, truth, [1, 50, 0.5], [0, 100, 3]);
    const { weights, intercept } = new LogisticRegression({ C: 1e6 }).fit(X, y).coefficients();
    expect(weights[0]).toBeCloseTo(truth[0], 1);
    expect(weights[1]).toBeCloseTo(truth[1], 2);
    expect(weights[2]).toBeCloseTo(truth[2], 1);
    expect(intercept).toBeCloseTo(-0.4, 0);
  });

  it("L-BFGS and Newton reach the exact optimum (zero gradient) on a tiny problem", () => {
    const { X, y } = logisticData(40, 3, 0.3, [1, -1], [1, 2], [0, 1]);
    const newton = new LogisticRegression({ C: 0.7, solver: "newton", standardize: false, tol: 1e-12 })
      .fit(X, y)
      .coefficients();
    const lbfgs = new LogisticRegression({ C: 0.7, solver: "lbfgs", standardize: false, tol: 1e-10 })
      .fit(X, y)
      .coefficients();
    const g = logisticGradient(X, y, newton.weights, newton.intercept, 0.7);
    for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-6);
    for (let j = 0; j < 2; j++) expect(lbfgs.weights[j]).toBeCloseTo(newton.weights[j], 5);
    expect(lbfgs.intercept).toBeCloseTo(newton.intercept, 5);
  });

  it("on more rows than the Hessian sample, Newton with a sampled Hessian still reaches the zero-gradient optimum", () => {
    const rows = hessianSampleRows(4) * 2 + 7;
    const { X, y } = logisticData(rows, 21, -0.3, [1.2, -0.7, 0.4], [1, 3, 0.5], [0, 2, -1]);
    const C = 0.05;
    const fitted = new LogisticRegression({ C, standardize: false, tol: 1e-9 }).fit(X, y);
    expect(fitted.params.solver).toBe("auto");
    expect(fitted.iterations).toBeLessThan(15);
    const { weights, intercept } = fitted.coefficients();
    // The objective is averaged over the rows: its gradient is the summed one divided by n.
    const g = logisticGradient(X, y, weights, intercept, C);
    for (const v of g) expect(Math.abs(v) / rows).toBeLessThan(1e-8);
    const lbfgs = new LogisticRegression({ C, standardize: false, solver: "lbfgs", tol: 1e-9 })
      .fit(X, y)
      .coefficients();
    for (let j = 0; j < 3; j++) expect(weights[j]).toBeCloseTo(lbfgs.weights[j], 5);
  });

  it("a sample weight of 2 equals duplicating the row", () => {
    const { X, y } = logisticData(60, 4, 0, [1, 0.5], [1, 1], [0, 0]);
    const w = new Float64Array(60).fill(1);
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 60; i++) {
      const row = [X.data[2 * i], X.data[2 * i + 1]];
      rows.push(row);
      labels.push(y[i]);
      if (i % 3 === 0) {
        w[i] = 2;
        rows.push(row);
        labels.push(y[i]);
      }
    }
    const opts = { solver: "newton" as const, standardize: false };
    const weighted = new LogisticRegression(opts).fit(X, y, { sampleWeight: w }).coefficients();
    const duplicated = new LogisticRegression(opts).fit(matrix(rows), Uint8Array.from(labels)).coefficients();
    expect(weighted.weights[0]).toBeCloseTo(duplicated.weights[0], 6);
    expect(weighted.intercept).toBeCloseTo(duplicated.intercept, 6);
  });

  it("imputes a missing value with the training mean", () => {
    const { X, y } = logisticData(500, 5, 0, [1, 1], [1, 1], [2, -1]);
    X.data[0] = Number.NaN;
    const m = new LogisticRegression().fit(X, y);
    let sum = 0;
    for (let i = 1; i < X.rows; i++) sum += X.data[2 * i];
    const meanOfColumn0 = sum / (X.rows - 1);
    expect(m.predictOne([Number.NaN, 0.5])).toBeCloseTo(m.predictOne([meanOfColumn0, 0.5]), 5);
  });

  it("class_weight balanced moves the decision toward the minority class", () => {
    const { X, y } = imbalanced(4000, 6);
    const plain = new LogisticRegression().fit(X, y).predictProba(X);
    const balanced = new LogisticRegression({ classWeight: "balanced" }).fit(X, y).predictProba(X);
    const positivesPlain = plain.filter((p) => p >= 0.5).length;
    const positivesBalanced = balanced.filter((p) => p >= 0.5).length;
    expect(positivesBalanced).toBeGreaterThan(positivesPlain + 500);
    expect(mean(balanced)).toBeGreaterThan(mean(plain) + 0.2);
  });

  it("cannot learn XOR (no linear signal)", () => {
    const { X, y } = xor(4000, 7);
    expect(auc(new LogisticRegression().fit(X, y).predictProba(X), y)).toBeLessThan(0.56);
  });
});

/** LinearSVC's primal: ½(‖w‖² + b²) + C Σ cᵢ max(0, 1 − yᵢ(w·xᵢ + b))², y in ±1. */
function svmPrimal(
  X: Matrix,
  y: Uint8Array,
  w: Float64Array,
  b: number,
  C: number,
  classW: [number, number],
) {
  let f = 0.5 * b * b;
  for (const v of w) f += 0.5 * v * v;
  for (let i = 0; i < X.rows; i++) {
    let m = b;
    for (let j = 0; j < X.cols; j++) m += w[j] * X.data[i * X.cols + j];
    const s = y[i] === 1 ? 1 : -1;
    const h = Math.max(0, 1 - s * m);
    f += C * classW[y[i]] * h * h;
  }
  return f;
}

describe("LinearSVM", () => {
  it("separates separable data", () => {
    const { X, y } = separable(400, 8);
    const m = new LinearSVM({ C: 100 }).fit(X, y);
    const d = m.decisionFunction(X);
    for (let i = 0; i < X.rows; i++) expect(d[i] > 0 ? 1 : 0).toBe(y[i]);
    expect(accuracy(m.predictProba(X), y)).toBeGreaterThan(0.99);
  });

  it("dual coordinate descent reaches the primal optimum (no coordinate move lowers the objective)", () => {
    const { X, y } = imbalanced(300, 9);
    const m = new LinearSVM({ standardize: false, classWeight: "balanced", tol: 1e-8, maxIter: 100_000 }).fit(
      X,
      y,
    );
    const json = m.toJSON().state as { weights: number[]; bias: number };
    const w = Float64Array.from(json.weights);
    let n1 = 0;
    for (const v of y) n1 += v;
    const cw: [number, number] = [300 / (2 * (300 - n1)), 300 / (2 * n1)];
    const f0 = svmPrimal(X, y, w, json.bias, 1, cw);
    for (let j = 0; j <= 2; j++) {
      for (const delta of [-1e-3, 1e-3]) {
        const w2 = Float64Array.from(w);
        let b2 = json.bias;
        if (j < 2) w2[j] += delta;
        else b2 += delta;
        expect(svmPrimal(X, y, w2, b2, 1, cw)).toBeGreaterThanOrEqual(f0 - 1e-9);
      }
    }
  });

  it("the primal Newton solver reaches the same optimum as the dual, in a handful of iterations", () => {
    const { X, y } = imbalanced(3000, 4);
    const opts = { standardize: false, classWeight: "balanced" as const };
    const primal = new LinearSVM({ ...opts, solver: "primal", primalTol: 1e-8 }).fit(X, y);
    const dual = new LinearSVM({ ...opts, solver: "dual", tol: 1e-8, maxIter: 100_000 }).fit(X, y);
    expect(primal.iterations).toBeLessThan(15);
    expect(dual.iterations).toBeGreaterThan(primal.iterations);
    // The same objective (computed independently) and the same hyperplane.
    const n1 = y.reduce((a, b) => a + b, 0);
    const cw: [number, number] = [3000 / (2 * (3000 - n1)), 3000 / (2 * n1)];
    const state = (m: LinearSVM) => m.toJSON().state as { weights: number[]; bias: number };
    const fp = svmPrimal(X, y, Float64Array.from(state(primal).weights), state(primal).bias, 1, cw);
    const fd = svmPrimal(X, y, Float64Array.from(state(dual).weights), state(dual).bias, 1, cw);
    expect(Math.abs(fp - fd) / fd).toBeLessThan(1e-6);
    expect(primal.objective(X, y)).toBeCloseTo(fp, 6);
    state(primal).weights.forEach((w, j) => {
      expect(w).toBeCloseTo(state(dual).weights[j], 3);
    });
    expect(state(primal).bias).toBeCloseTo(state(dual).bias, 3);
  });

  it("on more active rows than the Hessian sample, the primal Newton solver with a sampled Hessian still reaches the optimum (zero gradient)", () => {
    const rows = hessianSampleRows(3) * 3;
    const { X, y } = imbalanced(rows, 12);
    const opts = { standardize: false, classWeight: "balanced" as const, solver: "primal" as const };
    const primal = new LinearSVM({ ...opts, primalTol: 1e-9 }).fit(X, y);
    const n1 = y.reduce((a, b) => a + b, 0);
    const cw = [rows / (2 * (rows - n1)), rows / (2 * n1)];
    const { weights, bias } = primal.toJSON().state as { weights: number[]; bias: number };
    const d = X.cols + 1;
    const grad = new Float64Array(d);
    for (let j = 0; j < X.cols; j++) grad[j] = weights[j];
    grad[X.cols] = bias;
    let scale = 0;
    for (let i = 0; i < rows; i++) {
      const sign = y[i] === 1 ? 1 : -1;
      let m = bias;
      for (let j = 0; j < X.cols; j++) m += weights[j] * X.data[i * X.cols + j];
      const slack = 1 - sign * m;
      scale += cw[y[i]];
      if (slack <= 0) continue;
      const k = -2 * cw[y[i]] * slack * sign;
      for (let j = 0; j < X.cols; j++) grad[j] += k * X.data[i * X.cols + j];
      grad[X.cols] += k;
    }
    for (const v of grad) expect(Math.abs(v) / scale).toBeLessThan(1e-6);
    expect(primal.iterations).toBeLessThan(25);
  });

  it("solver auto: the dual below PRIMAL_MIN_ROWS rows, the primal from there on", () => {
    const small = imbalanced(300, 5);
    expect(new LinearSVM().fit(small.X, small.y).iterations).toBeGreaterThan(15);
    const large = imbalanced(PRIMAL_MIN_ROWS, 6);
    expect(new LinearSVM().fit(large.X, large.y).iterations).toBeLessThan(15);
  });

  it("class_weight balanced (the default) moves the decision toward the minority class", () => {
    const { X, y } = imbalanced(4000, 10);
    const plain = new LinearSVM({ classWeight: undefined }).fit(X, y).decisionFunction(X);
    const balanced = new LinearSVM().fit(X, y).decisionFunction(X);
    expect(balanced.filter((d) => d > 0).length).toBeGreaterThan(plain.filter((d) => d > 0).length + 500);
  });

  it("Platt probabilities are increasing in the decision value and near the base rate on average", () => {
    const { X, y } = logisticData(3000, 11, -1, [1, 0.5], [1, 1], [0, 0]);
    const m = new LinearSVM().fit(X, y);
    const d = m.decisionFunction(X);
    const p = m.predictProba(X);
    const order = Array.from(d.keys()).sort((a, b) => d[a] - d[b]);
    for (let k = 1; k < order.length; k++) expect(p[order[k]]).toBeGreaterThanOrEqual(p[order[k - 1]]);
    expect(Math.abs(mean(p) - mean(y))).toBeLessThan(0.02);
    expect(m.plattParams.A).toBeLessThan(0);
  });
});
