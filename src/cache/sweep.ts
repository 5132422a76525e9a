// Threshold sweep in O(n log n) per model: sort listens by P(skip); the plan at threshold t prefetches
// exactly the listens scored below t, a prefix of that order, so every total is a base value plus a
// prefix sum of per-listen changes. Matches accountPlan(decisionPlan(thresholdDecisions(p, t))) exactly
// up to summation order.
import { bytesPerMs, type CostModel, costOf } from "../listens/cost-model.ts";
import { heardOf } from "./prefetch.ts";
import type { CacheListen, SweepPoint } from "./types.ts";

export interface SweepReference {
  /** Total cost of caching everything and of the oracle (for the net saving and its share). */
  cacheAllCost: number;
  oracleCost: number;
  totalBytes: number;
  fullPlayBytes: number;
  fullPlays: number;
}

export function sweepModel(
  listens: readonly CacheListen[],
  model: string,
  pSkip: Float64Array,
  thresholds: readonly number[],
  reference: SweepReference,
  costModel: CostModel,
): SweepPoint[] {
  const n = listens.length;
  const toBytes = bytesPerMs(costModel);
  // Base: nothing prefetched except NaN scores (never predicted SKIP, so always prefetched).
  let baseWasted = 0;
  let baseMissed = 0;
  let baseStalls = 0;
  let baseDownloaded = 0;
  const scored: number[] = [];
  for (let i = 0; i < n; i++) {
    const duration = listens[i].durationMs;
    const heard = heardOf(listens[i]);
    const full = !listens[i].skipped;
    if (Number.isNaN(pSkip[i])) {
      baseWasted += duration - heard;
      baseDownloaded += duration;
      continue;
    }
    scored.push(i);
    baseDownloaded += heard;
    if (full) {
      baseMissed += duration;
      baseStalls++;
    }
  }
  scored.sort((a, b) => pSkip[a] - pSkip[b]);
  const m = scored.length;
  // Prefix sums of the change from "not prefetched" to "prefetched whole" along the sorted order.
  const wasted = new Float64Array(m + 1);
  const missed = new Float64Array(m + 1);
  const stalls = new Int32Array(m + 1);
  const downloaded = new Float64Array(m + 1);
  for (let k = 0; k < m; k++) {
    const l = listens[scored[k]];
    const heard = heardOf(l);
    const full = !l.skipped;
    wasted[k + 1] = wasted[k] + (l.durationMs - heard);
    downloaded[k + 1] = downloaded[k] + (l.durationMs - heard);
    missed[k + 1] = missed[k] - (full ? l.durationMs : 0);
    stalls[k + 1] = stalls[k] - (full ? 1 : 0);
  }
  const order = thresholds.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]);
  const points: SweepPoint[] = new Array(thresholds.length);
  let k = 0;
  for (const [threshold, index] of order) {
    while (k < m && pSkip[scored[k]] < threshold) k++;
    const wastedBytes = (baseWasted + wasted[k]) * toBytes;
    const missedBytes = (baseMissed + missed[k]) * toBytes;
    const stallCount = baseStalls + stalls[k];
    const cost = costOf(wastedBytes, stallCount, costModel);
    const possible = reference.cacheAllCost - reference.oracleCost;
    points[index] = {
      model,
      threshold,
      wastedBytes,
      missedBytes,
      wastedShare: reference.totalBytes > 0 ? wastedBytes / reference.totalBytes : Number.NaN,
      missedShare: reference.fullPlayBytes > 0 ? missedBytes / reference.fullPlayBytes : Number.NaN,
      stalls: stallCount,
      hitRate:
        reference.fullPlays > 0 ? (reference.fullPlays - stallCount) / reference.fullPlays : Number.NaN,
      downloadedBytes: (baseDownloaded + downloaded[k]) * toBytes,
      cost,
      saving: reference.cacheAllCost - cost,
      share: possible > 0 ? (reference.cacheAllCost - cost) / possible : Number.NaN,
      onFrontier: false,
    };
  }
  return points;
}
