// Byte accounting of one prefetch plan: for every listen, how much of the track was downloaded before it
// started. Playback streams on demand whatever it reaches beyond the prefetched part and nothing more, so
// each byte of a track is exactly one of: played, wasted (downloaded, never played) or never fetched.
// Prices come from the one cost model (src/listens/cost-model.ts).
import { bytesPerMs, type CostModel, costOf } from "../listens/cost-model.ts";
import { netSaving, type SavingOptions } from "../train/policy-choice.ts";
import type { ByteAccounting, CacheListen, PolicyKind, PolicyResult } from "./types.ts";

/** Throws a RangeError naming the listen and field when a listen cannot be replayed. */
export function validateListens(listens: readonly CacheListen[]): void {
  listens.forEach((l, i) => {
    if (!(Number.isFinite(l.durationMs) && l.durationMs >= 0)) {
      throw new RangeError(
        `listen ${i} (track ${l.trackId}): field "durationMs" must be a finite number ≥ 0`,
      );
    }
    if (!(Number.isFinite(l.heardMs) && l.heardMs >= 0)) {
      throw new RangeError(`listen ${i} (track ${l.trackId}): field "heardMs" must be a finite number ≥ 0`);
    }
    if (typeof l.skipped !== "boolean")
      throw new RangeError(`listen ${i}: field "skipped" must be a boolean`);
  });
}

/** Audio heard: the skip point for a skip (capped at the duration), the whole track for a full play. */
export function heardOf(listen: CacheListen): number {
  return listen.skipped ? Math.min(listen.heardMs, listen.durationMs) : listen.durationMs;
}

export interface PlanTotals extends ByteAccounting {
  listens: number;
  fullPlays: number;
  fullPlayBytes: number;
  hits: number;
  stalls: number;
  missedBytes: number;
}

/** Account a plan (prefetched ms per listen, clamped to [0, duration]) in bytes at `bitrateKbps`. */
export function accountPlan(
  listens: readonly CacheListen[],
  prefetchMs: Float64Array,
  bitrateKbps: number,
): PlanTotals {
  if (prefetchMs.length !== listens.length) {
    throw new RangeError(`prefetch plan has ${prefetchMs.length} entries for ${listens.length} listens`);
  }
  let total = 0;
  let played = 0;
  let wasted = 0;
  let neverFetched = 0;
  let prefetched = 0;
  let streamed = 0;
  let fullPlays = 0;
  let fullPlayMs = 0;
  let hits = 0;
  let missed = 0;
  for (let i = 0; i < listens.length; i++) {
    const duration = listens[i].durationMs;
    const heard = heardOf(listens[i]);
    const fetched = Math.min(Math.max(prefetchMs[i], 0), duration);
    total += duration;
    played += heard;
    prefetched += fetched;
    wasted += Math.max(0, fetched - heard);
    streamed += Math.max(0, heard - fetched);
    neverFetched += duration - Math.max(fetched, heard);
    if (!listens[i].skipped) {
      fullPlays++;
      fullPlayMs += duration;
      if (fetched >= duration) hits++;
      else missed += duration - fetched;
    }
  }
  const toBytes = bytesPerMs({ wastePerMb: 0, stall: 0, bitrateKbps });
  return {
    listens: listens.length,
    totalBytes: total * toBytes,
    playedBytes: played * toBytes,
    wastedBytes: wasted * toBytes,
    neverFetchedBytes: neverFetched * toBytes,
    downloadedBytes: (played + wasted) * toBytes,
    prefetchedBytes: prefetched * toBytes,
    streamedBytes: streamed * toBytes,
    fullPlays,
    fullPlayBytes: fullPlayMs * toBytes,
    hits,
    stalls: fullPlays - hits,
    missedBytes: missed * toBytes,
  };
}

/**
 * Cost of every listen under a plan: wastePerMb × its wasted MB (prefetched beyond what was heard) plus
 * `stall` when it was played to the end without being prefetched whole. Sums to
 * costOf(accountPlan(...).wastedBytes, stalls) up to summation order.
 */
export function planCosts(
  listens: readonly CacheListen[],
  prefetchMs: Float64Array,
  costModel: CostModel,
): Float64Array {
  if (prefetchMs.length !== listens.length) {
    throw new RangeError(`prefetch plan has ${prefetchMs.length} entries for ${listens.length} listens`);
  }
  const toBytes = bytesPerMs(costModel);
  const out = new Float64Array(listens.length);
  for (let i = 0; i < listens.length; i++) {
    const duration = listens[i].durationMs;
    const fetched = Math.min(Math.max(prefetchMs[i], 0), duration);
    const wasted = Math.max(0, fetched - heardOf(listens[i]));
    const stalled = !listens[i].skipped && fetched < duration;
    out[i] = costOf(wasted * toBytes, stalled ? 1 : 0, costModel);
  }
  return out;
}

/** What every policy is compared with: cache-everything's and the oracle's per-listen costs and waste. */
export interface PolicyReference {
  cacheAllWasted: number;
  cacheAllCosts: Float64Array;
  oracleCosts: Float64Array;
  userId: Int32Array;
  bootstrap: SavingOptions;
}

export function policyResult(
  description: { name: string; kind: PolicyKind; model?: string; threshold?: number; prefixMs?: number },
  totals: PlanTotals,
  costs: Float64Array,
  reference: PolicyReference,
  costModel: CostModel,
): PolicyResult {
  const { fullPlayBytes: _unused, ...accounting } = totals;
  const saving = netSaving(
    costs,
    reference.cacheAllCosts,
    reference.oracleCosts,
    reference.userId,
    reference.bootstrap,
  );
  return {
    ...description,
    ...accounting,
    hitRate: totals.fullPlays > 0 ? totals.hits / totals.fullPlays : Number.NaN,
    wastedShare: totals.totalBytes > 0 ? totals.wastedBytes / totals.totalBytes : Number.NaN,
    missedShare: totals.fullPlayBytes > 0 ? totals.missedBytes / totals.fullPlayBytes : Number.NaN,
    wasteAvoidedBytes: reference.cacheAllWasted - totals.wastedBytes,
    cost: costOf(totals.wastedBytes, totals.stalls, costModel),
    saving: saving.saving,
    share: saving.share,
    savingCi: { lower: saving.ciLower, upper: saving.ciUpper },
    shareCi: { lower: saving.shareCiLower, upper: saving.shareCiUpper },
    users: saving.users,
  };
}
