import type { Tree } from "./tree.ts";

/**
 * All trees of a booster flattened into typed arrays for prediction. Node n has
 * `meta[n] = feature << 1 | missingRight`, `first[n]` = its left child (the right child is `first[n] + 1`:
 * the grower creates children in pairs) and `threshold[n]`. Rows go right when x > threshold, or when x is
 * NaN and missingRight = 1. A leaf reads column 0 with threshold +∞ and `first` = itself, so a step from a
 * leaf stays on it: several rows can be walked in lockstep without a branch per row.
 */
export interface Forest {
  baseScore: number;
  roots: Int32Array;
  depths: Int32Array;
  meta: Int32Array;
  first: Int32Array;
  threshold: Float64Array;
  /** Leaf outputs (0 for internal nodes). */
  value: Float64Array;
}

export function flattenForest(trees: readonly Tree[], baseScore: number): Forest {
  let total = 0;
  for (const t of trees) total += t.feature.length;
  const roots = new Int32Array(trees.length);
  const depths = new Int32Array(trees.length);
  const meta = new Int32Array(total);
  const first = new Int32Array(total);
  const threshold = new Float64Array(total);
  const value = new Float64Array(total);
  let offset = 0;
  for (let t = 0; t < trees.length; t++) {
    const tree = trees[t];
    roots[t] = offset;
    depths[t] = tree.depth;
    for (let k = 0; k < tree.feature.length; k++) {
      const n = offset + k;
      if (tree.feature[k] < 0) {
        meta[n] = 0;
        first[n] = n;
        threshold[n] = Number.POSITIVE_INFINITY;
        value[n] = tree.value[k];
      } else {
        if (tree.right[k] !== tree.left[k] + 1)
          throw new Error(`tree ${t} node ${k}: children are not adjacent`);
        meta[n] = (tree.feature[k] << 1) | tree.missingRight[k];
        first[n] = offset + tree.left[k];
        threshold[n] = tree.threshold[k];
      }
    }
    offset += tree.feature.length;
  }
  return { baseScore, roots, depths, meta, first, threshold, value };
}

const BLOCK = 64;

// Comparisons used as 0/1 integers: JavaScript coerces booleans in bitwise arithmetic without branching;
// these casts only tell TypeScript so (V8 inlines them).
function gt(x: number, t: number): number {
  return (x > t) as unknown as number;
}
function notLe(x: number, t: number): number {
  return !(x <= t) as unknown as number;
}

/**
 * Raw scores (log-odds) of rows [0, rows) of a row-major matrix. Trees are walked for a block of rows at a
 * time (one tree's nodes and the block's rows stay in cache), four rows abreast until all four reach a
 * leaf, so that four independent load chains overlap. Leaf-wise trees are lopsided (a mean path of ~3 steps
 * against a depth of ~10), so walking to the leaf beats walking a fixed depth. Each step is branch-free:
 * `(x > t) | (missingRight & !(x <= t))`; a leaf steps to itself.
 */
export function predictRawBatch(
  forest: Forest,
  data: Float32Array,
  rows: number,
  cols: number,
  out: Float64Array,
): void {
  const { roots, meta, first, threshold: thr, value, baseScore } = forest;
  const nTrees = roots.length;
  for (let start = 0; start < rows; start += BLOCK) {
    const stop = Math.min(start + BLOCK, rows);
    for (let i = start; i < stop; i++) out[i] = baseScore;
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t];
      let i = start;
      for (; i + 3 < stop; i += 4) {
        const o0 = i * cols;
        const o1 = o0 + cols;
        const o2 = o1 + cols;
        const o3 = o2 + cols;
        let n0 = root;
        let n1 = root;
        let n2 = root;
        let n3 = root;
        let f0 = first[root];
        let f1 = f0;
        let f2 = f0;
        let f3 = f0;
        while (f0 !== n0 || f1 !== n1 || f2 !== n2 || f3 !== n3) {
          let m = meta[n0];
          let x = data[o0 + (m >> 1)];
          let th = thr[n0];
          n0 = f0 + (gt(x, th) | (m & 1 & notLe(x, th)));
          f0 = first[n0];
          m = meta[n1];
          x = data[o1 + (m >> 1)];
          th = thr[n1];
          n1 = f1 + (gt(x, th) | (m & 1 & notLe(x, th)));
          f1 = first[n1];
          m = meta[n2];
          x = data[o2 + (m >> 1)];
          th = thr[n2];
          n2 = f2 + (gt(x, th) | (m & 1 & notLe(x, th)));
          f2 = first[n2];
          m = meta[n3];
          x = data[o3 + (m >> 1)];
          th = thr[n3];
          n3 = f3 + (gt(x, th) | (m & 1 & notLe(x, th)));
          f3 = first[n3];
        }
        out[i] += value[n0];
        out[i + 1] += value[n1];
        out[i + 2] += value[n2];
        out[i + 3] += value[n3];
      }
      for (; i < stop; i++) {
        const o = i * cols;
        let n = root;
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

/** Raw score of one row (serving path): walks each tree until a leaf (first[n] = n). */
export function predictRawOne(forest: Forest, row: ArrayLike<number>, offset: number): number {
  const { roots, meta, first, threshold: thr, value } = forest;
  let score = forest.baseScore;
  for (let t = 0; t < roots.length; t++) {
    let n = roots[t];
    while (first[n] !== n) {
      const m = meta[n];
      const x = row[offset + (m >> 1)];
      const th = thr[n];
      n = first[n] + (gt(x, th) | (m & 1 & notLe(x, th)));
    }
    score += value[n];
  }
  return score;
}
