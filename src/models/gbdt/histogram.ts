// Histogram kernels of the tree grower: (Σg, Σh[, count]) per bin for the active features, over one range of
// a node's rows. Free functions over plain arrays, so the grower's thread and its helper threads (threads.ts)
// run the same code, each on its own part of the rows. The gradients are fixed point (loss.ts), so every sum
// is exact: a bin's total is the same bits whichever thread added which rows, in whatever order.

/** What every kernel reads: the column-major bins, gradients, the node's rows and its gathered gradients. */
export interface HistogramInputs {
  bins: Uint8Array;
  rows: number;
  grad: Float32Array;
  hess: Float32Array;
  binOffset: Int32Array;
  valueBins: Int32Array;
  rowIdx: Int32Array;
  /** Gradients by position: og[k] = grad[rowIdx[k]] once a node kernel has gathered them. */
  og: Float32Array;
  oh: Float32Array;
}

export const KERNEL_ROOT = 0;
export const KERNEL_NODE = 1;
export const KERNEL_COUNTED = 2;

/** Zeroes the bins of features[from..to). */
export function zeroFeatures(
  a: HistogramInputs,
  hist: Float64Array,
  features: Int32Array,
  from: number,
  to: number,
): void {
  const { binOffset, valueBins } = a;
  for (let fi = from; fi < to; fi++) {
    const f = features[fi];
    const off = binOffset[f] * 3;
    hist.fill(0, off, off + (valueBins[f] + 1) * 3);
  }
}

/** hist ← hist + part over features[0..nf): joins a helper's histogram of other rows into the node's. */
export function addHistogram(
  a: HistogramInputs,
  hist: Float64Array,
  part: Float64Array,
  features: Int32Array,
  nf: number,
): void {
  const { binOffset, valueBins } = a;
  for (let fi = 0; fi < nf; fi++) {
    const f = features[fi];
    const off = binOffset[f] * 3;
    const stop = off + (valueBins[f] + 1) * 3;
    for (let j = off; j < stop; j++) hist[j] += part[j];
  }
}

/** og/oh[k] ← grad/hess[rowIdx[k]] for k in [begin, end), so the per-column passes read them in sequence. */
export function gatherGradients(a: HistogramInputs, begin: number, end: number): void {
  const { grad, hess, rowIdx, og, oh } = a;
  for (let k = begin; k < end; k++) {
    const r = rowIdx[k];
    og[k] = grad[r];
    oh[k] = hess[r];
  }
}

/**
 * One kernel over features[0..nf) and positions [begin, end) (root: rows begin..end−1 in order), added
 * into `hist` (its features' bins zeroed first when `zeroFirst`).
 */
export function histogramChunk(
  kind: number,
  a: HistogramInputs,
  hist: Float64Array,
  features: Int32Array,
  nf: number,
  begin: number,
  end: number,
  zeroFirst = false,
): void {
  if (zeroFirst) zeroFeatures(a, hist, features, 0, nf);
  if (kind === KERNEL_ROOT) {
    rootHistogram(a, hist, features, 0, nf, begin, end);
    return;
  }
  gatherGradients(a, begin, end);
  if (kind === KERNEL_NODE) nodeHistogram(a, hist, features, 0, nf, begin, end);
  else countedHistogram(a, hist, features, 0, nf, begin, end);
}

