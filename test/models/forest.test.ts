import { describe, expect, it } from "vitest";
import {
  type Forest,
  flattenForest,
  float32Below,
  predictRawBatch,
  predictRawOne,
} from "../../src/models/gbdt/forest.ts";
import type { Tree } from "../../src/models/gbdt/tree.ts";
import { GradientBoostedTrees } from "../../src/models/index.ts";
import { Rng } from "../../src/models/random.ts";
import type { Matrix } from "../../src/models/types.ts";

// The batch walk before the chained float32 layout (four rows abreast, per tree, float64 thresholds):
// kept verbatim as the reference the new layout must reproduce bit for bit.
function gt(x: number, t: number): number {
  return (x > t) as unknown as number;
}
function notLe(x: number, t: number): number {
  return !(x <= t) as unknown as number;
}
function referenceBatch(
  forest: Forest,
  data: Float32Array,
  rows: number,
  cols: number,
  out: Float64Array,
): void {
  const { roots, meta, first, threshold: thr, value, baseScore } = forest;
  for (let start = 0; start < rows; start += 64) {
    const stop = Math.min(start + 64, rows);
    for (let i = start; i < stop; i++) out[i] = baseScore;
    for (let t = 0; t < roots.length; t++) {
      for (let i = start; i < stop; i++) {
        const o = i * cols;
        let n = roots[t];
        while (first[n] !== n) {
          const m = meta[n];
          const x = data[o + (m >> 1)];
          const th = thr[n];
          n = first[n] + (gt(x, th) | (m & 1 & notLe(x, th)));
        }
        out[i] += value[n];
      }
    }
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The next float32 above x (x a finite float32). */
function nextUp32(x: number): number {
  f32[0] = x;
  if (x === 0) u32[0] = 1;
  else u32[0] = x > 0 ? u32[0] + 1 : u32[0] - 1;
  return f32[0];
}
function nextDown32(x: number): number {
  return -nextUp32(-x);
}

/** Gaussian, integer and binary columns, ~20 % NaN in every third column. */
function noisyMatrix(rows: number, cols: number, seed: number): { X: Matrix; y: Uint8Array } {
  const rng = new Rng(seed);
  const data = new Float32Array(rows * cols);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      let v = j % 4 === 1 ? rng.int(12) : j % 4 === 2 ? (rng.next() < 0.4 ? 1 : 0) : rng.normal() * 3.7;
      if (j % 3 === 0 && rng.next() < 0.2) v = Number.NaN;
      data[i * cols + j] = v;
      s += Number.isNaN(data[i * cols + j]) ? 0.8 : Math.sin(data[i * cols + j] * (j + 1));
    }
    y[i] = rng.next() < 1 / (1 + Math.exp(-s)) ? 1 : 0;
  }
  return { X: { rows, cols, data }, y };
}

function expectBitIdentical(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  let mismatches = 0;
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) mismatches++;
  expect(mismatches).toBe(0);
}

function forestOf(m: GradientBoostedTrees): Forest {
  return (m as unknown as { forest: Forest }).forest;
}

describe("float32Below", () => {
  it("is the largest float32 not above t, so float32 data compares to it as to t", () => {
    const rng = new Rng(7);
    const specials = [
      0, -0, 1e-45, -1e-45, 1e-46, -1e-46, 3.4028234663852886e38, 3.5e38, -3.5e38, 1e300, -1e300,
    ];
    const ts: number[] = [...specials, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (let k = 0; k < 3000; k++) {
      const a = Math.fround(rng.normal() * 10 ** rng.int(8));
      const b = nextUp32(a);
      ts.push(a, a + (b - a) / 2, a + (b - a) / 3, -(a + (b - a) / 2), rng.normal());
    }
    const wrong: string[] = [];
    for (const t of ts) {
      const d = float32Below(t);
      if (Math.fround(d) !== d || !(d <= t)) wrong.push(`${t} → ${d}`);
      if (Number.isFinite(d) && d < 3.4028234663852886e38 && !(nextUp32(d) > t))
        wrong.push(`${t} → ${d} (not largest)`);
      const f = Math.fround(t);
      const probes = Number.isFinite(f)
        ? [f, nextUp32(f), nextDown32(f), -f, 0, -0, Number.NaN]
        : [0, Number.NaN];
      probes.push(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
      for (const x of probes) if (x > d !== x > t || x <= d !== x <= t) wrong.push(`x ${x} vs ${t} / ${d}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});

describe("predictRawBatch", () => {
  it("gives bit-identical scores to the per-tree float64 walk and to predictRawOne, NaN included", () => {
    const { X, y } = noisyMatrix(3000, 9, 11);
    const m = new GradientBoostedTrees({ nEstimators: 60, maxLeaves: 31, learningRate: 0.2 }).fit(X, y);
    const forest = forestOf(m);
    // Rows at and beside every threshold: the float32 neighbours are where a rounded threshold would err.
    const test = noisyMatrix(1003, 9, 12).X;
    let r = 0;
    for (let n = 0; n < forest.meta.length && r < test.rows; n++) {
      const t = forest.threshold[n];
      if (forest.first[n] === n || !Number.isFinite(t)) continue;
      const f = forest.meta[n] >> 1;
      const c = Math.fround(t);
      for (const v of [c, nextUp32(c), nextDown32(c)]) if (r < test.rows) test.data[r++ * test.cols + f] = v;
    }
    expect(r).toBeGreaterThan(300);
    for (const rows of [test.rows, 1, 7, 8, 9, 0]) {
      const expected = new Float64Array(rows);
      referenceBatch(forest, test.data, rows, test.cols, expected);
      const actual = new Float64Array(rows).fill(Number.NaN);
      predictRawBatch(forest, test.data, rows, test.cols, actual);
      expectBitIdentical(actual, expected);
      const one = Float64Array.from({ length: rows }, (_, i) =>
        predictRawOne(forest, test.data, i * test.cols),
      );
      expectBitIdentical(one, expected);
    }
  });

  it("handles a forest without trees and hand-built trees with non-float32 thresholds", () => {
    const empty = flattenForest([], 0.25);
    const out = new Float64Array(3);
    predictRawBatch(empty, new Float32Array(6), 3, 2, out);
    expect(Array.from(out)).toEqual([0.25, 0.25, 0.25]);
    // x0 ≤ 0.1 (not a float32) → leaf −1, else → x1 missing-right split at +∞ (present left 2, NaN right 3).
    const tree: Tree = {
      feature: Int32Array.from([0, -1, 1, -1, -1]),
      threshold: Float64Array.from([0.1, 0, Number.POSITIVE_INFINITY, 0, 0]),
      left: Int32Array.from([1, -1, 3, -1, -1]),
      right: Int32Array.from([2, -1, 4, -1, -1]),
      missingRight: Uint8Array.from([0, 0, 1, 0, 0]),
      value: Float64Array.from([0, -1, 0, 2, 3]),
      gain: new Float64Array(5),
      depth: 2,
    };
    const forest = flattenForest([tree, tree], 0.5);
    const c = Math.fround(0.1); // 0.100000001…, above 0.1
    const data = Float32Array.from([nextDown32(c), 5, c, 5, c, Number.NaN, Number.NaN, 1]);
    const got = new Float64Array(4);
    predictRawBatch(forest, data, 4, 2, got);
    expect(Array.from(got)).toEqual([-1.5, 4.5, 6.5, -1.5]);
  });
});
