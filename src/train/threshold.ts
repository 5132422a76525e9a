// Operating threshold for the cache: the client prefetches a track when P(skip) < t. Each listen carries
// its own two costs from the cost model (src/listens/cost-model.ts): what it costs if prefetched (the
// wasted MB of a skip) and what it costs if not (a stall for a full play). The threshold minimises the
// total cost over held-out rows.
import type { ListenCosts } from "../listens/cost-model.ts";

export interface OperatingPoint {
  threshold: number;
  /** Cost per listen (totalCost / rows). */
  cost: number;
  /** Σ prefetch cost of the prefetched listens + Σ stream cost of the others. */
  totalCost: number;
  /** Listens prefetched and skipped. */
  waste: number;
  /** Listens not prefetched and played to the end. */
  stalls: number;
  prefetched: number;
  wasteRate: number;
  stallRate: number;
}

/** Cost per listen over a grid of thresholds (for the cost/threshold chart). */
export interface CostCurve {
  threshold: Float64Array;
  cost: Float64Array;
  wasteRate: Float64Array;
  stallRate: Float64Array;
}

export interface ThresholdChoice {
  rows: number;
  /** The cost-minimising threshold (midpoint of the optimal interval between scores). */
  chosen: OperatingPoint;
  /** The default classifier threshold, for comparison. */
  atHalf: OperatingPoint;
  /** Cache everything (t above every score) and cache nothing (t at or below every score). */
  prefetchAll: OperatingPoint;
  prefetchNone: OperatingPoint;
  curve: CostCurve;
}

function checkInputs(y: Uint8Array, p: Float64Array, costs: ListenCosts): void {
  if (y.length !== p.length) throw new RangeError(`threshold: y has ${y.length} rows but p has ${p.length}`);
  if (y.length === 0) throw new RangeError("threshold: no rows");
  for (const key of ["prefetch", "stream"] as const) {
    const c = costs[key];
    if (c.length !== y.length)
      throw new RangeError(`threshold: ${y.length} rows but ${c.length} ${key} costs`);
    for (let i = 0; i < c.length; i++) {
      if (!(Number.isFinite(c[i]) && c[i] >= 0))
        throw new RangeError(`threshold: ${key} cost [${i}] must be a finite number >= 0, got ${c[i]}`);
    }
  }
  for (let i = 0; i < y.length; i++) {
    if (y[i] > 1) throw new RangeError(`threshold: y[${i}] = ${y[i]}, labels must be 0 or 1`);
    if (Number.isNaN(p[i])) throw new RangeError(`threshold: p[${i}] is NaN`);
  }
}

/** Rows sorted by score with prefix sums: the plan at t prefetches a prefix of this order. */
interface Sorted {
  scores: Float64Array;
  /** Σ prefetch cost / Σ stream cost / skips / full plays of the first k rows. */
  prefetch: Float64Array;
  stream: Float64Array;
  skips: Int32Array;
  plays: Int32Array;
}

function sortRows(y: Uint8Array, p: Float64Array, costs: ListenCosts): Sorted {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[a] - p[b] || a - b);
  const sorted: Sorted = {
    scores: new Float64Array(n),
    prefetch: new Float64Array(n + 1),
    stream: new Float64Array(n + 1),
    skips: new Int32Array(n + 1),
    plays: new Int32Array(n + 1),
  };
  for (let k = 0; k < n; k++) {
    const i = order[k];
    sorted.scores[k] = p[i];
    sorted.prefetch[k + 1] = sorted.prefetch[k] + costs.prefetch[i];
    sorted.stream[k + 1] = sorted.stream[k] + costs.stream[i];
    sorted.skips[k + 1] = sorted.skips[k] + (y[i] === 1 ? 1 : 0);
    sorted.plays[k + 1] = sorted.plays[k] + (y[i] === 1 ? 0 : 1);
  }
  return sorted;
}

