import { Rng } from "../random.ts";
import type { Matrix } from "../types.ts";

/**
 * Quantile binning of each column into at most `maxBins` (≤ 255) value bins plus one missing bin.
 * Bin b of column f holds values in (edge[b − 1], edge[b]]; the last value bin is unbounded above;
 * NaN goes to the missing bin, whose index is `valueBins[f]`. A split "bin ≤ t" is then exactly
 * "x ≤ edge[t]" on raw values, which is how the fitted trees predict.
 */
export interface BinMapper {
  /** Number of value bins per column (1..maxBins); the missing bin index equals it. */
  valueBins: Int32Array;
  /** Upper edges, column f's at edges[edgeStart[f] .. edgeStart[f] + valueBins[f] − 1). */
  edges: Float64Array;
  edgeStart: Int32Array;
}

export const MAX_BINS = 255;

/** Column-major binned matrix: bin of row i, column f at `bins[f * rows + i]`. */
export interface BinnedMatrix {
  rows: number;
  cols: number;
  bins: Uint8Array;
}

export function fitBinMapper(X: Matrix, maxBins: number, sampleRows: number, seed: number): BinMapper {
  if (!(maxBins >= 2 && maxBins <= MAX_BINS))
    throw new RangeError(`maxBins must be in 2..${MAX_BINS}, got ${maxBins}`);
  const { rows, cols, data } = X;
  const take = Math.min(rows, sampleRows);
  let sample: Int32Array;
  if (take === rows) {
    sample = new Int32Array(rows);
    for (let i = 0; i < rows; i++) sample[i] = i;
  } else {
    // Partial Fisher–Yates: a uniform subset of rows, then sorted for cache-friendly reads.
    const all = new Int32Array(rows);
    for (let i = 0; i < rows; i++) all[i] = i;
    const rng = new Rng(seed);
    for (let i = 0; i < take; i++) {
      const j = i + rng.int(rows - i);
      const t = all[i];
      all[i] = all[j];
      all[j] = t;
    }
    sample = all.slice(0, take).sort();
  }
  const values = new Float64Array(take);
  const valueBins = new Int32Array(cols);
  const edgeStart = new Int32Array(cols + 1);
  const allEdges: number[] = [];
  for (let f = 0; f < cols; f++) {
    let m = 0;
    for (let k = 0; k < take; k++) {
      const x = data[sample[k] * cols + f];
      if (!Number.isNaN(x)) values[m++] = x;
    }
    const sorted = values.subarray(0, m).sort();
    const edges = columnEdges(sorted, maxBins);
    edgeStart[f] = allEdges.length;
    for (const e of edges) allEdges.push(e);
    valueBins[f] = edges.length + 1;
  }
  edgeStart[cols] = allEdges.length;
  return { valueBins, edges: Float64Array.from(allEdges), edgeStart };
}

/** Edges for one column from its sorted non-missing values. */
function columnEdges(sorted: Float64Array, maxBins: number): number[] {
  const n = sorted.length;
  if (n === 0) return [];
  const distinct: number[] = [sorted[0]];
  for (let i = 1; i < n && distinct.length <= maxBins; i++) {
    if (sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]);
  }
  const edges: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 1; i < distinct.length; i++) edges.push(midpoint(distinct[i - 1], distinct[i]));
    return edges;
  }
  // More distinct values than bins: cut at quantiles, never between equal values.
  let last = Number.NEGATIVE_INFINITY;
  for (let q = 1; q < maxBins; q++) {
    const k = Math.min(n - 1, Math.max(1, Math.round((q * n) / maxBins)));
    const edge = sorted[k - 1] === sorted[k] ? sorted[k] : midpoint(sorted[k - 1], sorted[k]);
    if (edge > last && edge < sorted[n - 1]) {
      edges.push(edge);
      last = edge;
    }
  }
  return edges;
}

function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  // Keep a < m ≤ b even when a and b are adjacent doubles.
  return m > a ? m : b;
}

export function binColumnValue(mapper: BinMapper, f: number, x: number): number {
  const nb = mapper.valueBins[f];
  if (Number.isNaN(x)) return nb;
  const { edges } = mapper;
  let lo = mapper.edgeStart[f];
  let hi = lo + nb - 1; // search in [lo, hi): first edge ≥ x
  const start = lo;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo - start;
}

export function binMatrix(X: Matrix, mapper: BinMapper): BinnedMatrix {
  const { rows, cols, data } = X;
  const bins = new Uint8Array(rows * cols);
  const { edges, edgeStart, valueBins } = mapper;
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let f = 0; f < cols; f++) {
      const x = data[base + f];
      let bin: number;
      if (Number.isNaN(x)) {
        bin = valueBins[f];
      } else {
        const start = edgeStart[f];
        let lo = start;
        let hi = start + valueBins[f] - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (edges[mid] < x) lo = mid + 1;
          else hi = mid;
        }
        bin = lo - start;
      }
      bins[f * rows + i] = bin;
    }
  }
  return { rows, cols, bins };
}
