// Audio taste: where the track sits relative to the audio profile of what the user played out versus
// what the user skipped (standardised audio features, squared distances to the two smoothed means).
// Users differ in which sound they skip; the per-user rates above cannot see that.
import type { CatalogIndex } from "./catalog-index.ts";
import { COL, TASTE_DIMENSIONS } from "./schema.ts";

const K = TASTE_DIMENSIONS;

export class TasteFamily {
  /** Per user slot: sums of standardised audio vectors of played-out / skipped listens, and counts. */
  playedSum: Float64Array;
  skippedSum: Float64Array;
  playedCount: Uint32Array;
  skippedCount: Uint32Array;
  /** Same over every user: the prior means. */
  globalPlayedSum = new Float64Array(K);
  globalSkippedSum = new Float64Array(K);
  globalCounts = new Uint32Array(2);

  constructor(
    private readonly index: CatalogIndex,
    userCapacity: number,
  ) {
    const c = Math.max(1, userCapacity);
    this.playedSum = new Float64Array(c * K);
    this.skippedSum = new Float64Array(c * K);
    this.playedCount = new Uint32Array(c);
    this.skippedCount = new Uint32Array(c);
  }

  ensureUsers(size: number): void {
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
}
