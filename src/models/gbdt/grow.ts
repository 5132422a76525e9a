import type { BinMapper } from "./binning.ts";
import { type HistogramInputs, KERNEL_COUNTED, KERNEL_NODE, KERNEL_ROOT, runKernel } from "./histogram.ts";
import { HistogramThreads, PARALLEL_MIN_NODE_ROWS, PARALLEL_MIN_ROWS, sharedArray } from "./parallel.ts";
import { packTree, type Tree } from "./tree.ts";

export interface GrowParams {
  growth: "leafwise" | "depthwise";
  /** Upper bound on leaves per tree (leaf-wise growth splits the best leaf until it is reached). */
  maxLeaves: number;
  /** Upper bound on depth (edges from the root); Infinity = none. */
  maxDepth: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Minimum hessian sum in a child. */
  minChildWeight: number;
  /** Minimum rows in a child. */
  minSamplesLeaf: number;
  /** A split must reduce the loss by more than this. */
  minSplitGain: number;
  learningRate: number;
  /** Threads building histograms (1 = this one only); needs bins, grad and hess on SharedArrayBuffers. */
  threads?: number;
}

/** A leaf that may still be split: its rows are rowIdx[begin, end). */
interface Candidate {
  node: number;
  begin: number;
  end: number;
  depth: number;
  sumG: number;
  sumH: number;
  hist: Float64Array | null;
  /** The histogram's count slots are exact (else counts are estimated from hessian sums). */
  exactCounts: boolean;
  // best split found (feature −1 = none)
  gain: number;
  feature: number;
  bin: number;
  missingRight: number;
  leftG: number;
  leftH: number;
  leftCount: number;
}

/**
 * Nodes with fewer rows than this count rows per bin exactly; larger ones skip the count (a third of the
 * histogram work) and estimate counts from hessian sums, as LightGBM does. minSamplesLeaf binds on small
 * nodes, where counts are exact; on large ones a split is re-checked against exact counts before it is
 * applied.
 */
export const EXACT_COUNT_ROWS = 16_384;

/**
 * Grows regression trees on gradient/hessian pairs over a column-major binned matrix, with per-node
 * histograms of (Σg, Σh, count) per bin. Only the smaller child's histogram is built from rows; the
 * larger child's is the parent's minus it (computed in the parent's buffer).
 */
export class TreeGrower {
  readonly rowIdx: Int32Array;
  private readonly scratch: Int32Array;
  private readonly og: Float32Array;
  private readonly oh: Float32Array;
  private readonly binOffset: Int32Array;
  private readonly histSize: number;
  private readonly pool: Float64Array[] = [];
  private leaves: Candidate[] = [];
  private readonly inputs: HistogramInputs;
  private readonly threads: HistogramThreads | null;
  features: Int32Array;

  constructor(
    private readonly bins: Uint8Array,
    private readonly rows: number,
    private readonly mapper: BinMapper,
    private readonly grad: Float32Array,
    private readonly hess: Float32Array,
    private readonly params: GrowParams,
  ) {
    const cols = mapper.valueBins.length;
    const shared = [bins, grad, hess].every((a) => a.buffer instanceof SharedArrayBuffer);
    const threads = shared ? Math.max(1, Math.floor(params.threads ?? 1)) : 1;
    this.rowIdx = threads > 1 ? sharedArray(Int32Array, rows) : new Int32Array(rows);
    this.scratch = new Int32Array(rows);
    this.og = threads > 1 ? sharedArray(Float32Array, rows) : new Float32Array(rows);
    this.oh = threads > 1 ? sharedArray(Float32Array, rows) : new Float32Array(rows);
    this.binOffset = new Int32Array(cols + 1);
    for (let f = 0; f < cols; f++) this.binOffset[f + 1] = this.binOffset[f] + mapper.valueBins[f] + 1;
    this.histSize = this.binOffset[cols] * 3;
    this.features = new Int32Array(cols);
    for (let f = 0; f < cols; f++) this.features[f] = f;
    this.inputs = {
      bins,
      rows,
      grad,
      hess,
      binOffset: threads > 1 ? Int32Array.from(this.binOffset) : this.binOffset,
      valueBins: Int32Array.from(mapper.valueBins),
      rowIdx: this.rowIdx,
      og: this.og,
      oh: this.oh,
    };
    // Live histograms: one per open leaf, plus the one being built.
    this.threads =
      threads > 1 && rows >= PARALLEL_MIN_ROWS
        ? new HistogramThreads(this.inputs, cols, this.histSize, params.maxLeaves + 2, threads)
        : null;
  }

