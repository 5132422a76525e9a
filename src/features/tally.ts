// Outcome counters per entity (user, track, artist, pair, ...) in growable typed arrays, indexed by slot.

export type TallyColumns = Record<"listens" | "skips" | "likes" | "heardCount", Uint32Array> & {
  heardSum: Float64Array;
};

export class Tally {
  size = 0;
  listens: Uint32Array;
  skips: Uint32Array;
  likes: Uint32Array;
  /** Listens whose heard fraction is known, and the sum of those fractions. */
  heardCount: Uint32Array;
  heardSum: Float64Array;

  constructor(capacity = 16) {
    const c = Math.max(1, capacity);
    this.listens = new Uint32Array(c);
    this.skips = new Uint32Array(c);
    this.likes = new Uint32Array(c);
    this.heardCount = new Uint32Array(c);
    this.heardSum = new Float64Array(c);
  }

  /** Makes slots [0, size) addressable, keeping the counts already held. */
  ensureSize(size: number): void {
    if (size > this.listens.length) {
      const c = Math.max(size, this.listens.length * 2);
      this.listens = grow(this.listens, new Uint32Array(c));
      this.skips = grow(this.skips, new Uint32Array(c));
      this.likes = grow(this.likes, new Uint32Array(c));
      this.heardCount = grow(this.heardCount, new Uint32Array(c));
      this.heardSum = grow(this.heardSum, new Float64Array(c));
    }
    if (size > this.size) this.size = size;
  }

  /** Adds one listen to `slot` (which must be < size). `fraction` NaN = heard time unknown. */
  add(slot: number, skipped: number, liked: number, fraction: number): void {
    this.listens[slot]++;
    this.skips[slot] += skipped;
    this.likes[slot] += liked;
    if (!Number.isNaN(fraction)) {
      this.heardCount[slot]++;
      this.heardSum[slot] += fraction;
    }
  }

  columns(): TallyColumns {
    return {
      listens: this.listens.subarray(0, this.size),
      skips: this.skips.subarray(0, this.size),
      likes: this.likes.subarray(0, this.size),
      heardCount: this.heardCount.subarray(0, this.size),
      heardSum: this.heardSum.subarray(0, this.size),
    };
  }

  static fromColumns(columns: TallyColumns, minCapacity = 16): Tally {
    const size = columns.listens.length;
    const tally = new Tally(Math.max(size, minCapacity));
    tally.listens.set(columns.listens);
    tally.skips.set(columns.skips);
    tally.likes.set(columns.likes);
    tally.heardCount.set(columns.heardCount);
    tally.heardSum.set(columns.heardSum);
    tally.size = size;
    return tally;
  }
}

export function grow<T extends Uint32Array | Int32Array | Float64Array | Int8Array | Uint8Array>(
  from: T,
  to: T,
): T {
  to.set(from);
  return to;
}