/** Number of values < t in an ascending array. */
function countBelow(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The point that prefetches the first k rows of the sorted order. */
function pointOfPrefix(s: Sorted, k: number, threshold: number): OperatingPoint {
  const n = s.scores.length;
  const totalCost = s.prefetch[k] + (s.stream[n] - s.stream[k]);
  const waste = s.skips[k];
  const stalls = s.plays[n] - s.plays[k];
  return {
    threshold,
    cost: totalCost / n,
    totalCost,
    waste,
    stalls,
    prefetched: k,
    wasteRate: waste / n,
    stallRate: stalls / n,
  };
}

function pointAt(s: Sorted, threshold: number): OperatingPoint {
  return pointOfPrefix(s, countBelow(s.scores, threshold), threshold);
}

/** Figures of the decision "prefetch when p < threshold". */
export function operatingPoint(
  y: Uint8Array,
  p: Float64Array,
  threshold: number,
  costs: ListenCosts,
): OperatingPoint {
  checkInputs(y, p, costs);
  return pointAt(sortRows(y, p, costs), threshold);
}

/**
 * The threshold with the lowest total cost. Every threshold between two consecutive distinct scores makes
 * the same decisions, so the search visits each distinct score once (O(n log n) for the sort, O(n) after)
 * and returns the midpoint of the best interval (the rule then generalises to unseen scores between them).
 * Equal costs are resolved toward prefetching more (the higher threshold): when it makes no difference on
 * these rows, the listener is spared a stall. The curve samples `gridSize` thresholds on [0, 1].
 */
export function chooseThreshold(
  y: Uint8Array,
  p: Float64Array,
  costs: ListenCosts,
  options: { gridSize?: number } = {},
): ThresholdChoice {
  checkInputs(y, p, costs);
  const gridSize = options.gridSize ?? 101;
  if (!Number.isInteger(gridSize) || gridSize < 2)
    throw new RangeError("threshold: gridSize must be an integer >= 2");
  const s = sortRows(y, p, costs);
  const n = s.scores.length;
  // Distinct scores and the prefix length before each: candidate k prefetches every score < distinct[k];
  // k = distinct.length prefetches everything.
  const distinct: number[] = [];
  const prefixAt: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || s.scores[i] !== s.scores[i - 1]) {
      distinct.push(s.scores[i]);
      prefixAt.push(i);
    }
  }
  prefixAt.push(n);
  // Its threshold is the midpoint of (distinct[k-1], distinct[k]], bounded by 0 and 1 outside.
  const candidateThreshold = (k: number): number => {
    const below = k === 0 ? Math.min(0, distinct[0]) : distinct[k - 1];
    if (k === distinct.length) return below < 1 ? (below + 1) / 2 : below + 1e-9;
    return (below + distinct[k]) / 2;
  };
  const scale = Math.max(1, s.prefetch[n] + s.stream[n]);
  let best: OperatingPoint | undefined;
  for (let k = distinct.length; k >= 0; k--) {
    const point = pointOfPrefix(s, prefixAt[k], candidateThreshold(k));
    if (best === undefined || point.totalCost < best.totalCost - 1e-12 * scale) best = point;
  }
  const curve: CostCurve = {
    threshold: new Float64Array(gridSize),
    cost: new Float64Array(gridSize),
    wasteRate: new Float64Array(gridSize),
    stallRate: new Float64Array(gridSize),
  };
  for (let g = 0; g < gridSize; g++) {
    const t = g / (gridSize - 1);
    const point = pointAt(s, t);
    curve.threshold[g] = t;
    curve.cost[g] = point.cost;
    curve.wasteRate[g] = point.wasteRate;
    curve.stallRate[g] = point.stallRate;
  }
  const maxScore = distinct[distinct.length - 1];
  return {
    rows: n,
    chosen: best as OperatingPoint,
    atHalf: pointAt(s, 0.5),
    prefetchAll: pointAt(s, maxScore < 1 ? 1 : maxScore + 1e-9),
    prefetchNone: pointAt(s, Math.min(0, distinct[0])),
    curve,
  };
}

/**
 * Per-listen cost of the served rule "SKIP (do not prefetch) when p >= threshold": the stream cost at or
 * above it, the prefetch cost below it (a NaN score is never SKIP, as in the service: prefetch when unsure).
 */
export function decisionCosts(p: ArrayLike<number>, threshold: number, costs: ListenCosts): Float64Array {
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i] >= threshold ? costs.stream[i] : costs.prefetch[i];
  return out;
}
