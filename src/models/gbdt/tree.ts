import { jsonFiniteArray, jsonInteger, jsonObject, ModelInputError } from "../validate.ts";

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

/** A tree in typed arrays from per-node lists (the grower's output, or a parsed JSON tree). */
export function packTree(nodes: {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  missingRight: ArrayLike<number>;
  value: ArrayLike<number>;
  gain: ArrayLike<number>;
  depth: number;
}): Tree {
  return {
    feature: Int32Array.from(nodes.feature),
    threshold: Float64Array.from(nodes.threshold),
    left: Int32Array.from(nodes.left),
    right: Int32Array.from(nodes.right),
    missingRight: Uint8Array.from(nodes.missingRight),
    value: Float64Array.from(nodes.value),
    gain: Float64Array.from(nodes.gain),
    depth: nodes.depth,
  };
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

/**
 * Restores a tree written by `treeToJSON`, refusing (naming `field`) one that is not a well-formed tree over
 * `cols` columns: parallel arrays of one length, leaves marked by feature −1, split features in [0, cols),
 * children after their parent and adjacent, finite values and thresholds (null = +∞), the recorded depth.
 */
export function treeFromJSON(json: unknown, cols = Number.MAX_SAFE_INTEGER, field = "tree"): Tree {
  const kind = "gbdt";
  const o = jsonObject(kind, field, json);
  const feature = jsonFiniteArray(kind, `${field}.feature`, o.feature);
  const n = feature.length;
  if (n === 0) throw new ModelInputError(`${kind}: ${field} has no nodes`);
  const threshold = jsonFiniteArray(kind, `${field}.threshold`, o.threshold, n, Number.POSITIVE_INFINITY);
  const left = jsonFiniteArray(kind, `${field}.left`, o.left, n);
  const right = jsonFiniteArray(kind, `${field}.right`, o.right, n);
  const missingRight = jsonFiniteArray(kind, `${field}.missingRight`, o.missingRight, n);
  const value = jsonFiniteArray(kind, `${field}.value`, o.value, n);
  const gain = jsonFiniteArray(kind, `${field}.gain`, o.gain, n);
  const depthOf = new Int32Array(n);
  let depth = 0;
  for (let k = 0; k < n; k++) {
    const f = jsonInteger(kind, `${field}.feature[${k}]`, feature[k], -1, cols - 1);
    jsonInteger(kind, `${field}.missingRight[${k}]`, missingRight[k], 0, 1);
    if (f < 0) {
      if (depthOf[k] > depth) depth = depthOf[k];
      continue;
    }
    const l = jsonInteger(kind, `${field}.left[${k}]`, left[k], k + 1, n - 2);
    jsonInteger(kind, `${field}.right[${k}]`, right[k], l + 1, l + 1);
    depthOf[l] = depthOf[k] + 1;
    depthOf[l + 1] = depthOf[k] + 1;
  }
  jsonInteger(kind, `${field}.depth`, o.depth, depth, depth);
  return packTree({ feature, threshold, left, right, missingRight, value, gain, depth });
}
