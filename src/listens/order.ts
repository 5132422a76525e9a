// Orderings on typed arrays. A comparator sort over millions of rows costs seconds; these passes are
// linear (counting sort, LSD radix) and fall back to a comparator only where the data needs it.

/**
 * Row indices of an event table grouped by session (ascending id), and inside a session ordered by
 * timestamp, then by source line (row order). Returns the order and each session's [start, end) span.
 */
export function orderBySession(
  sessionId: Int32Array,
  timestampMs: Float64Array,
  length: number,
): { order: Int32Array; spans: Int32Array } {
  const rank = denseRanks(sessionId, length);
  const sessions = rank.count;
  const starts = new Int32Array(sessions + 1);
  for (let i = 0; i < length; i++) starts[rank.ranks[i] + 1]++;
  for (let s = 0; s < sessions; s++) starts[s + 1] += starts[s];
  const cursor = starts.slice(0, sessions);
  const order = new Int32Array(length);
  for (let i = 0; i < length; i++) order[cursor[rank.ranks[i]]++] = i;
  for (let s = 0; s < sessions; s++) sortSegmentByTime(order, starts[s], starts[s + 1], timestampMs);
  return { order, spans: starts };
}

/** Ascending dense rank (0..count-1) of every value; equal values share a rank. */
function denseRanks(values: Int32Array, length: number): { ranks: Int32Array; count: number } {
  const ranks = new Int32Array(length);
  if (length === 0) return { ranks, count: 0 };
  let min = values[0];
  let max = values[0];
  for (let i = 1; i < length; i++) {
    const v = values[i];
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  const range = max - min + 1;
  if (range <= 4 * length + 1024) {
    const present = new Int32Array(range).fill(-1);
    for (let i = 0; i < length; i++) present[values[i] - min] = 0;
    let count = 0;
    for (let v = 0; v < range; v++) if (present[v] === 0) present[v] = count++;
    for (let i = 0; i < length; i++) ranks[i] = present[values[i] - min];
    return { ranks, count };
  }
  const distinct = Int32Array.from(new Set(values.subarray(0, length))).sort();
  const rankOf = new Map<number, number>();
  for (let r = 0; r < distinct.length; r++) rankOf.set(distinct[r], r);
  for (let i = 0; i < length; i++) ranks[i] = rankOf.get(values[i]) as number;
  return { ranks, count: distinct.length };
}

/** Sorts order[from..to) by (timestamp, row) — only when the segment is not already in that order. */
function sortSegmentByTime(order: Int32Array, from: number, to: number, timestampMs: Float64Array): void {
  let sorted = true;
  for (let i = from + 1; i < to; i++) {
    if (timestampMs[order[i]] < timestampMs[order[i - 1]]) {
      sorted = false;
      break;
    }
  }
  if (sorted) return;
  order.subarray(from, to).sort((a, b) => timestampMs[a] - timestampMs[b] || a - b);
}

const DIGIT_BITS = 16;
const DIGIT_RADIX = 1 << DIGIT_BITS;
const MAX_RADIX_RANGE = 2 ** 48;

/**
 * Stable sort of `order` (indices into `keys`) by ascending key: equal keys keep their order in `order`.
 * LSD radix on integer keys (epoch milliseconds); a comparator sort for fractional or huge ranges.
 */
export function stableSortByKey(keys: Float64Array, order: Int32Array): Int32Array {
  const n = order.length;
  if (n < 2) return order.slice();
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let integral = true;
  for (let i = 0; i < n; i++) {
    const k = keys[order[i]];
    if (!Number.isInteger(k)) integral = false;
    if (k < min) min = k;
    if (k > max) max = k;
  }
  if (!integral || max - min >= MAX_RADIX_RANGE) return comparatorSort(keys, order);
  const range = max - min;
  const passes = range < DIGIT_RADIX ? 1 : range < 2 ** 32 ? 2 : 3;
  let srcOrder = order.slice();
  let srcKeys = new Float64Array(n);
  for (let i = 0; i < n; i++) srcKeys[i] = keys[srcOrder[i]] - min;
  let dstOrder = new Int32Array(n);
  let dstKeys = new Float64Array(n);
  const counts = new Int32Array(DIGIT_RADIX);
  for (let pass = 0, divisor = 1; pass < passes; pass++, divisor *= DIGIT_RADIX) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(srcKeys[i] / divisor) & (DIGIT_RADIX - 1)]++;
    for (let d = 0, sum = 0; d < DIGIT_RADIX; d++) {
      const c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = srcKeys[i];
      const to = counts[(k / divisor) & (DIGIT_RADIX - 1)]++;
      dstOrder[to] = srcOrder[i];
      dstKeys[to] = k;
    }
    [srcOrder, dstOrder] = [dstOrder, srcOrder];
    [srcKeys, dstKeys] = [dstKeys, srcKeys];
  }
  return srcOrder;
}

function comparatorSort(keys: Float64Array, order: Int32Array): Int32Array {
  const positions = new Int32Array(keys.length);
  for (let i = 0; i < order.length; i++) positions[order[i]] = i;
  return order.slice().sort((a, b) => keys[a] - keys[b] || positions[a] - positions[b]);
}

/**
 * Row indices of an event table in stream order: by timestamp, then session id, then source row — the
 * order `sequenceListens` reads each session in, merged across sessions. Training replays events in this
 * order and `skipwise parity` sends them to a service in it.
 */
export function eventTimeOrder(sessionId: Int32Array, timestampMs: Float64Array, length: number): Int32Array {
  const { order } = orderBySession(sessionId, timestampMs, length);
  const keys = new Float64Array(length);
  for (let k = 0; k < length; k++) keys[k] = timestampMs[order[k]];
  const identity = new Int32Array(length);
  for (let k = 0; k < length; k++) identity[k] = k;
  const byTime = stableSortByKey(keys, identity);
  const out = new Int32Array(length);
  for (let k = 0; k < length; k++) out[k] = order[byTime[k]];
  return out;
}
