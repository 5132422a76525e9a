// Shapes of the cache simulator: the listens it replays, its options, and its per-policy results.
import type { CostModel } from "../listens/cost-model.ts";
import type { SavingOptions } from "../train/policy-choice.ts";

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
  /** Wasted bytes of cache-everything minus this policy's (what it spared the network). */
  wasteAvoidedBytes: number;
  /** wastePerMb × wasted MB + stall × stalls (the cost model). */
  cost: number;
  /** Net saving: cost(cache everything) − cost; negative when the policy costs more than caching everything. */
  saving: number;
  /** saving / (cost(cache everything) − cost(oracle)); NaN when the oracle saves nothing. */
  share: number;
  /** Percentile interval of `saving` and `share` from a paired bootstrap over users. */
  savingCi: { lower: number; upper: number };
  shareCi: { lower: number; upper: number };
  /** Users whose listens were replayed (the bootstrap's clusters). */
  users: number;
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
  cost: number;
  /** cost(cache everything) − cost and its share of the oracle's saving (no interval: secondary material). */
  saving: number;
  share: number;
  /** On the wasted-vs-missed Pareto frontier of its model's sweep. */
  onFrontier: boolean;
}

/** A model's lowest-cost sweep point on the replayed period itself (chosen in hindsight: secondary material). */
export interface OperatingPoint {
  model: string;
  threshold: number;
  cost: number;
  saving: number;
  share: number;
  wastedShare: number;
  missedShare: number;
  stalls: number;
}

/** The policy recommended before the replayed period (the bundle's or the training run's policy). */
export interface RecommendedPolicy {
  kind: "cache-all" | "cache-nothing" | "model";
  model: string | null;
  threshold: number | null;
  /** Why, in plain words (from the validation period). */
  reason: string;
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
  /** Prices the outcomes and turns ms into bytes (bitrateKbps); default DEFAULT_COST_MODEL. */
  costModel?: CostModel;
  /** Replicates, seed and level of the user bootstrap of every policy's net saving. */
  bootstrap?: SavingOptions;
  models?: ModelScores[];
  /** 1 where the naive genre rule predicts SKIP (genre_match = 0), per listen. */
  genreRuleSkip?: Uint8Array;
  /** Prefix prefetched for every track by the partial policy; default 10 s. */
  partialPrefixMs?: number;
  /** Thresholds of the sweep; default 0, 0.01, …, 1. */
  sweepThresholds?: number[];
  device?: DeviceOptions;
  /**
   * The policy chosen before this period (never on it). Without it the simulation reports every policy and
   * recommends none.
   */
  recommend?: RecommendedPolicy;
}

export interface CacheSimulation {
  listens: number;
  users: number;
  costModel: CostModel;
  /** "bootstrap over users", its level and replicates. */
  interval: { method: string; level: number; replicates: number };
  policies: PolicyResult[];
  sweep: SweepPoint[];
  /** Lowest-cost sweep point per model on this very period (hindsight; never the recommendation). */
  bestPerModel: OperatingPoint[];
  /** The policy chosen before this period, as given in `recommend`. */
  recommendation?: RecommendedPolicy;
  /** Its result on this period (one of `policies`). */
  recommended?: PolicyResult;
  device: DeviceResult[];
}
