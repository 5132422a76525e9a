import { describe, expect, it } from "vitest";
import type { Matrix, Model, ModelJSON } from "../../src/models/types.ts";
import { permutationImportance } from "../../src/train/importance.ts";
import { rocAuc } from "../../src/train/metrics.ts";

/** A fixed logistic scorer: P(skip) = sigmoid(w · x). Column weights decide what matters. */
class FixedLinear implements Model {
  readonly kind = "fixed-linear";
  calls = 0;
  constructor(private readonly weights: number[]) {}
  fit(): this {
    return this;
  }
  predictProba(X: Matrix, out = new Float64Array(X.rows)): Float64Array {
    this.calls++;
    for (let i = 0; i < X.rows; i++) {
      let z = 0;
      for (let c = 0; c < X.cols; c++) z += this.weights[c] * X.data[i * X.cols + c];
      out[i] = 1 / (1 + Math.exp(-z));
    }
    return out;
  }
  toJSON(): ModelJSON {
    return { kind: this.kind, version: 1, params: { weights: this.weights }, state: {} };
  }
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Labels drawn from sigmoid(2·x0 + 0.7·x1); x2 is noise. */
function dataset(rows: number, seed = 5): { X: Matrix; y: Uint8Array } {
  const rand = lcg(seed);
  const data = new Float32Array(rows * 3);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const x0 = rand() * 4 - 2;
    const x1 = rand() * 4 - 2;
    data.set([x0, x1, rand() * 4 - 2], i * 3);
    y[i] = rand() < 1 / (1 + Math.exp(-(2 * x0 + 0.7 * x1))) ? 1 : 0;
  }
  return { X: { rows, cols: 3, data }, y };
}

describe("permutationImportance", () => {
  const { X, y } = dataset(2000);
  const model = new FixedLinear([2, 0.7, 0]);

  it("ranks the columns by how much the model uses them and gives 0 to an ignored column", () => {
    const result = permutationImportance(model, X, y, {
      featureNames: ["strong", "weak", "noise"],
      repeats: 4,
    });
    expect(result.names).toEqual(["strong", "weak", "noise"]);
    expect(result.mean[0]).toBeGreaterThan(result.mean[1]);
    expect(result.mean[1]).toBeGreaterThan(0.01);
    // The model ignores column 2, so shuffling it cannot change a single score.
    expect(result.mean[2]).toBe(0);
    expect(result.std[2]).toBe(0);
    expect(result.std[0]).toBeGreaterThan(0);
    expect(result.baseline).toBeCloseTo(rocAuc(y, model.predictProba(X)), 12);
    // Shuffling the strong column leaves only the weak one: AUC falls far below the baseline.
    expect(result.mean[0]).toBeGreaterThan(0.15);
  });

  it("is deterministic for a seed and changes with it", () => {
    const a = permutationImportance(model, X, y, { repeats: 3, seed: 1 });
    const b = permutationImportance(model, X, y, { repeats: 3, seed: 1 });
    const c = permutationImportance(model, X, y, { repeats: 3, seed: 2 });
    expect(Array.from(a.mean)).toEqual(Array.from(b.mean));
    expect(Array.from(a.std)).toEqual(Array.from(b.std));
    expect(a.mean[0]).not.toBe(c.mean[0]);
    expect(a.names).toEqual(["f0", "f1", "f2"]);
  });

  it("works on a row sample, leaves X untouched and reports progress", () => {
    const before = Float32Array.from(X.data);
    const progress: Array<[number, number]> = [];
    const counting = new FixedLinear([2, 0.7, 0]);
    const result = permutationImportance(counting, X, y, {
      maxRows: 300,
      repeats: 2,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(result.rowsUsed).toBe(300);
    expect(result.repeats).toBe(2);
    expect(Array.from(X.data)).toEqual(Array.from(before));
    expect(progress.length).toBe(6);
    expect(progress[5]).toEqual([6, 6]);
    expect(counting.calls).toBe(1 + 3 * 2);
    expect(result.mean[0]).toBeGreaterThan(0.1);
  });

  it("gives every row's shuffle a drop of exactly 0 or 1 on a two-row perfect ranking", () => {
    const tiny: Matrix = { rows: 2, cols: 1, data: Float32Array.from([0, 1]) };
    const result = permutationImportance(new FixedLinear([1]), tiny, Uint8Array.from([0, 1]), {
      repeats: 10,
    });
    expect(result.baseline).toBe(1);
    // Each repeat either keeps the order (drop 0) or swaps it (drop 1), so mean·repeats is an integer.
    expect(Number.isInteger(Math.round(result.mean[0] * 10 * 1e9) / 1e9)).toBe(true);
    expect(result.std[0]).toBeCloseTo(Math.sqrt(result.mean[0] * (1 - result.mean[0])), 12);
  });

  it("rejects mismatched shapes and names", () => {
    expect(() => permutationImportance(model, X, new Uint8Array(3))).toThrow(/2000 rows but y has 3/);
    expect(() => permutationImportance(model, X, y, { featureNames: ["a"] })).toThrow(
      /1 feature names for 3/,
    );
    expect(() => permutationImportance(model, X, y, { repeats: 0 })).toThrow(/repeats/);
  });
});
