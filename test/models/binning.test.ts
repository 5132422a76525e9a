import { describe, expect, it } from "vitest";
import { binColumnValue, binMatrix, fitBinMapper } from "../../src/models/gbdt/binning.ts";
import { GradientBoostedTrees } from "../../src/models/index.ts";
import { Rng } from "../../src/models/random.ts";
import { matrix } from "./fixtures.ts";

describe("binning", () => {
  it("gives each distinct value its own bin when there are few, and NaN the missing bin", () => {
    const X = matrix([[3], [1], [2], [Number.NaN], [2], [1]]);
    const mapper = fitBinMapper(X, 255, 1000, 1);
    expect(mapper.valueBins[0]).toBe(3);
    expect(Array.from(mapper.edges)).toEqual([1.5, 2.5]);
    expect(Array.from(binMatrix(X, mapper).bins)).toEqual([2, 0, 1, 3, 1, 0]);
  });

  it("cuts many distinct values into at most maxBins quantile bins, consistent with x ≤ edge", () => {
    const rng = new Rng(2);
    const n = 20_000;
    const data = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      data[2 * i] = rng.normal();
      data[2 * i + 1] = rng.int(3);
    }
    const X = { rows: n, cols: 2, data };
    const mapper = fitBinMapper(X, 32, 5000, 3);
    expect(mapper.valueBins[0]).toBeLessThanOrEqual(32);
    expect(mapper.valueBins[0]).toBeGreaterThan(28);
    expect(mapper.valueBins[1]).toBe(3);
    const { bins } = binMatrix(X, mapper);
    const counts = new Array(mapper.valueBins[0]).fill(0);
    for (let i = 0; i < n; i++) {
      const b = bins[i];
      const x = data[2 * i];
      const edges = mapper.edges.subarray(mapper.edgeStart[0], mapper.edgeStart[0] + mapper.valueBins[0] - 1);
      if (b < edges.length) expect(x).toBeLessThanOrEqual(edges[b]);
      if (b > 0) expect(x).toBeGreaterThan(edges[b - 1]);
      expect(binColumnValue(mapper, 0, x)).toBe(b);
      counts[b]++;
    }
    // quantile bins: roughly equal populations
    for (const c of counts) expect(c).toBeGreaterThan(n / 32 / 2);
  });
});

/** Brute-force best split of rows `rows` for the logistic loss at raw score `base` (gain as the grower computes it). */
function bruteForceSplit(
  data: Float32Array,
  cols: number,
  y: Uint8Array,
  rows: number[],
  base: number,
  lambda: number,
) {
  const p = 1 / (1 + Math.exp(-base));
  let G = 0;
  let H = 0;
  for (const r of rows) {
    G += p - y[r];
    H += p * (1 - p);
  }
  let best = { gain: 0, feature: -1, threshold: 0 };
  for (let f = 0; f < cols; f++) {
    const values = [...new Set(rows.map((r) => data[r * cols + f]))].sort((a, b) => a - b);
    for (let k = 0; k + 1 < values.length; k++) {
      let gl = 0;
      let hl = 0;
      for (const r of rows) {
        if (data[r * cols + f] <= values[k]) {
          gl += p - y[r];
          hl += p * (1 - p);
        }
      }
      const gr = G - gl;
      const hr = H - hl;
      const gain = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - (G * G) / (H + lambda));
      if (gain > best.gain + 1e-12) best = { gain, feature: f, threshold: (values[k] + values[k + 1]) / 2 };
    }
  }
  return best;
}

describe("tree growth", () => {
  it("finds the brute-force best split at the root and in both children (histogram subtraction)", () => {
    const rng = new Rng(5);
    const n = 400;
    const cols = 3;
    const data = new Float32Array(n * cols);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < cols; j++) data[i * cols + j] = rng.int(40);
      const logit = 0.1 * (data[i * cols] - 20) + (data[i * cols + 1] > 25 ? 1 : -0.5);
      y[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    }
    const X = { rows: n, cols, data };
    const model = new GradientBoostedTrees({
      nEstimators: 1,
      maxLeaves: 4,
      growth: "depthwise",
      maxDepth: 2,
      minSamplesLeaf: 1,
      learningRate: 1,
    }).fit(X, y);
    const state = model.toJSON().state as {
      baseScore: number;
      trees: { feature: number[]; threshold: number[]; left: number[]; right: number[]; gain: number[] }[];
    };
    const tree = state.trees[0];
    const all = Array.from({ length: n }, (_, i) => i);
    const root = bruteForceSplit(data, cols, y, all, state.baseScore, 1);
    expect(tree.feature[0]).toBe(root.feature);
    expect(tree.threshold[0]).toBeCloseTo(root.threshold, 6);
    expect(tree.gain[0]).toBeCloseTo(root.gain, 4); // gradients are float32
    const leftRows = all.filter((r) => data[r * cols + root.feature] <= root.threshold);
    const rightRows = all.filter((r) => data[r * cols + root.feature] > root.threshold);
    for (const [node, rows] of [
      [tree.left[0], leftRows],
      [tree.right[0], rightRows],
    ] as const) {
      const best = bruteForceSplit(data, cols, y, rows, state.baseScore, 1);
      expect(tree.feature[node]).toBe(best.feature);
      expect(tree.threshold[node]).toBeCloseTo(best.threshold, 6);
      expect(tree.gain[node]).toBeCloseTo(best.gain, 4);
    }
  });
});

// binMatrix looks bins up in per-cell tables; binColumnValue is the plain binary search over the edges.
describe("binMatrix", () => {
  it("gives every value the bin of a binary search over the edges, at edges, their float32 neighbours and the extremes", () => {
    const rng = new Rng(8);
    const rows = 20_000;
    const cols = 5;
    const data = new Float32Array(rows * cols);
    const special = [0, -0, 1e-45, -1e-45, 3.4e38, -3.4e38, Infinity, -Infinity, Number.NaN];
    for (let i = 0; i < rows; i++) {
      data[i * cols] = rng.normal() * 1e3; // wide
      data[i * cols + 1] = 1 + rng.next() * 1e-3; // every edge in a few cells (the binary-search path)
      data[i * cols + 2] = rng.int(6) - 2; // few distinct values, negatives
      data[i * cols + 3] = Math.exp(rng.normal() * 10); // many binades
      data[i * cols + 4] = special[rng.int(special.length)];
    }
    const X = { rows, cols, data };
    const mapper = fitBinMapper(X, 255, 5_000, 3);
    // Probe rows: each edge, its float32 neighbours, and the special values, in every column.
    const probes: number[] = [...special];
    for (const e of mapper.edges) {
      const f = Math.fround(e);
      probes.push(f, nextFloat32(f, 1), nextFloat32(f, -1));
    }
    const P = new Float32Array(probes.length * cols);
    for (let k = 0; k < probes.length; k++) for (let f = 0; f < cols; f++) P[k * cols + f] = probes[k];
    for (const M of [X, { rows: probes.length, cols, data: P }]) {
      const { bins } = binMatrix(M, mapper);
      let wrong = 0;
      for (let i = 0; i < M.rows; i++) {
        for (let f = 0; f < cols; f++) {
          if (bins[f * M.rows + i] !== binColumnValue(mapper, f, M.data[i * cols + f])) wrong++;
        }
      }
      expect(wrong).toBe(0);
    }
  });
});

function nextFloat32(x: number, direction: 1 | -1): number {
  const f = new Float32Array([x]);
  const u = new Int32Array(f.buffer);
  if (x === 0) return direction * 1e-45;
  u[0] += (x > 0 ? 1 : -1) * direction;
  return f[0];
}
