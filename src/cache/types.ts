// Shapes of the cache simulator: the listens it replays, its options, and its per-policy results.

/** One listen of the replayed period, in the order the client met them. */
export interface CacheListen {
  userId: number;
  sessionId: number;
  trackId: string;
  durationMs: number;
  /** Audio heard before the skip; ignored (taken as durationMs) for a full play. */
  heardMs: number;
  skipped: boolean;
  startMs: number;
}

/** Costs that turn a policy's outcome into one number: MB = 10^6 bytes. */
export interface CacheCosts {
  perWastedMB: number;
  perStall: number;
}

/** A model's P(skip) for every listen (same order as the listens) and its chosen threshold. */
export interface ModelScores {
  name: string;
  pSkip: Float64Array;
  /** The client predicts SKIP (does not prefetch) when pSkip ≥ threshold. */
  threshold: number;
}

export type PolicyKind = "cache-all" | "cache-nothing" | "genre-rule" | "model" | "partial" | "oracle";

/** Bytes of the whole replay, split so that played + wasted + neverFetched = total. */
export interface ByteAccounting {
  /** Σ track sizes: what cache-everything downloads. */
  totalBytes: number;
  /** Audio actually heard (every heard byte was downloaded, prefetched or streamed). */
  playedBytes: number;
  /** Downloaded but never played: prefetched audio beyond the point the listener skipped. */
  wastedBytes: number;
  /** Never downloaded: audio beyond the skip point that was not prefetched. */
  neverFetchedBytes: number;
  /** playedBytes + wastedBytes. */
  downloadedBytes: number;
  /** Downloaded ahead of playback. */
  prefetchedBytes: number;
  /** Downloaded on demand during playback because it had not been prefetched. */
  streamedBytes: number;
}

export interface PolicyResult extends ByteAccounting {
  name: string;
  kind: PolicyKind;
  model?: string;
  threshold?: number;
  prefixMs?: number;
  listens: number;
  fullPlays: number;
  /** Full plays that were prefetched whole. */
  hits: number;
  /** hits / fullPlays. */
  hitRate: number;
  /** Full plays that were not prefetched whole: playback outran the prefetched audio and had to stream. */
  stalls: number;
  /** Audio of full plays that had not been prefetched (had to be streamed during playback). */
  missedBytes: number;
  /** wastedBytes / totalBytes. */
  wastedShare: number;
  /** missedBytes / bytes of fully played tracks. */
  missedShare: number;
  /** (waste(cache-all) − waste) / (waste(cache-all) − waste(oracle)); NaN when nothing is skipped. */
  oracleSavingsShare: number;
  /** perWastedMB × wasted MB + perStall × stalls. */
  cost: number;
}

export interface SweepPoint {
  model: string;
  threshold: number;
  wastedBytes: number;
  missedBytes: number;
  wastedShare: number;
  missedShare: number;
  stalls: number;
  hitRate: number;
  downloadedBytes: number;
  oracleSavingsShare: number;
  cost: number;
  /** On the wasted-vs-missed Pareto frontier of its model's sweep. */
  onFrontier: boolean;
}

export interface OperatingPoint {
  model: string;
  threshold: number;
  cost: number;
  wastedShare: number;
  missedShare: number;
  stalls: number;
  oracleSavingsShare: number;
}

export type EvictionPolicyName = "lru" | "s3fifo" | "wtinylfu";

export interface DeviceOptions {
  capacitiesBytes: number[];
  policies?: EvictionPolicyName[];
}

export interface DeviceResult {
  policy: EvictionPolicyName;
  /** "all" admits every miss; otherwise the model whose predicted skips are not admitted, or "oracle". */
  admission: string;
  capacityBytes: number;
  requests: number;
  hits: number;
  hitRatio: number;
  /** Heard bytes served from the cache / all heard bytes. */
  byteHitRatio: number;
  downloadedBytes: number;
  /** Whole tracks downloaded into the cache. */
  admittedBytes: number;
  /** Heard bytes streamed because the track was neither cached nor admitted. */
  streamedBytes: number;
  /** Bytes of cached copies never heard while they were in the cache. */
  wastedBytes: number;
  evictions: number;
}

export interface SimulateOptions {
  /** Audio bitrate in bytes per second; default 20,000 (160 kbit/s). */
  bitrateBytesPerSecond?: number;
  costs?: CacheCosts;
  models?: ModelScores[];
  /** 1 where the naive genre rule predicts SKIP (genre_match = 0), per listen. */
  genreRuleSkip?: Uint8Array;
  /** Prefix prefetched for every track by the partial policy; default 10 s. */
  partialPrefixMs?: number;
  /** Thresholds of the sweep; default 0, 0.01, …, 1. */
  sweepThresholds?: number[];
  device?: DeviceOptions;
  /**
   * The operating point to recommend, chosen beforehand (e.g. the lowest-cost point of an earlier
   * period). Without it the recommendation is this period's own lowest-cost point, i.e. chosen in hindsight.
   */
  recommendAt?: { model: string; threshold: number };
}

export interface CacheSimulation {
  listens: number;
  bitrateBytesPerSecond: number;
  costs: CacheCosts;
  policies: PolicyResult[];
  sweep: SweepPoint[];
  /** Lowest-cost sweep point per model. */
  bestPerModel: OperatingPoint[];
  /** The `recommendAt` point, else the lowest-cost point over every model's sweep; undefined without models. */
  recommended?: OperatingPoint;
  /** "beforehand" when `recommendAt` chose it, "hindsight" when it is this period's own best point. */
  recommendedChosen?: "beforehand" | "hindsight";
  device: DeviceResult[];
}
