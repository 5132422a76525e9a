// Splitting a node's rows: each part of rowIdx[begin, end) is partitioned on its own (by the grower's thread
// or a helper), then the parts are joined into all lefts then all rights, each in row order: the same
// layout as one stable pass over the whole node.

/** A split as the partition reads it: rows whose bin is ≤ `bin` go left; the missing bin goes left if `missingLeft`. */
export interface SplitRule {
  feature: number;
  bin: number;
  missingBin: number;
  missingLeft: boolean;
}

/**
 * Stable partition of rowIdx[begin, end): the left rows are compacted in place from `begin`, the right
 * rows written to scratch[begin..]; returns the number of left rows.
 */
export function partitionPart(
  bins: Uint8Array,
  rows: number,
  rowIdx: Int32Array,
  scratch: Int32Array,
  rule: SplitRule,
  begin: number,
  end: number,
): number {
  const base = rule.feature * rows;
  const t = rule.bin;
  const missBin = rule.missingBin;
  const missLeft = rule.missingLeft;
  let write = begin;
  let spill = begin;
  for (let k = begin; k < end; k++) {
    const r = rowIdx[k];
    const b = bins[base + r];
    if (b === missBin ? missLeft : b <= t) rowIdx[write++] = r;
    else scratch[spill++] = r;
  }
  return write - begin;
}

/**
 * Joins partitioned parts [starts[p], starts[p + 1]) with lefts[p] left rows each (`partitionPart`'s
 * layout) into lefts then rights over [starts[0], starts[parts]); returns the boundary.
 */
export function joinParts(
  rowIdx: Int32Array,
  scratch: Int32Array,
  starts: ArrayLike<number>,
  lefts: ArrayLike<number>,
  parts: number,
): number {
  // Lefts move down, in part order: each lands at or below where it is, never on a part not yet moved.
  let write = starts[0] + lefts[0];
  for (let p = 1; p < parts; p++) {
    rowIdx.copyWithin(write, starts[p], starts[p] + lefts[p]);
    write += lefts[p];
  }
  const mid = write;
  for (let p = 0; p < parts; p++) {
    const from = starts[p] + lefts[p];
    const to = starts[p + 1];
    rowIdx.set(scratch.subarray(starts[p], starts[p] + (to - from)), write);
    write += to - from;
  }
  return mid;
}
