/**
 * One regression tree of the booster, stored as parallel typed arrays. Node 0 is the root.
 * Internal node: `feature ≥ 0`, rows with x ≤ threshold go to `left`, x > threshold to `right`,
 * NaN to `right` when `missingRight` is 1 else to `left`. Leaf: `feature = −1`, output in `value`.
 */
export interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  missingRight: Uint8Array;
  value: Float64Array;
  /** Loss reduction of the split (0 for leaves): split-gain importance. */
  gain: Float64Array;
  /** Longest root-to-leaf path, in edges. */
  depth: number;
}

export function treeNodeCount(tree: Tree): number {
  return tree.feature.length;
}

/** Output of one tree for the row of `data` starting at `offset`. */
export function treeOutput(tree: Tree, data: ArrayLike<number>, offset: number): number {
  const { feature, threshold, left, right, missingRight, value } = tree;
  let node = 0;
  let f = feature[0];
  while (f >= 0) {
    const x = data[offset + f];
    if (x <= threshold[node]) node = left[node];
    else if (x > threshold[node]) node = right[node];
    else node = missingRight[node] === 1 ? right[node] : left[node];
    f = feature[node];
  }
  return value[node];
}

export function treeToJSON(tree: Tree): Record<string, unknown> {
  return {
    feature: Array.from(tree.feature),
    // JSON has no Infinity: a "missing vs present" split's +∞ threshold is written as null.
    threshold: Array.from(tree.threshold, (t) => (Number.isFinite(t) ? t : null)),
    left: Array.from(tree.left),
    right: Array.from(tree.right),
    missingRight: Array.from(tree.missingRight),
    value: Array.from(tree.value),
    gain: Array.from(tree.gain),
    depth: tree.depth,
  };
}

export function treeFromJSON(json: unknown): Tree {
  const o = json as Record<string, number[]> & { depth: number; threshold: (number | null)[] };
  return {
    feature: Int32Array.from(o.feature),
    threshold: Float64Array.from(o.threshold, (t) => (t === null ? Number.POSITIVE_INFINITY : t)),
    left: Int32Array.from(o.left),
    right: Int32Array.from(o.right),
    missingRight: Uint8Array.from(o.missingRight),
    value: Float64Array.from(o.value),
    gain: Float64Array.from(o.gain),
    depth: o.depth,
  };
}
