// ROC AUC of probabilities against 0/1 outcomes, in linear time: probabilities are bucketed into 2^20 bins
// and pairs inside one bin count as ties (half). With that resolution the error is far below 1e-4.

const BINS = 1 << 20;

export class AucAccumulator {
  private readonly positives = new Float64Array(BINS);
  private readonly negatives = new Float64Array(BINS);
  private positiveCount = 0;
  private negativeCount = 0;

  add(probability: number, outcome: number): void {
    const bin = Math.min(BINS - 1, Math.max(0, Math.floor(probability * BINS)));
    if (outcome) {
      this.positives[bin]++;
      this.positiveCount++;
    } else {
      this.negatives[bin]++;
      this.negativeCount++;
    }
  }

  /** NaN when one class is absent. */
  value(): number {
    if (this.positiveCount === 0 || this.negativeCount === 0) return Number.NaN;
    let negativesBelow = 0;
    let area = 0;
    for (let bin = 0; bin < BINS; bin++) {
      const pos = this.positives[bin];
      const neg = this.negatives[bin];
      if (pos > 0) area += pos * (negativesBelow + neg / 2);
      negativesBelow += neg;
    }
    return area / (this.positiveCount * this.negativeCount);
  }
}
