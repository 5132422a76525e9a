import { describe, expect, it } from "vitest";
import { binMatrix, fitBinMapper } from "../../src/models/gbdt/binning.ts";
import { TreeGrower } from "../../src/models/gbdt/grow.ts";
import { Rng } from "../../src/models/random.ts";

interface HistogramBuilders {
  buildRootHistogram(hist: Float64Array, used: number): void;
  buildHistogram(hist: Float64Array, begin: number, end: number): void;
  buildHistogramWithCounts(hist: Float64Array, begin: number, end: number): void;
}

// The histograms are built several columns per pass; each bin must still add its rows in row order, so
// the sums (and hence every split and leaf) equal those of this one-column-at-a-time reference bit for bit.
describe("TreeGrower histograms", () => {
  it("equal a one-column-at-a-time pass bit for bit, for 13 columns (8 + 4 + 1 per pass) and a column subset", () => {
    const rows = 3000;
    const cols = 13;
    const rng = new Rng(5);
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < data.length; i++) {
      const f = i % cols;
      data[i] = f % 3 === 0 ? rng.int(2) : f % 3 === 1 ? rng.int(7) : rng.normal() * 1e3;
      if (rng.next() < 0.1) data[i] = Number.NaN;
    }
    const X = { rows, cols, data };
    const mapper = fitBinMapper(X, 255, rows, 1);
    const { bins } = binMatrix(X, mapper);
    const grad = Float32Array.from({ length: rows }, () => rng.normal() * Math.exp(rng.normal() * 4));
    const hess = Float32Array.from({ length: rows }, () => rng.next() * 0.25);
    const grower = new TreeGrower(bins, rows, mapper, grad, hess, {
      growth: "leafwise",
      maxLeaves: 31,
      maxDepth: Number.POSITIVE_INFINITY,
      lambda: 1,
      minChildWeight: 1e-3,
      minSamplesLeaf: 1,
      minSplitGain: 0,
      learningRate: 0.1,
    });
    const offset = new Int32Array(cols + 1);
    for (let f = 0; f < cols; f++) offset[f + 1] = offset[f] + mapper.valueBins[f] + 1;
    const size = offset[cols] * 3;
    const builders = grower as unknown as HistogramBuilders;
    // Every other row, still in ascending order, as a node's rows.
    const used = rows >> 1;
    for (let k = 0; k < used; k++) grower.rowIdx[k] = 2 * k + 1;
    const reference = (features: Int32Array, rowsOf: (k: number) => number, n: number, counts: boolean) => {
      const hist = new Float64Array(size);
      for (const f of features) {
        for (let k = 0; k < n; k++) {
          const r = rowsOf(k);
          const j = (offset[f] + bins[f * rows + r]) * 3;
          hist[j] += grad[r];
          hist[j + 1] += hess[r];
          if (counts) hist[j + 2] += 1;
        }
      }
      return hist;
    };
    const mismatches = (a: Float64Array, b: Float64Array) => {
      let m = 0;
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) m++;
      return m;
    };
    for (const features of [grower.features, Int32Array.from([0, 2, 3, 5, 6, 7, 8, 9, 11, 12])]) {
      grower.features = features;
      const root = new Float64Array(size);
      builders.buildRootHistogram(root, rows);
      expect(
        mismatches(
          root,
          reference(features, (k) => k, rows, false),
        ),
      ).toBe(0);
      const node = new Float64Array(size);
      builders.buildHistogram(node, 0, used);
      expect(
        mismatches(
          node,
          reference(features, (k) => 2 * k + 1, used, false),
        ),
      ).toBe(0);
      const counted = new Float64Array(size);
      builders.buildHistogramWithCounts(counted, 0, used);
      expect(
        mismatches(
          counted,
          reference(features, (k) => 2 * k + 1, used, true),
        ),
      ).toBe(0);
      expect(counted.some((v) => v !== 0)).toBe(true);
    }
  });
});
