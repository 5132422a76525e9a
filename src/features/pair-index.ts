// (a, b) → dense slot for pairs of non-negative int32 ids (user × track, user × genre, ...): an
// open-addressing hash table in typed arrays, far smaller than a Map with millions of keys.
// A bucket holds only slot + 1 (4 bytes); the pair itself is checked in `first` / `second`. Buckets of
// [a, b, slot + 1, unused] touched one cache line per probe, but at 16 bytes a bucket and a load of at most
// one half, the user × track and user × artist tables of a 10× production delivery (24 M and 20 M pairs)
// took 1 GB each, the largest part of training's peak memory.

const EMPTY = 0;

export class PairIndex {
  size = 0;
  /** Pair of each slot, in creation order (what a snapshot stores). */
  first: Int32Array;
  second: Int32Array;
  private table: Int32Array;
  private mask: number;

  constructor(capacity = 16) {
    const c = Math.max(1, capacity);
    this.first = new Int32Array(c);
    this.second = new Int32Array(c);
    let buckets = 16;
    while (buckets < c * 2) buckets *= 2;
    this.table = new Int32Array(buckets);
    this.mask = buckets - 1;
  }

  /** Slot of (a, b), or -1 when the pair was never interned. */
  find(a: number, b: number): number {
    const { table, first, second } = this;
    let h = hashPair(a, b) & this.mask;
    for (;;) {
      const entry = table[h];
      if (entry === EMPTY) return -1;
      if (first[entry - 1] === a && second[entry - 1] === b) return entry - 1;
      h = (h + 1) & this.mask;
    }
  }

  /** Slot of (a, b), created (as `size`) when new. */
  intern(a: number, b: number): number {
    const { table, first, second } = this;
    let h = hashPair(a, b) & this.mask;
    for (;;) {
      const entry = table[h];
      if (entry === EMPTY) break;
      if (first[entry - 1] === a && second[entry - 1] === b) return entry - 1;
      h = (h + 1) & this.mask;
    }
    const slot = this.size++;
    if (slot >= this.first.length) {
      const c = this.first.length * 2;
      const first = new Int32Array(c);
      first.set(this.first);
      const second = new Int32Array(c);
      second.set(this.second);
      this.first = first;
      this.second = second;
    }
    this.first[slot] = a;
    this.second[slot] = b;
    if (this.size * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    else table[h] = slot + 1;
    return slot;
  }

  /** Makes room for `capacity` pairs without further growth (avoids repeated rehashing of big tables). */
  reserve(capacity: number): void {
    if (capacity > this.first.length) {
      const first = new Int32Array(capacity);
      first.set(this.first);
      const second = new Int32Array(capacity);
      second.set(this.second);
      this.first = first;
      this.second = second;
    }
    let buckets = this.mask + 1;
    while (buckets < capacity * 2 + 2) buckets *= 2;
    if (buckets > this.mask + 1) this.rehash(buckets);
  }

  private rehash(buckets: number): void {
    const table = new Int32Array(buckets);
    const mask = buckets - 1;
    for (let slot = 0; slot < this.size; slot++) {
      let h = hashPair(this.first[slot], this.second[slot]) & mask;
      while (table[h] !== EMPTY) h = (h + 1) & mask;
      table[h] = slot + 1;
    }
    this.table = table;
    this.mask = mask;
  }

  /** Rebuilds an index whose slots are exactly the given pairs, in order. */
  static fromPairs(first: Int32Array, second: Int32Array): PairIndex {
    const index = new PairIndex(Math.max(16, first.length));
    index.first.set(first);
    index.second.set(second);
    index.size = first.length;
    let buckets = 16;
    while (buckets < index.size * 2 + 2) buckets *= 2;
    index.rehash(buckets);
    return index;
  }
}

function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h;
}
