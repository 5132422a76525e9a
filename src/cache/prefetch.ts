// Byte accounting of one prefetch plan: for every listen, how much of the track was downloaded before it
// started. Playback streams on demand whatever it reaches beyond the prefetched part and nothing more, so
// each byte of a track is exactly one of: played, wasted (downloaded, never played) or never fetched.
import type { ByteAccounting, CacheCosts, CacheListen, PolicyKind, PolicyResult } from "./types.ts";

export const DEFAULT_BITRATE_BYTES_PER_SECOND = 20_000;
export const DEFAULT_COSTS: CacheCosts = { perWastedMB: 1, perStall: 4 };

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

/** Account a plan (prefetched ms per listen, clamped to [0, duration]) in bytes. */
export function accountPlan(
  listens: readonly CacheListen[],
  prefetchMs: Float64Array,
  bitrate: number,
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
  const toBytes = bitrate / 1000;
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

export function costOf(wastedBytes: number, stalls: number, costs: CacheCosts): number {
  return (costs.perWastedMB * wastedBytes) / 1e6 + costs.perStall * stalls;
}

/** Share of the oracle's savings over cache-everything that a policy with this waste captures. */
export function oracleSavingsShare(
  wastedBytes: number,
  cacheAllWasted: number,
  oracleWasted: number,
): number {
  const possible = cacheAllWasted - oracleWasted;
  return possible > 0 ? (cacheAllWasted - wastedBytes) / possible : Number.NaN;
}

export function policyResult(
  description: { name: string; kind: PolicyKind; model?: string; threshold?: number; prefixMs?: number },
  totals: PlanTotals,
  reference: { cacheAllWasted: number; oracleWasted: number },
  costs: CacheCosts,
): PolicyResult {
  const { fullPlayBytes: _unused, ...accounting } = totals;
  return {
    ...description,
    ...accounting,
    hitRate: totals.fullPlays > 0 ? totals.hits / totals.fullPlays : Number.NaN,
    wastedShare: totals.totalBytes > 0 ? totals.wastedBytes / totals.totalBytes : Number.NaN,
    missedShare: totals.fullPlayBytes > 0 ? totals.missedBytes / totals.fullPlayBytes : Number.NaN,
    oracleSavingsShare: oracleSavingsShare(
      totals.wastedBytes,
      reference.cacheAllWasted,
      reference.oracleWasted,
    ),
    cost: costOf(totals.wastedBytes, totals.stalls, costs),
  };
}
