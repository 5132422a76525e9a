// The GBDT's boosting threads (src/models/gbdt/threads.ts) change how fast it fits, never what: the same
// seed gives bit-identical trees with 1, 2 or 3 threads, with and without row and column subsampling.
import { describe, expect, it } from "vitest";
import { PARALLEL_MIN_ROWS } from "../../src/models/gbdt/threads.ts";
import { GradientBoostedTrees } from "../../src/models/gbdt.ts";
import { Rng } from "../../src/models/random.ts";
import type { Matrix } from "../../src/models/types.ts";

function data(rows: number, cols: number, seed: number): { X: Matrix; y: Uint8Array } {
  const rng = new Rng(seed);
  const X = new Float32Array(rows * cols);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    let m = -0.3;
    for (let j = 0; j < cols; j++) {
      // Some columns low-cardinality, some missing now and then: every kernel path is taken.
      const x = j % 4 === 0 ? Math.floor(rng.next() * 5) : rng.next() * 2 - 1;
      X[i * cols + j] = j % 7 === 3 && rng.next() < 0.05 ? Number.NaN : x;
      if (j < 6) m += (j % 2 === 0 ? 1 : -1) * (Number.isNaN(X[i * cols + j]) ? 0 : x) * 0.8;
    }
    y[i] = rng.next() < 1 / (1 + Math.exp(-m)) ? 1 : 0;
  }
  return { X: { rows, cols, data: X }, y };
}

describe("GBDT histogram threads", () => {
  const rows = PARALLEL_MIN_ROWS * 2 + 123;
  const { X, y } = data(rows, 19, 5);
  const trees = (threads: number, extra: Record<string, number> = {}) => {
    const model = new GradientBoostedTrees({
      nEstimators: 12,
      maxLeaves: 15,
      minSamplesLeaf: 20,
      threads,
      ...extra,
    });
    model.fit(X, y);
    // The threads did build histograms (a fit that fell back to one thread would prove nothing).
    expect(model.fitThreads).toBe(threads);
    return JSON.stringify(model.toJSON().state);
  };

  it("fits the same trees on 1, 2 and 3 threads", () => {
    const one = trees(1);
    expect(trees(2)).toBe(one);
    expect(trees(3)).toBe(one);
  });

  it("also with row and column subsampling", () => {
    const options = { subsample: 0.7, colsampleByTree: 0.6 };
    expect(trees(2, options)).toBe(trees(1, options));
  });
});
