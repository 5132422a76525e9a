import { describe, expect, it } from "vitest";
import { GradientBoostedTrees, LogisticRegression } from "../../src/models/index.ts";
import { Rng } from "../../src/models/random.ts";
import type { Matrix } from "../../src/models/types.ts";
import { accuracy, auc, imbalanced, logisticData, mean, separable, xor } from "./fixtures.ts";

interface TreeJSON {
  feature: number[];
  threshold: (number | null)[];
  left: number[];
  right: number[];
  missingRight: number[];
  value: number[];
  depth: number;
}

function treesOf(model: GradientBoostedTrees): TreeJSON[] {
  return (model.toJSON().state as { trees: TreeJSON[] }).trees;
}

/** Leaf reached by a row, walking the JSON form (an implementation independent of the model's predictor). */
function leafOf(tree: TreeJSON, row: ArrayLike<number>): number {
  let n = 0;
  while (tree.feature[n] >= 0) {
    const x = row[tree.feature[n]];
    const t = tree.threshold[n] ?? Number.POSITIVE_INFINITY;
    if (Number.isNaN(x)) n = tree.missingRight[n] === 1 ? tree.right[n] : tree.left[n];
    else n = x <= t ? tree.left[n] : tree.right[n];
  }
  return n;
}

function row(X: Matrix, i: number): Float32Array {
  return X.data.subarray(i * X.cols, (i + 1) * X.cols);
}

