import type { BinMapper } from "./binning.ts";
import {
  ARG_FEATURES,
  ARG_LEAVES,
  ARG_MISSING_BIN,
  ARG_MISSING_LEFT,
  ARG_SPLIT_BIN,
  ARG_SPLIT_FEATURE,
  type BoostingMemory,
  JOB_COUNTED_HISTOGRAM,
  JOB_LEAVES,
  JOB_NODE_HISTOGRAM,
  JOB_PARTITION,
  JOB_ROOT_HISTOGRAM,
  MAX_CHUNKS,
  partRange,
} from "./jobs.ts";
import { joinParts } from "./partition.ts";
import { PARALLEL_MIN_NODE_ROWS, PARALLEL_MIN_ROWS } from "./threads.ts";
import { packTree, type Tree } from "./tree.ts";
import type { BoostingWorkspace } from "./workspace.ts";

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

/** Nodes with fewer rows are partitioned on the grower's thread alone (a partition pass is cheap per row). */
const PARTITION_PARALLEL_ROWS = 32_768;

/**
 * Grows regression trees on gradient/hessian pairs over a column-major binned matrix, with per-node
 * histograms of (Σg, Σh, count) per bin. Only the smaller child's histogram is built from rows; the
 * larger child's is the parent's minus it (computed in the parent's buffer). Histograms, partitions and
 * leaf updates run on the workspace's threads.
 */
export class TreeGrower {
  private readonly memory: BoostingMemory;
  private readonly binOffset: Int32Array;
  private readonly histSize: number;
  private readonly pool: Float64Array[] = [];
  private leaves: Candidate[] = [];
  private readonly starts: Int32Array;
  private active: Int32Array;

  constructor(
    private readonly workspace: BoostingWorkspace,
    private readonly mapper: BinMapper,
    private readonly params: GrowParams,
  ) {
    this.memory = workspace.memory;
    this.binOffset = this.memory.binOffset;
    this.histSize = this.memory.histSize;
    this.active = this.memory.features.slice();
    this.starts = new Int32Array(MAX_CHUNKS + 1);
  }

  /** The rows a tree grows on: the caller fills the first `used` before `grow`. */
  get rowIdx(): Int32Array {
    return this.memory.rowIdx;
  }

  /** The features splits may use (ascending). */
  get features(): Int32Array {
    return this.active;
  }

  set features(list: Int32Array) {
    this.active = list.slice();
    this.memory.features.set(list);
    this.memory.args[ARG_FEATURES] = list.length;
  }

  private takeHist(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.histSize);
  }

  private releaseHist(c: Candidate): void {
    if (c.hist !== null) {
      this.pool.push(c.hist);
      c.hist = null;
    }
  }

  /** One histogram kernel over every active feature, on every thread for large nodes. */
  private histograms(job: number, hist: Float64Array, begin: number, end: number): void {
    this.workspace.run(job, begin, end, PARALLEL_MIN_NODE_ROWS, hist);
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
    const { grad, hess, rowIdx } = this.memory;
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

  /** Adds each leaf's value to the workspace's raw scores for the rows that reached it in the last `grow`. */
  addLeafValues(tree: Tree): void {
    const m = this.memory;
    let used = 0;
    this.leaves.forEach((c, l) => {
      m.leafBegin[l] = c.begin;
      m.leafEnd[l] = c.end;
      m.leafValue[l] = tree.value[c.node];
      if (c.end > used) used = c.end;
    });
    m.args[ARG_LEAVES] = this.leaves.length;
    this.workspace.run(JOB_LEAVES, 0, used, PARALLEL_MIN_ROWS);
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
    this.histograms(JOB_ROOT_HISTOGRAM, hist, 0, used);
  }

  private buildHistogram(hist: Float64Array, begin: number, end: number): void {
    this.histograms(JOB_NODE_HISTOGRAM, hist, begin, end);
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
    this.histograms(JOB_COUNTED_HISTOGRAM, hist, begin, end);
  }

  /** parent ← parent − child over the active features. */
  private subtract(parent: Float64Array, child: Float64Array): void {
    const { binOffset } = this;
    const features = this.active;
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
    const { binOffset } = this;
    const features = this.active;
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

  /** Stable partition of the candidate's rows into left then right (in parts on every thread); returns the boundary. */
  private partition(c: Candidate): number {
    const m = this.memory;
    m.args[ARG_SPLIT_FEATURE] = c.feature;
    m.args[ARG_SPLIT_BIN] = c.bin;
    m.args[ARG_MISSING_BIN] = this.mapper.valueBins[c.feature];
    m.args[ARG_MISSING_LEFT] = c.missingRight === 0 ? 1 : 0;
    const chunks = this.workspace.run(JOB_PARTITION, c.begin, c.end, PARTITION_PARALLEL_ROWS);
    const { starts } = this;
    for (let p = 0; p < chunks; p++) starts[p] = partRange(p, chunks, c.begin, c.end)[0];
    starts[chunks] = c.end;
    return joinParts(m.rowIdx, m.scratch, starts, m.partLeft, chunks);
  }
}