  /** Stops the histogram threads (call once the fit is done); returns how many threads built histograms. */
  close(): number {
    const used = this.threads !== null && this.threads.jobs > 0 ? this.threads.size : 1;
    this.threads?.close();
    return used;
  }

  private takeHist(): Float64Array {
    return this.threads?.take() ?? this.pool.pop() ?? new Float64Array(this.histSize);
  }

  private releaseHist(c: Candidate): void {
    if (c.hist !== null) {
      if (this.threads?.owns(c.hist)) this.threads.release(c.hist);
      else this.pool.push(c.hist);
      c.hist = null;
    }
  }

  /** One kernel over every active feature: split over the threads for large nodes. */
  private histograms(kind: number, hist: Float64Array, begin: number, end: number): void {
    const t = this.threads;
    if (t !== null && end - begin >= PARALLEL_MIN_NODE_ROWS && t.run(kind, hist, this.features, begin, end))
      return;
    runKernel(kind, this.inputs, hist, this.features, 0, this.features.length, begin, end);
  }

  /**
   * Grows one tree on the first `used` entries of `rowIdx` (the caller fills them; `allRowsInOrder`
   * says they are 0..rows−1 in order, which allows a faster root histogram). Leaf values include the
   * learning rate. After the call, `leafRanges()` tells which rows landed in which leaf.
   */
  grow(used: number, allRowsInOrder: boolean): Tree {
    const p = this.params;
    const feature: number[] = [-1];
    const threshold: number[] = [0];
    const left: number[] = [-1];
    const right: number[] = [-1];
    const missingRight: number[] = [0];
    const value: number[] = [0];
    const gain: number[] = [0];
    let sumG = 0;
    let sumH = 0;
    const { grad, hess, rowIdx } = this;
    for (let k = 0; k < used; k++) {
      const r = rowIdx[k];
      sumG += grad[r];
      sumH += hess[r];
    }
    const root = this.newCandidate(0, 0, used, 0, sumG, sumH);
    const open: Candidate[] = [root];
    const done: Candidate[] = [];
    let leafCount = 1;
    if (this.canSplit(root, leafCount)) {
      root.hist = this.takeHist();
      if (used < EXACT_COUNT_ROWS) this.buildCountedHistogram(root, 0, used);
      else if (allRowsInOrder) this.buildRootHistogram(root.hist, used);
      else this.buildHistogram(root.hist, 0, used);
      this.findBestSplit(root);
    }
    while (leafCount < p.maxLeaves) {
      const pick = this.pickCandidate(open);
      if (pick < 0) break;
      const c = open[pick];
      const mid = this.partition(c);
      if (mid - c.begin < p.minSamplesLeaf || c.end - mid < p.minSamplesLeaf) {
        // Only possible with estimated counts: the split is dropped and the node stays a leaf.
        c.feature = -1;
        this.releaseHist(c);
        continue;
      }
      open.splice(pick, 1);
      // Record the split on the node.
      const f = c.feature;
      const nb = this.mapper.valueBins[f];
      feature[c.node] = f;
      threshold[c.node] =
        c.bin < nb - 1 ? this.mapper.edges[this.mapper.edgeStart[f] + c.bin] : Number.POSITIVE_INFINITY;
      missingRight[c.node] = c.missingRight;
      gain[c.node] = c.gain;
      const leftNode = feature.length;
      const rightNode = leftNode + 1;
      left[c.node] = leftNode;
      right[c.node] = rightNode;
      for (let k = 0; k < 2; k++) {
        feature.push(-1);
        threshold.push(0);
        left.push(-1);
        right.push(-1);
        missingRight.push(0);
        value.push(0);
        gain.push(0);
      }
      const lc = this.newCandidate(leftNode, c.begin, mid, c.depth + 1, c.leftG, c.leftH);
      const rc = this.newCandidate(rightNode, mid, c.end, c.depth + 1, c.sumG - c.leftG, c.sumH - c.leftH);
      leafCount++;
      const leftSplittable = this.canSplit(lc, leafCount);
      const rightSplittable = this.canSplit(rc, leafCount);
      const leftSmaller = mid - c.begin <= c.end - mid;
      const small = leftSmaller ? lc : rc;
      const large = leftSmaller ? rc : lc;
      const largeSplittable = leftSmaller ? rightSplittable : leftSplittable;
      const smallSplittable = leftSmaller ? leftSplittable : rightSplittable;
      if (largeSplittable) {
        this.buildNodeHistogram(small);
        const parentHist = c.hist as Float64Array;
        c.hist = null;
        this.subtract(parentHist, small.hist as Float64Array);
        large.hist = parentHist;
        large.exactCounts = c.exactCounts && small.exactCounts;
        this.findBestSplit(large);
        if (smallSplittable) this.findBestSplit(small);
        else this.releaseHist(small);
      } else {
        this.releaseHist(c);
        if (smallSplittable) {
          this.buildNodeHistogram(small);
          this.findBestSplit(small);
        }
      }
      open.push(lc, rc);
    }
    for (const c of open) done.push(c);
    let depth = 0;
    for (const c of done) {
      this.releaseHist(c);
      value[c.node] = (-c.sumG / (c.sumH + p.lambda)) * p.learningRate;
      if (c.depth > depth) depth = c.depth;
    }
    this.leaves = done;
    return packTree({ feature, threshold, left, right, missingRight, value, gain, depth });
  }

