// Operating threshold for the cache: the client prefetches a track when P(skip) < t. Two errors cost
// something: "waste" = prefetched but skipped (unplayed audio downloaded), "stall" = not prefetched
// but played to the end (the track had to stream on demand). The threshold minimises the expected
// cost per listen, costWaste * P(waste) + costStall * P(stall), on held-out rows.

export interface CostWeights {
  /** Cost of one listen that was prefetched and then skipped. */
  costWaste: number;
  /** Cost of one listen that was not prefetched and then played to the end. */
  costStall: number;
}

export interface OperatingPoint {
  threshold: number;
  /** Expected cost per listen. */
  cost: number;
  /** Listens prefetched and skipped. */
  waste: number;
  /** Listens not prefetched and played to the end. */
  stalls: number;
  prefetched: number;
  wasteRate: number;
  stallRate: number;
}

/** Expected cost over a grid of thresholds (for the cost/threshold chart). */
export interface CostCurve {
  threshold: Float64Array;
  cost: Float64Array;
  wasteRate: Float64Array;
  stallRate: Float64Array;
}

export interface ThresholdChoice extends CostWeights {
  rows: number;
  /** The cost-minimising threshold (midpoint of the optimal interval between scores). */
  chosen: OperatingPoint;
  /** The default classifier threshold, for comparison. */
  atHalf: OperatingPoint;
  /** Cache everything (t above every score) and cache nothing (t = 0). */
  prefetchAll: OperatingPoint;
  prefetchNone: OperatingPoint;
  curve: CostCurve;
}

function checkInputs(y: Uint8Array, p: Float64Array, costs: CostWeights): void {
  if (y.length !== p.length) throw new RangeError(`threshold: y has ${y.length} rows but p has ${p.length}`);
  if (y.length === 0) throw new RangeError("threshold: no rows");
  for (const key of ["costWaste", "costStall"] as const) {
    const v = costs[key];
    if (!Number.isFinite(v) || v < 0)
      throw new RangeError(`threshold: ${key} must be a finite number >= 0, got ${v}`);
  }
  if (costs.costWaste === 0 && costs.costStall === 0) throw new RangeError("threshold: both costs are 0");
  for (let i = 0; i < y.length; i++) {
    if (y[i] > 1) throw new RangeError(`threshold: y[${i}] = ${y[i]}, labels must be 0 or 1`);
    if (Number.isNaN(p[i])) throw new RangeError(`threshold: p[${i}] is NaN`);
  }
}

interface Split {
  skipped: Float64Array;
  played: Float64Array;
}

function splitSorted(y: Uint8Array, p: Float64Array): Split {
  const skipped: number[] = [];
  const played: number[] = [];
  for (let i = 0; i < y.length; i++) (y[i] === 1 ? skipped : played).push(p[i]);
  return { skipped: Float64Array.from(skipped).sort(), played: Float64Array.from(played).sort() };
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

function pointAt(split: Split, threshold: number, costs: CostWeights): OperatingPoint {
  const rows = split.skipped.length + split.played.length;
  const waste = countBelow(split.skipped, threshold);
  const playedPrefetched = countBelow(split.played, threshold);
  const stalls = split.played.length - playedPrefetched;
  return {
    threshold,
    cost: (costs.costWaste * waste + costs.costStall * stalls) / rows,
    waste,
    stalls,
    prefetched: waste + playedPrefetched,
    wasteRate: waste / rows,
    stallRate: stalls / rows,
  };
}

/** Figures of the decision "prefetch when p < threshold". */
export function operatingPoint(
  y: Uint8Array,
  p: Float64Array,
  threshold: number,
  costs: CostWeights,
): OperatingPoint {
  checkInputs(y, p, costs);
  return pointAt(splitSorted(y, p), threshold, costs);
}

/**
 * Chooses the threshold with the lowest expected cost. Every threshold between two consecutive
 * distinct scores makes the same decisions, so the search visits each distinct score once and
 * returns the midpoint of the best interval (the rule then generalises to unseen scores between
 * them). Equal costs are resolved toward 0.5. The curve samples `gridSize` thresholds on [0, 1].
 */
export function chooseThreshold(
  y: Uint8Array,
  p: Float64Array,
  options: CostWeights & { gridSize?: number },
): ThresholdChoice {
  checkInputs(y, p, options);
  const costs: CostWeights = { costWaste: options.costWaste, costStall: options.costStall };
  const split = splitSorted(y, p);
  const scores = Float64Array.from(p).sort();
  const distinct: number[] = [];
  for (let i = 0; i < scores.length; i++)
    if (i === 0 || scores[i] !== scores[i - 1]) distinct.push(scores[i]);

  // Candidate k prefetches every score < distinct[k]; k = distinct.length prefetches everything.
  // Its threshold is the midpoint of (distinct[k-1], distinct[k]], bounded by 0 and 1 outside.
  const candidateThreshold = (k: number): number => {
    const below = k === 0 ? Math.min(0, distinct[0]) : distinct[k - 1];
    if (k === distinct.length) return below < 1 ? (below + 1) / 2 : below + 1e-9;
    return (below + distinct[k]) / 2;
  };
  let best: OperatingPoint | undefined;
  for (let k = 0; k <= distinct.length; k++) {
    const t = candidateThreshold(k);
    const point = pointAt(split, t, costs);
    const better =
      best === undefined ||
      point.cost < best.cost ||
      (point.cost === best.cost && Math.abs(t - 0.5) < Math.abs(best.threshold - 0.5));
    if (better) best = point;
  }
  const maxScore = distinct[distinct.length - 1];
  const gridSize = options.gridSize ?? 101;
  if (!Number.isInteger(gridSize) || gridSize < 2)
    throw new RangeError("threshold: gridSize must be an integer >= 2");
  const curve: CostCurve = {
    threshold: new Float64Array(gridSize),
    cost: new Float64Array(gridSize),
    wasteRate: new Float64Array(gridSize),
    stallRate: new Float64Array(gridSize),
  };
  for (let g = 0; g < gridSize; g++) {
    const t = g / (gridSize - 1);
    const point = pointAt(split, t, costs);
    curve.threshold[g] = t;
    curve.cost[g] = point.cost;
    curve.wasteRate[g] = point.wasteRate;
    curve.stallRate[g] = point.stallRate;
  }
  return {
    ...costs,
    rows: y.length,
    chosen: best as OperatingPoint,
    atHalf: pointAt(split, 0.5, costs),
    prefetchAll: pointAt(split, maxScore < 1 ? 1 : maxScore + 1e-9, costs),
    prefetchNone: pointAt(split, Math.min(0, distinct[0]), costs),
    curve,
  };
}
