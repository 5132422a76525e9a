// Outcome counters per entity (user, track, artist, pair, ...) in growable typed arrays, indexed by slot.
// Pair tables hold millions of slots, so the like and heard-time columns exist only where a feature reads them.
import type { Columns, NamedArray } from "./snapshot.ts";

export interface TallyKind {
  likes: boolean;
  heard: boolean;
}

export const FULL_TALLY: TallyKind = { likes: true, heard: true };

export interface TallyColumns {
  listens: Uint32Array;
  skips: Uint32Array;
  likes?: Uint32Array;
  heardCount?: Uint32Array;
  heardSum?: Float64Array;
}

const NONE_U32 = new Uint32Array(0);
const NONE_F64 = new Float64Array(0);

export class Tally {
  size = 0;
  listens: Uint32Array;
  skips: Uint32Array;
  /** Zero-length when the kind has no likes / heard columns. */
  likes: Uint32Array;
  /** Listens whose heard fraction is known, and the sum of those fractions. */
  heardCount: Uint32Array;
  heardSum: Float64Array;

  constructor(
    capacity = 16,
    readonly kind: TallyKind = FULL_TALLY,
  ) {
    const c = Math.max(1, capacity);
    this.listens = new Uint32Array(c);
    this.skips = new Uint32Array(c);
    this.likes = kind.likes ? new Uint32Array(c) : NONE_U32;
    this.heardCount = kind.heard ? new Uint32Array(c) : NONE_U32;
    this.heardSum = kind.heard ? new Float64Array(c) : NONE_F64;
  }

  /** Makes slots [0, size) addressable, keeping the counts already held. */
  ensureSize(size: number): void {
    if (size > this.listens.length) this.reserve(Math.max(size, this.listens.length * 2));
    if (size > this.size) this.size = size;
  }

  /** Room for `capacity` slots without changing `size`. */
  reserve(capacity: number): void {
    if (capacity > this.listens.length) {
      const c = capacity;
      this.listens = grow(this.listens, new Uint32Array(c));
      this.skips = grow(this.skips, new Uint32Array(c));
      if (this.kind.likes) this.likes = grow(this.likes, new Uint32Array(c));
      if (this.kind.heard) {
        this.heardCount = grow(this.heardCount, new Uint32Array(c));
        this.heardSum = grow(this.heardSum, new Float64Array(c));
      }
    }
  }

  /** Adds one listen to `slot` (which must be < size). `fraction` NaN = heard time unknown. */
  add(slot: number, skipped: number, liked: number, fraction: number): void {
    this.listens[slot]++;
    this.skips[slot] += skipped;
    if (this.kind.likes) this.likes[slot] += liked;
    if (this.kind.heard && !Number.isNaN(fraction)) {
      this.heardCount[slot]++;
      this.heardSum[slot] += fraction;
    }
  }

  /** `listens`, `skips`, then `likes` and `heardCount`, `heardSum` when the kind has them. */
  columns(): Columns {
    const n = this.size;
    const columns: Record<string, NamedArray> = {
      listens: this.listens.subarray(0, n),
      skips: this.skips.subarray(0, n),
    };
    if (this.kind.likes) columns.likes = this.likes.subarray(0, n);
    if (this.kind.heard) {
      columns.heardCount = this.heardCount.subarray(0, n);
      columns.heardSum = this.heardSum.subarray(0, n);
    }
    return columns;
  }

  static fromColumns(columns: TallyColumns, kind: TallyKind, minCapacity = 16): Tally {
    const size = columns.listens.length;
    for (const [name, array] of Object.entries(columns)) {
      if (array !== undefined && array.length !== size)
        throw new Error(`tally column "${name}" has ${array.length} values, expected ${size}`);
    }
    const tally = new Tally(Math.max(size, minCapacity), kind);
    tally.listens.set(columns.listens);
    tally.skips.set(columns.skips);
    if (kind.likes) tally.likes.set(required(columns.likes, "likes"));
    if (kind.heard) {
      tally.heardCount.set(required(columns.heardCount, "heardCount"));
      tally.heardSum.set(required(columns.heardSum, "heardSum"));
    }
    tally.size = size;
    return tally;
  }
}

function required<T>(column: T | undefined, name: string): T {
  if (column === undefined) throw new Error(`lacks the "${name}" column of a tally`);
  return column;
}

export function grow<T extends Uint32Array | Int32Array | Float64Array | Int8Array | Uint8Array>(
  from: T,
  to: T,
): T {
  to.set(from);
  return to;
}