  /** Adds each leaf's value to `raw` for the rows that reached it during the last `grow`. */
  addLeafValues(tree: Tree, raw: Float64Array): void {
    const { rowIdx } = this;
    for (const c of this.leaves) {
      const v = tree.value[c.node];
      for (let k = c.begin; k < c.end; k++) raw[rowIdx[k]] += v;
    }
  }

  private newCandidate(
    node: number,
    begin: number,
    end: number,
    depth: number,
    sumG: number,
    sumH: number,
  ): Candidate {
    return {
      node,
      begin,
      end,
      depth,
      sumG,
      sumH,
      hist: null,
      exactCounts: false,
      gain: 0,
      feature: -1,
      bin: 0,
      missingRight: 0,
      leftG: 0,
      leftH: 0,
      leftCount: 0,
    };
  }

  private canSplit(c: Candidate, leafCount: number): boolean {
    const p = this.params;
    return (
      leafCount < p.maxLeaves &&
      c.depth < p.maxDepth &&
      c.end - c.begin >= 2 * p.minSamplesLeaf &&
      c.sumH >= 2 * p.minChildWeight
    );
  }

  private pickCandidate(open: Candidate[]): number {
    let best = -1;
    for (let i = 0; i < open.length; i++) {
      const c = open[i];
      if (c.feature < 0) continue;
      if (best < 0) {
        best = i;
        continue;
      }
      const b = open[best];
      if (this.params.growth === "leafwise") {
        if (c.gain > b.gain) best = i;
      } else if (c.depth < b.depth || (c.depth === b.depth && c.node < b.node)) {
        best = i;
      }
    }
    return best;
  }

  /** Root histogram over rows 0..used−1 in order (no gather needed). */
  private buildRootHistogram(hist: Float64Array, used: number): void {
    this.histograms(KERNEL_ROOT, hist, 0, used);
  }

  private buildHistogram(hist: Float64Array, begin: number, end: number): void {
    this.gather(begin, end);
    this.histograms(KERNEL_NODE, hist, begin, end);
  }

  private buildNodeHistogram(c: Candidate): void {
    c.hist = this.takeHist();
    if (c.end - c.begin < EXACT_COUNT_ROWS) this.buildCountedHistogram(c, c.begin, c.end);
    else this.buildHistogram(c.hist, c.begin, c.end);
  }

  /** (Σg, Σh, exact count) per bin for a small node. */
  private buildCountedHistogram(c: Candidate, begin: number, end: number): void {
    c.exactCounts = true;
    this.buildHistogramWithCounts(c.hist as Float64Array, begin, end);
  }

  private buildHistogramWithCounts(hist: Float64Array, begin: number, end: number): void {
    this.gather(begin, end);
    this.histograms(KERNEL_COUNTED, hist, begin, end);
  }

  /** Gathers the node's gradients once so the per-column passes read them sequentially. */
  private gather(begin: number, end: number): void {
    const { grad, hess, rowIdx, og, oh } = this;
    const n = end - begin;
    for (let k = 0; k < n; k++) {
      const r = rowIdx[begin + k];
      og[k] = grad[r];
      oh[k] = hess[r];
    }
  }