/** Root histogram over rows begin..end−1 in order (no gather needed). */
export function rootHistogram(
  a: HistogramInputs,
  hist: Float64Array,
  features: Int32Array,
  from: number,
  to: number,
  begin: number,
  end: number,
): void {
  const { bins, rows, grad, hess, binOffset } = a;
  let fi = from;
  // Eight columns per pass (then four, then one): the row's gradient is loaded once, and the eight
  // independent histogram updates overlap instead of waiting on each other (low-cardinality columns hit
  // the same bin often). Eight beat four by ~10 % of fit time at 1 M rows; twelve and sixteen were slower.
  for (; fi + 7 < to; fi += 8) {
    const o0 = binOffset[features[fi]] * 3;
    const o1 = binOffset[features[fi + 1]] * 3;
    const o2 = binOffset[features[fi + 2]] * 3;
    const o3 = binOffset[features[fi + 3]] * 3;
    const o4 = binOffset[features[fi + 4]] * 3;
    const o5 = binOffset[features[fi + 5]] * 3;
    const o6 = binOffset[features[fi + 6]] * 3;
    const o7 = binOffset[features[fi + 7]] * 3;
    const b0 = features[fi] * rows;
    const b1 = features[fi + 1] * rows;
    const b2 = features[fi + 2] * rows;
    const b3 = features[fi + 3] * rows;
    const b4 = features[fi + 4] * rows;
    const b5 = features[fi + 5] * rows;
    const b6 = features[fi + 6] * rows;
    const b7 = features[fi + 7] * rows;
    for (let r = begin; r < end; r++) {
      const g = grad[r];
      const h = hess[r];
      let j = 0;
      j = o0 + bins[b0 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o1 + bins[b1 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o2 + bins[b2 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o3 + bins[b3 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o4 + bins[b4 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o5 + bins[b5 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o6 + bins[b6 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o7 + bins[b7 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
    }
  }
  for (; fi + 3 < to; fi += 4) {
    const o0 = binOffset[features[fi]] * 3;
    const o1 = binOffset[features[fi + 1]] * 3;
    const o2 = binOffset[features[fi + 2]] * 3;
    const o3 = binOffset[features[fi + 3]] * 3;
    const b0 = features[fi] * rows;
    const b1 = features[fi + 1] * rows;
    const b2 = features[fi + 2] * rows;
    const b3 = features[fi + 3] * rows;
    for (let r = begin; r < end; r++) {
      const g = grad[r];
      const h = hess[r];
      let j = o0 + bins[b0 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o1 + bins[b1 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o2 + bins[b2 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o3 + bins[b3 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
    }
  }
  for (; fi < to; fi++) {
    const o = binOffset[features[fi]] * 3;
    const b = features[fi] * rows;
    for (let r = begin; r < end; r++) {
      const j = o + bins[b + r] * 3;
      hist[j] += grad[r];
      hist[j + 1] += hess[r];
    }
  }
}

/** A node's histogram over rowIdx[begin..end), gradients already gathered into og/oh[begin..end). */
export function nodeHistogram(
  a: HistogramInputs,
  hist: Float64Array,
  features: Int32Array,
  from: number,
  to: number,
  begin: number,
  end: number,
): void {
  const { bins, rows, binOffset, rowIdx, og, oh } = a;
  let fi = from;
  for (; fi + 7 < to; fi += 8) {
    const o0 = binOffset[features[fi]] * 3;
    const o1 = binOffset[features[fi + 1]] * 3;
    const o2 = binOffset[features[fi + 2]] * 3;
    const o3 = binOffset[features[fi + 3]] * 3;
    const o4 = binOffset[features[fi + 4]] * 3;
    const o5 = binOffset[features[fi + 5]] * 3;
    const o6 = binOffset[features[fi + 6]] * 3;
    const o7 = binOffset[features[fi + 7]] * 3;
    const b0 = features[fi] * rows;
    const b1 = features[fi + 1] * rows;
    const b2 = features[fi + 2] * rows;
    const b3 = features[fi + 3] * rows;
    const b4 = features[fi + 4] * rows;
    const b5 = features[fi + 5] * rows;
    const b6 = features[fi + 6] * rows;
    const b7 = features[fi + 7] * rows;
    for (let k = begin; k < end; k++) {
      const r = rowIdx[k];
      const g = og[k];
      const h = oh[k];
      let j = 0;
      j = o0 + bins[b0 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o1 + bins[b1 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o2 + bins[b2 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o3 + bins[b3 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o4 + bins[b4 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o5 + bins[b5 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o6 + bins[b6 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o7 + bins[b7 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
    }
  }
  for (; fi + 3 < to; fi += 4) {
    const o0 = binOffset[features[fi]] * 3;
    const o1 = binOffset[features[fi + 1]] * 3;
    const o2 = binOffset[features[fi + 2]] * 3;
    const o3 = binOffset[features[fi + 3]] * 3;
    const b0 = features[fi] * rows;
    const b1 = features[fi + 1] * rows;
    const b2 = features[fi + 2] * rows;
    const b3 = features[fi + 3] * rows;
    for (let k = begin; k < end; k++) {
      const r = rowIdx[k];
      const g = og[k];
      const h = oh[k];
      let j = o0 + bins[b0 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o1 + bins[b1 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o2 + bins[b2 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      j = o3 + bins[b3 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
    }
  }
  for (; fi < to; fi++) {
    const o = binOffset[features[fi]] * 3;
    const b = features[fi] * rows;
    for (let k = begin; k < end; k++) {
      const j = o + bins[b + rowIdx[k]] * 3;
      hist[j] += og[k];
      hist[j + 1] += oh[k];
    }
  }
}

/** As nodeHistogram, with exact row counts per bin (small nodes). */
export function countedHistogram(
  a: HistogramInputs,
  hist: Float64Array,
  features: Int32Array,
  from: number,
  to: number,
  begin: number,
  end: number,
): void {
  const { bins, rows, binOffset, rowIdx, og, oh } = a;
  let fi = from;
  for (; fi + 7 < to; fi += 8) {
    const o0 = binOffset[features[fi]] * 3;
    const o1 = binOffset[features[fi + 1]] * 3;
    const o2 = binOffset[features[fi + 2]] * 3;
    const o3 = binOffset[features[fi + 3]] * 3;
    const o4 = binOffset[features[fi + 4]] * 3;
    const o5 = binOffset[features[fi + 5]] * 3;
    const o6 = binOffset[features[fi + 6]] * 3;
    const o7 = binOffset[features[fi + 7]] * 3;
    const b0 = features[fi] * rows;
    const b1 = features[fi + 1] * rows;
    const b2 = features[fi + 2] * rows;
    const b3 = features[fi + 3] * rows;
    const b4 = features[fi + 4] * rows;
    const b5 = features[fi + 5] * rows;
    const b6 = features[fi + 6] * rows;
    const b7 = features[fi + 7] * rows;
    for (let k = begin; k < end; k++) {
      const r = rowIdx[k];
      const g = og[k];
      const h = oh[k];
      let j = 0;
      j = o0 + bins[b0 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o1 + bins[b1 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o2 + bins[b2 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o3 + bins[b3 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o4 + bins[b4 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o5 + bins[b5 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o6 + bins[b6 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o7 + bins[b7 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
    }
  }
  for (; fi + 3 < to; fi += 4) {
    const o0 = binOffset[features[fi]] * 3;
    const o1 = binOffset[features[fi + 1]] * 3;
    const o2 = binOffset[features[fi + 2]] * 3;
    const o3 = binOffset[features[fi + 3]] * 3;
    const b0 = features[fi] * rows;
    const b1 = features[fi + 1] * rows;
    const b2 = features[fi + 2] * rows;
    const b3 = features[fi + 3] * rows;
    for (let k = begin; k < end; k++) {
      const r = rowIdx[k];
      const g = og[k];
      const h = oh[k];
      let j = o0 + bins[b0 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o1 + bins[b1 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o2 + bins[b2 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
      j = o3 + bins[b3 + r] * 3;
      hist[j] += g;
      hist[j + 1] += h;
      hist[j + 2] += 1;
    }
  }
  for (; fi < to; fi++) {
    const o = binOffset[features[fi]] * 3;
    const b = features[fi] * rows;
    for (let k = begin; k < end; k++) {
      const j = o + bins[b + rowIdx[k]] * 3;
      hist[j] += og[k];
      hist[j + 1] += oh[k];
      hist[j + 2] += 1;
    }
  }
}
