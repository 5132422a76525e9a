// Audio taste: where the track sits relative to the audio profile of what the user played out versus
// what the user skipped (standardised audio features, squared distances to the two smoothed means).
// Users differ in which sound they skip; the per-user rates above cannot see that.
import type { CatalogIndex } from "./catalog-index.ts";
import { VectorReads, writeTasteColumns } from "./reads.ts";
import { TASTE_DIMENSIONS } from "./schema.ts";
import { type Columns, column, sameRows } from "./snapshot.ts";
import type { FeatureFamily } from "./types.ts";

const K = TASTE_DIMENSIONS;

export class TasteFamily
  implements
    FeatureFamily<
      [user: number, track: number, skipped: number],
      [user: number, track: number, strength: number]
    >
{
  /** User slots addressable (the rows of the per-user columns). */
  private users = 0;
  /** Per user slot: sums of standardised audio vectors of played-out / skipped listens, and counts. */
  private playedSum: Float64Array;
  private skippedSum: Float64Array;
  private playedCount: Uint32Array;
  private skippedCount: Uint32Array;
  /** Same over every user: the prior means. */
  private readonly globalPlayedSum = new Float64Array(K);
  private readonly globalSkippedSum = new Float64Array(K);
  private readonly globalCounts = new Uint32Array(2);
  private readonly reads = new VectorReads();

  /** `users` = user slots addressable from the start. */
  constructor(
    private readonly index: CatalogIndex,
    users = 0,
  ) {
    const c = Math.max(16, users * 2);
    this.playedSum = new Float64Array(c * K);
    this.skippedSum = new Float64Array(c * K);
    this.playedCount = new Uint32Array(c);
    this.skippedCount = new Uint32Array(c);
    this.ensureUsers(users);
  }

  /** User slots addressable. */
  get userCount(): number {
    return this.users;
  }

  /** Makes user slots [0, size) addressable. */
  ensureUsers(size: number): void {
    if (size > this.users) this.users = size;
    if (size <= this.playedCount.length) return;
    const c = Math.max(size, this.playedCount.length * 2);
    const copy = <T extends Float64Array | Uint32Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.playedSum = copy(this.playedSum, new Float64Array(c * K));
    this.skippedSum = copy(this.skippedSum, new Float64Array(c * K));
    this.playedCount = copy(this.playedCount, new Uint32Array(c));
    this.skippedCount = copy(this.skippedCount, new Uint32Array(c));
  }

  observe(user: number, track: number, skipped: number): void {
    if (track < 0) return;
    const x = this.index.trackTaste;
    const from = track * K;
    const sums = skipped ? this.skippedSum : this.playedSum;
    const global = skipped ? this.globalSkippedSum : this.globalPlayedSum;
    for (let k = 0; k < K; k++) {
      sums[user * K + k] += x[from + k];
      global[k] += x[from + k];
    }
    if (skipped) this.skippedCount[user]++;
    else this.playedCount[user]++;
    this.globalCounts[skipped]++;
  }

  /** Fills the taste part of `r` for a user slot (-1 unknown). */
  read(user: number, r: VectorReads): void {
    const known = user >= 0 && user < this.playedCount.length;
    r.tastePlayedCount = known ? this.playedCount[user] : 0;
    r.tasteSkippedCount = known ? this.skippedCount[user] : 0;
    const at = user * K;
    for (let k = 0; k < K; k++) {
      r.tastePlayedSum[k] = known ? this.playedSum[at + k] : 0;
      r.tasteSkippedSum[k] = known ? this.skippedSum[at + k] : 0;
    }
    r.tasteGlobalPlayed = this.globalCounts[0];
    r.tasteGlobalSkipped = this.globalCounts[1];
    r.tasteGlobalPlayedSum.set(this.globalPlayedSum);
    r.tasteGlobalSkippedSum.set(this.globalSkippedSum);
  }

  /** `user` = slot or -1; unknown user → distances to the global means; unknown track → NaN. */
  write(user: number, track: number, strength: number, out: Float32Array, base: number): void {
    const r = this.reads;
    this.read(user, r);
    r.userKnown = user >= 0 && user < this.playedCount.length;
    writeTasteColumns(r, this.index.trackTaste, track < 0 ? -1 : track * K, strength, out, base);
  }

  columns(): Columns {
    const n = this.users;
    return {
      playedSum: this.playedSum.subarray(0, n * K),
      skippedSum: this.skippedSum.subarray(0, n * K),
      playedCount: this.playedCount.subarray(0, n),
      skippedCount: this.skippedCount.subarray(0, n),
      globalPlayedSum: this.globalPlayedSum,
      globalSkippedSum: this.globalSkippedSum,
      globalCounts: this.globalCounts,
    };
  }

  static fromColumns(columns: Columns, index: CatalogIndex): TasteFamily {
    const playedCount = column(columns, "playedCount", Uint32Array);
    const c = {
      playedSum: column(columns, "playedSum", Float64Array),
      skippedSum: column(columns, "skippedSum", Float64Array),
      skippedCount: column(columns, "skippedCount", Uint32Array),
      globalPlayedSum: column(columns, "globalPlayedSum", Float64Array),
      globalSkippedSum: column(columns, "globalSkippedSum", Float64Array),
      globalCounts: column(columns, "globalCounts", Uint32Array),
    };
    const n = playedCount.length;
    sameRows(n * K, { playedSum: c.playedSum, skippedSum: c.skippedSum });
    sameRows(n, { skippedCount: c.skippedCount });
    sameRows(K, { globalPlayedSum: c.globalPlayedSum, globalSkippedSum: c.globalSkippedSum });
    sameRows(2, { globalCounts: c.globalCounts });
    const family = new TasteFamily(index, n);
    family.playedSum.set(c.playedSum);
    family.skippedSum.set(c.skippedSum);
    family.playedCount.set(playedCount);
    family.skippedCount.set(c.skippedCount);
    family.globalPlayedSum.set(c.globalPlayedSum);
    family.globalSkippedSum.set(c.globalSkippedSum);
    family.globalCounts.set(c.globalCounts);
    return family;
  }
}
