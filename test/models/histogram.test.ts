import { describe, expect, it } from "vitest";
import { binMatrix, fitBinMapper } from "../../src/models/gbdt/binning.ts";
import {
  addHistogram,
  type HistogramInputs,
  histogramChunk,
  KERNEL_COUNTED,
  KERNEL_NODE,
  KERNEL_ROOT,
} from "../../src/models/gbdt/histogram.ts";
import { gradientScales, logisticGradients } from "../../src/models/gbdt/loss.ts";
import { joinParts, partitionPart } from "../../src/models/gbdt/partition.ts";
import { Rng } from "../../src/models/random.ts";

const rows = 3000;
const cols = 13;

function setup(seed: number) {
  const rng = new Rng(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    const f = i % cols;
    data[i] = f % 3 === 0 ? rng.int(2) : f % 3 === 1 ? rng.int(7) : rng.normal() * 1e3;
    if (rng.next() < 0.1) data[i] = Number.NaN;
  }
  const X = { rows, cols, data };
  const mapper = fitBinMapper(X, 255, rows, 1);
  const { bins } = binMatrix(X, mapper);
  const binOffset = new Int32Array(cols + 1);
  for (let f = 0; f < cols; f++) binOffset[f + 1] = binOffset[f] + mapper.valueBins[f] + 1;
  const inputs: HistogramInputs = {
    bins,
    rows,
    grad: new Float32Array(rows),
    hess: new Float32Array(rows),
    binOffset,
    valueBins: Int32Array.from(mapper.valueBins),
    rowIdx: new Int32Array(rows),
    og: new Float32Array(rows),
    oh: new Float32Array(rows),
  };
  return { rng, inputs, mapper, size: binOffset[cols] * 3 };
}

const mismatches = (a: Float64Array, b: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) m++;
  return m;
};