describe("GradientBoostedTrees", () => {
  it("fits axis-aligned separable data perfectly", () => {
    const rng = new Rng(1);
    const n = 1000;
    const data = new Float32Array(n * 2);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      data[2 * i] = rng.normal();
      data[2 * i + 1] = rng.normal();
      y[i] = data[2 * i] > 0.25 ? 1 : 0;
    }
    const X = { rows: n, cols: 2, data };
    const m = new GradientBoostedTrees({ nEstimators: 20, minSamplesLeaf: 1 }).fit(X, y);
    expect(accuracy(m.predictProba(X), y)).toBe(1);
    expect(treesOf(m)[0].feature[0]).toBe(0);
  });

  it("fits oblique separable data with enough trees", () => {
    const { X, y } = separable(600, 2, 0.2);
    const m = new GradientBoostedTrees({ nEstimators: 200, minSamplesLeaf: 1, maxLeaves: 8 }).fit(X, y);
    expect(accuracy(m.predictProba(X), y)).toBe(1);
  });

  it("learns XOR, which a linear model cannot", () => {
    const train = xor(4000, 3);
    const test = xor(2000, 4);
    const trees = new GradientBoostedTrees({ nEstimators: 50 }).fit(train.X, train.y);
    const linear = new LogisticRegression().fit(train.X, train.y);
    expect(accuracy(trees.predictProba(test.X), test.y)).toBeGreaterThan(0.97);
    expect(auc(linear.predictProba(test.X), test.y)).toBeLessThan(0.56);
  });

  it("ranks as well as the true probabilities of a logistic model", () => {
    const truth = [1, -0.7, 0.4];
    const train = logisticData(20_000, 5, -0.5, truth, [1, 1, 2], [0, 0, 0]);
    const test = logisticData(10_000, 6, -0.5, truth, [1, 1, 2], [0, 0, 0]);
    const valid = logisticData(5_000, 7, -0.5, truth, [1, 1, 2], [0, 0, 0]);
    const m = new GradientBoostedTrees({ learningRate: 0.05 }).fit(train.X, train.y, { validation: valid });
    const ours = auc(m.predictProba(test.X), test.y);
    const best = auc(test.p, test.y);
    expect(best - ours).toBeLessThan(0.01);
    // calibrated: mean prediction close to the observed rate
    expect(Math.abs(mean(m.predictProba(test.X)) - mean(test.y))).toBeLessThan(0.02);
  });

  it("learns a signal carried by missingness and routes NaN to the learned side", () => {
    const rng = new Rng(8);
    const n = 2000;
    const data = new Float32Array(n * 2);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const missing = rng.next() < 0.3;
      data[2 * i] = missing ? Number.NaN : rng.normal();
      data[2 * i + 1] = rng.normal();
      y[i] = missing ? 1 : 0;
    }
    const X = { rows: n, cols: 2, data };
    const m = new GradientBoostedTrees({ nEstimators: 30, learningRate: 0.3 }).fit(X, y);
    expect(accuracy(m.predictProba(X), y)).toBe(1);
    expect(m.predictOne([Number.NaN, 0])).toBeGreaterThan(0.9);
    expect(m.predictOne([0.5, 0])).toBeLessThan(0.1);
    // column 1 never had NaN in training: a NaN there still gets a prediction from the larger side
    expect(Number.isFinite(m.predictOne([0.5, Number.NaN]))).toBe(true);
  });

  it("batch, single-row and an independent tree walk agree, NaN included", () => {
    const { X, y } = logisticData(3000, 9, 0, [1, 1, -1, 0.5], [1, 1, 1, 1], [0, 0, 0, 0]);
    for (let i = 0; i < X.data.length; i += 7) X.data[i] = Number.NaN;
    const m = new GradientBoostedTrees({ nEstimators: 40 }).fit(X, y);
    const batch = m.predictProba(X);
    const raw = m.decisionFunction(X);
    const trees = treesOf(m);
    const base = m.toJSON().state.baseScore as number;
    for (let i = 0; i < X.rows; i += 13) {
      const r = row(X, i);
      let score = base;
      for (const t of trees) score += t.value[leafOf(t, r)];
      expect(raw[i]).toBeCloseTo(score, 10);
      expect(m.predictOne(X.data, i * X.cols)).toBe(batch[i]);
    }
  });

  it("respects minSamplesLeaf, maxLeaves and, depth-wise, maxDepth", () => {
    const { X, y } = logisticData(3000, 10, 0, [1, -1, 0.5], [1, 1, 1], [0, 0, 0]);
    const m = new GradientBoostedTrees({ nEstimators: 5, minSamplesLeaf: 50, maxLeaves: 12 }).fit(X, y);
    for (const t of treesOf(m)) {
      const counts = new Map<number, number>();
      for (let i = 0; i < X.rows; i++) {
        const leaf = leafOf(t, row(X, i));
        counts.set(leaf, (counts.get(leaf) ?? 0) + 1);
      }
      expect(counts.size).toBeLessThanOrEqual(12);
      expect(counts.size).toBeGreaterThan(6);
      for (const c of counts.values()) expect(c).toBeGreaterThanOrEqual(50);
    }
    const d = new GradientBoostedTrees({
      nEstimators: 5,
      growth: "depthwise",
      maxDepth: 3,
      maxLeaves: 1000,
    }).fit(X, y);
    for (const t of treesOf(d)) {
      expect(t.depth).toBeLessThanOrEqual(3);
      expect(t.feature.filter((f) => f < 0).length).toBe(8);
    }
  });

  it("respects minSamplesLeaf exactly on large nodes too, where histogram counts are estimated", () => {
    const { X, y } = logisticData(40_000, 17, 0, [1, -1, 0.5], [1, 1, 1], [0, 0, 0]);
    const m = new GradientBoostedTrees({ nEstimators: 2, minSamplesLeaf: 1500, maxLeaves: 31 }).fit(X, y);
    for (const t of treesOf(m)) {
      const counts = new Map<number, number>();
      for (let i = 0; i < X.rows; i++) {
        const leaf = leafOf(t, row(X, i));
        counts.set(leaf, (counts.get(leaf) ?? 0) + 1);
      }
      expect(counts.size).toBeGreaterThan(5);
      for (const c of counts.values()) expect(c).toBeGreaterThanOrEqual(1500);
    }
  });

  it("early stopping stops when validation loss stops improving and keeps the best trees", () => {
    const rng = new Rng(11);
    const noise = (n: number) => {
      const data = new Float32Array(n * 3);
      const y = new Uint8Array(n);
      for (let i = 0; i < data.length; i++) data[i] = rng.normal();
      for (let i = 0; i < n; i++) y[i] = rng.next() < 0.4 ? 1 : 0;
      return { X: { rows: n, cols: 3, data }, y };
    };
    const train = noise(2000);
    const valid = noise(1000);
    const m = new GradientBoostedTrees({ nEstimators: 300, earlyStoppingRounds: 10 }).fit(train.X, train.y, {
      validation: valid,
    });
    expect(m.validationLoss.length).toBeLessThan(100);
    expect(m.validationLoss.length).toBe(m.treeCount + 10);
    const best = Math.min(...m.validationLoss);
    expect(m.validationLoss[m.treeCount - 1]).toBe(best);
  });

  it("earlyStoppingRounds 0 keeps every tree and still records the validation loss", () => {
    const train = xor(1000, 15);
    const valid = xor(500, 16);
    const m = new GradientBoostedTrees({ nEstimators: 25, earlyStoppingRounds: 0 }).fit(train.X, train.y, {
      validation: valid,
    });
    expect(m.treeCount).toBe(25);
    expect(m.validationLoss.length).toBe(25);
  });

  it("balanced class weights move predictions toward the minority class; base score = weighted log-odds", () => {
    const { X, y } = imbalanced(4000, 12);
    const plain = new GradientBoostedTrees({ nEstimators: 30 }).fit(X, y);
    const balanced = new GradientBoostedTrees({ nEstimators: 30, scalePosWeight: "balanced" }).fit(X, y);
    const weighted = new GradientBoostedTrees({ nEstimators: 30, scalePosWeight: 9 }).fit(X, y);
    expect(balanced.toJSON().state.baseScore).toBeCloseTo(0, 10);
    const rate = mean(y);
    expect(plain.toJSON().state.baseScore).toBeCloseTo(Math.log(rate / (1 - rate)), 10);
    expect(weighted.toJSON().state.baseScore).toBeCloseTo(Math.log((9 * rate) / (1 - rate)), 10);
    const pp = plain.predictProba(X);
    const pb = balanced.predictProba(X);
    expect(mean(pb)).toBeGreaterThan(mean(pp) + 0.2);
    expect(pb.filter((p) => p >= 0.5).length).toBeGreaterThan(pp.filter((p) => p >= 0.5).length + 500);
  });

  it("split-gain importance puts the informative column first", () => {
    const { X, y } = logisticData(3000, 13, 0, [0, 2, 0.3], [1, 1, 1], [0, 0, 0]);
    const imp = new GradientBoostedTrees({ nEstimators: 20 }).fit(X, y).featureImportance();
    expect(imp[1]).toBeGreaterThan(imp[0] * 5);
    expect(imp[1]).toBeGreaterThan(imp[2]);
  });

  it("row and column subsampling are reproducible with a seed and still learn", () => {
    const train = xor(3000, 14);
    const params = { nEstimators: 60, subsample: 0.7, colsampleByTree: 0.67, seed: 3 };
    const a = new GradientBoostedTrees(params).fit(train.X, train.y).predictProba(train.X);
    const b = new GradientBoostedTrees(params).fit(train.X, train.y).predictProba(train.X);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(accuracy(a, train.y)).toBeGreaterThan(0.9);
  });

  it("rejects bad parameters", () => {
    expect(() => new GradientBoostedTrees({ maxBins: 300 })).toThrow(/maxBins/);
    expect(() => new GradientBoostedTrees({ learningRate: 0 })).toThrow(/learningRate/);
    expect(() => new GradientBoostedTrees({ subsample: 0 })).toThrow(/subsample/);
  });
});