  /** parent ← parent − child over the active features. */
  private subtract(parent: Float64Array, child: Float64Array): void {
    const { binOffset, features } = this;
    const vb = this.mapper.valueBins;
    for (let fi = 0; fi < features.length; fi++) {
      const f = features[fi];
      const off = binOffset[f] * 3;
      const stop = off + (vb[f] + 1) * 3;
      for (let j = off; j < stop; j++) parent[j] -= child[j];
    }
  }

  private findBestSplit(c: Candidate): void {
    const p = this.params;
    const hist = c.hist as Float64Array;
    const { binOffset, features } = this;
    const vb = this.mapper.valueBins;
    const lambda = p.lambda;
    const G = c.sumG;
    const H = c.sumH;
    const C = c.end - c.begin;
    const exact = c.exactCounts;
    const countPerHessian = H > 0 ? C / H : 0;
    const parentScore = (G * G) / (H + lambda);
    const minLeaf = p.minSamplesLeaf;
    const minHess = p.minChildWeight;
    let bestGain = p.minSplitGain;
    let bestFeature = -1;
    let bestBin = 0;
    let bestMissingRight = 0;
    let bestLG = 0;
    let bestLH = 0;
    let bestLC = 0;
    for (let fi = 0; fi < features.length; fi++) {
      const f = features[fi];
      const nb = vb[f];
      const off = binOffset[f] * 3;
      const miss = off + nb * 3;
      const gm = hist[miss];
      const hm = hist[miss + 1];
      const cm = exact ? hist[miss + 2] : Math.round(hm * countPerHessian);
      const hasMissing = exact ? cm > 0 : hm > 0;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let t = 0; t < nb; t++) {
        const j = off + t * 3;
        gl += hist[j];
        hl += hist[j + 1];
        cl = exact ? cl + hist[j + 2] : Math.round(hl * countPerHessian);
        // Missing values go right: left = value bins ≤ t (at t = nb − 1: "present vs missing").
        if (t < nb - 1 || hasMissing) {
          const cr = C - cl;
          const hr = H - hl;
          if (cl >= minLeaf && cr >= minLeaf && hl >= minHess && hr >= minHess) {
            const gr = G - gl;
            const g = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore);
            if (g > bestGain) {
              bestGain = g;
              bestFeature = f;
              bestBin = t;
              bestMissingRight = 1;
              bestLG = gl;
              bestLH = hl;
              bestLC = cl;
            }
          }
        }
        // Missing values go left.
        if (hasMissing && t < nb - 1) {
          const gl2 = gl + gm;
          const hl2 = hl + hm;
          const cl2 = cl + cm;
          const cr = C - cl2;
          const hr = H - hl2;
          if (cl2 >= minLeaf && cr >= minLeaf && hl2 >= minHess && hr >= minHess) {
            const gr = G - gl2;
            const g = 0.5 * ((gl2 * gl2) / (hl2 + lambda) + (gr * gr) / (hr + lambda) - parentScore);
            if (g > bestGain) {
              bestGain = g;
              bestFeature = f;
              bestBin = t;
              bestMissingRight = 0;
              bestLG = gl2;
              bestLH = hl2;
              bestLC = cl2;
            }
          }
        }
      }
    }
    c.feature = bestFeature;
    c.gain = bestGain;
    c.bin = bestBin;
    c.leftG = bestLG;
    c.leftH = bestLH;
    c.leftCount = bestLC;
    // No missing values seen at this node: unseen NaN follow the larger child (as scikit-learn does).
    const missSlot = bestFeature >= 0 ? (binOffset[bestFeature] + vb[bestFeature]) * 3 : 0;
    if (bestFeature >= 0 && (exact ? hist[missSlot + 2] === 0 : hist[missSlot + 1] === 0)) {
      bestMissingRight = C - bestLC > bestLC ? 1 : 0;
    }
    c.missingRight = bestMissingRight;
  }

  /** Stable partition of the candidate's rows into left then right; returns the boundary. */
  private partition(c: Candidate): number {
    const { bins, rows, rowIdx, scratch } = this;
    const f = c.feature;
    const base = f * rows;
    const t = c.bin;
    const missBin = this.mapper.valueBins[f];
    const missLeft = c.missingRight === 0;
    let write = c.begin;
    let spill = 0;
    for (let k = c.begin; k < c.end; k++) {
      const r = rowIdx[k];
      const b = bins[base + r];
      if (b === missBin ? missLeft : b <= t) rowIdx[write++] = r;
      else scratch[spill++] = r;
    }
    rowIdx.set(scratch.subarray(0, spill), write);
    return write;
  }
}
