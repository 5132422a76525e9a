// Audio taste: where the track sits relative to the audio profile of what the user played out versus
// what the user skipped (standardised audio features, squared distances to the two smoothed means).
// Users differ in which sound they skip; the per-user rates above cannot see that.
import type { CatalogIndex } from "./catalog-index.ts";
import { COL, TASTE_DIMENSIONS } from "./schema.ts";
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

  /** `user` = slot or -1; unknown user → distances to the global means; unknown track → NaN. */
  write(user: number, track: number, strength: number, out: Float32Array, base: number): void {
    if (track < 0) {
      out[base + COL.tastePlayed] = Number.NaN;
      out[base + COL.tasteSkipped] = Number.NaN;
      out[base + COL.tasteScore] = Number.NaN;
      return;
    }
    const known = user >= 0 && user < this.playedCount.length;
    const nPlayed = known ? this.playedCount[user] : 0;
    const nSkipped = known ? this.skippedCount[user] : 0;
    const gPlayed = this.globalCounts[0];
    const gSkipped = this.globalCounts[1];
    // Smoothed means: (user sum + strength × global mean) / (user count + strength); the global mean is
    // the catalogue mean (0 after standardising) until something was observed.
    const wPlayed = gPlayed > 0 ? strength / gPlayed : 0;
    const wSkipped = gSkipped > 0 ? strength / gSkipped : 0;
    const dPlayedDen = nPlayed + strength;
    const dSkippedDen = nSkipped + strength;
    const x = this.index.trackTaste;
    const from = track * K;
    const at = user * K;
    let dPlayed = 0;
    let dSkipped = 0;
    for (let k = 0; k < K; k++) {
      const v = x[from + k];
      const ownPlayed = known ? this.playedSum[at + k] : 0;
      const ownSkipped = known ? this.skippedSum[at + k] : 0;
      const mp = v - (ownPlayed + wPlayed * this.globalPlayedSum[k]) / dPlayedDen;
      const ms = v - (ownSkipped + wSkipped * this.globalSkippedSum[k]) / dSkippedDen;
      dPlayed += mp * mp;
      dSkipped += ms * ms;
    }
    out[base + COL.tastePlayed] = dPlayed / K;
    out[base + COL.tasteSkipped] = dSkipped / K;
    out[base + COL.tasteScore] = (dPlayed - dSkipped) / K;
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