describe("GBDT histogram kernels", () => {
  // The kernels add several columns per pass; each bin must still get exactly its rows' sums, those of
  // this one-column-at-a-time reference (in row order, so even arbitrary float gradients agree bit for bit).
  it("equal a one-column-at-a-time pass, for 13 columns (8 + 4 + 1 per pass) and a column subset", () => {
    const { rng, inputs, size } = setup(5);
    const { bins, grad, hess, binOffset, rowIdx } = inputs;
    for (let r = 0; r < rows; r++) {
      grad[r] = rng.normal() * Math.exp(rng.normal() * 4);
      hess[r] = rng.next() * 0.25;
    }
    // Every other row, still in ascending order, as a node's rows at positions 100..100+used.
    const used = rows >> 1;
    for (let k = 0; k < used; k++) rowIdx[100 + k] = 2 * k + 1;
    const reference = (features: Int32Array, rowsOf: (k: number) => number, n: number, counts: boolean) => {
      const hist = new Float64Array(size);
      for (const f of features) {
        for (let k = 0; k < n; k++) {
          const r = rowsOf(k);
          const j = (binOffset[f] + bins[f * rows + r]) * 3;
          hist[j] += grad[r];
          hist[j + 1] += hess[r];
          if (counts) hist[j + 2] += 1;
        }
      }
      return hist;
    };
    const all = Int32Array.from({ length: cols }, (_, f) => f);
    for (const features of [all, Int32Array.from([0, 2, 3, 5, 6, 7, 8, 9, 11, 12])]) {
      const nf = features.length;
      const root = new Float64Array(size);
      histogramChunk(KERNEL_ROOT, inputs, root, features, nf, 0, rows, true);
      expect(
        mismatches(
          root,
          reference(features, (k) => k, rows, false),
        ),
      ).toBe(0);
      // Each kernel zeroes the active features' bins first: a reused buffer gives the same sums.
      const node = new Float64Array(size);
      for (const f of features) node.fill(7, binOffset[f] * 3, binOffset[f + 1] * 3);
      histogramChunk(KERNEL_NODE, inputs, node, features, nf, 100, 100 + used, true);
      expect(
        mismatches(
          node,
          reference(features, (k) => 2 * k + 1, used, false),
        ),
      ).toBe(0);
      const counted = new Float64Array(size);
      histogramChunk(KERNEL_COUNTED, inputs, counted, features, nf, 100, 100 + used, true);
      expect(
        mismatches(
          counted,
          reference(features, (k) => 2 * k + 1, used, true),
        ),
      ).toBe(0);
      expect(counted.some((v) => v !== 0)).toBe(true);
    }
  });

  // Fixed-point gradients make every sum exact: a node's histogram built in parts (as the threads do) and
  // joined, or over its rows in another order, is the same bits as one pass. Float gradients would not be.
  it("built in parts or in another row order, equal one pass bit for bit with fixed-point gradients", () => {
    const { rng, inputs, size } = setup(9);
    const raw = Float64Array.from({ length: rows }, () => rng.normal() * 3);
    const y = Uint8Array.from({ length: rows }, () => (rng.next() < 0.3 ? 1 : 0));
    const weights = Float64Array.from({ length: rows }, () => 0.5 + rng.next() * 3);
    logisticGradients(raw, y, weights, inputs.grad, inputs.hess, 0, rows, gradientScales(weights));
    const features = Int32Array.from({ length: cols }, (_, f) => f);
    for (let k = 0; k < rows; k++) inputs.rowIdx[k] = k;
    const whole = new Float64Array(size);
    histogramChunk(KERNEL_COUNTED, inputs, whole, features, cols, 0, rows, true);
    const joined = new Float64Array(size);
    histogramChunk(KERNEL_COUNTED, inputs, joined, features, cols, 0, 1000, true);
    for (const [a, b] of [
      [1000, 2201],
      [2201, rows],
    ]) {
      const part = new Float64Array(size);
      histogramChunk(KERNEL_COUNTED, inputs, part, features, cols, a, b, true);
      addHistogram(inputs, joined, part, features, cols);
    }
    expect(mismatches(joined, whole)).toBe(0);
    rng.shuffle(inputs.rowIdx);
    const shuffled = new Float64Array(size);
    histogramChunk(KERNEL_COUNTED, inputs, shuffled, features, cols, 0, rows, true);
    expect(mismatches(shuffled, whole)).toBe(0);
    // The fixed point is fine: no gradient moved by more than a unit (2^-23 of the largest weight, 3.5).
    const p = raw.map((z) => 1 / (1 + Math.exp(-z)));
    let worst = 0;
    for (let r = 0; r < rows; r++)
      worst = Math.max(worst, Math.abs(inputs.grad[r] - weights[r] * (p[r] - y[r])));
    expect(worst).toBeLessThanOrEqual(2 ** -21);
    expect(worst).toBeGreaterThan(0);
  });
});

describe("GBDT partition in parts", () => {
  it("joins the parts into the layout of one stable pass, lefts then rights in row order", () => {
    const { rng, inputs, mapper } = setup(3);
    const scratch = new Int32Array(rows);
    for (const [feature, missingLeft] of [
      [2, true],
      [4, false],
      [0, true],
    ] as const) {
      const rule = {
        feature,
        bin: mapper.valueBins[feature] >> 1,
        missingBin: mapper.valueBins[feature],
        missingLeft,
      };
      const node = Int32Array.from({ length: rows }, (_, k) => k).filter(() => rng.next() < 0.7);
      const begin = 17;
      const end = begin + node.length;
      const goesLeft = (r: number) => {
        const b = inputs.bins[feature * rows + r];
        return b === rule.missingBin ? missingLeft : b <= rule.bin;
      };
      const expected = [...node.filter(goesLeft), ...node.filter((r) => !goesLeft(r))];
      for (const parts of [1, 2, 3]) {
        inputs.rowIdx.fill(-1);
        inputs.rowIdx.set(node, begin);
        const starts = Array.from(
          { length: parts + 1 },
          (_, p) => begin + Math.floor((p * node.length) / parts),
        );
        const lefts = starts
          .slice(0, parts)
          .map((s, p) => partitionPart(inputs.bins, rows, inputs.rowIdx, scratch, rule, s, starts[p + 1]));
        const mid = joinParts(inputs.rowIdx, scratch, starts, lefts, parts);
        expect(mid - begin).toBe(node.filter(goesLeft).length);
        expect([...inputs.rowIdx.subarray(begin, end)]).toEqual(expected);
        expect(inputs.rowIdx[begin - 1]).toBe(-1);
        expect(inputs.rowIdx[end]).toBe(-1);
      }
    }
  });
});
