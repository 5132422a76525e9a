// Shapes of the A/B analysis: the joined decision log rows it reads and the summary it produces.
import type { Interval } from "../base/statistics.ts";
import type { CostModel } from "../listens/cost-model.ts";
import type { AnalysisRecord } from "../serve/log-export.ts";
import type { CostIntervalPoint, VariantCostTest } from "./cost-test.ts";
import type { ProportionDifference } from "./proportions.ts";
import type { SrmResult } from "./srm.ts";

export type { Decision } from "../serve/scorer.ts";

/**
 * One logged decision joined with its feedback: the row the server's log export reads (AnalysisRecord:
 * decision time `ts` in epoch ms, outcome absent without feedback), plus what the analysis adds.
 */
export interface DecisionRecord extends AnalysisRecord {
  /** The user's skip rate before the experiment started (the CUPED covariate). */
  preSkipRate?: number;
}

export interface AnalyzeOptions {
  /** Variant the others are compared against; default: a variant named "control", else the first key of `weights`, else the first variant by name. */
  control?: string;
  /** Configured assignment weights per variant (SRM expectation); default equal weights. */
  weights?: Record<string, number>;
  /** Only records of this experiment; default: all records (they must then name one experiment). */
  experiment?: string;
  /** Confidence level of every interval; default 0.95. */
  confidence?: number;
  /** SRM alarm threshold; default 0.001. */
  srmAlpha?: number;
  /** Points per variant in the cumulative-accuracy series; default 100. */
  timelinePoints?: number;
  /** Prices each variant's decisions against cache-everything; default DEFAULT_COST_MODEL. */
  costModel?: CostModel;
  /** Saving to size the cost test for, as a share of cache-everything's cost; default 0.1. */
  savingShare?: number;
  /** Power of that sizing; default 0.8. */
  power?: number;
  /** Listens the always-valid cost test is tuned for (it is valid at every listen); default 10,000. */
  plannedListens?: number;
}

export interface Confusion {
  /** SKIP predicted, SKIP happened (SKIP is the positive class). */
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Audio accounting from decisions with outcomes, durations and heard times. */
export interface VariantCacheMetrics {
  /** Records with outcome, durationMs and heardMs (the ones the figures below cover). */
  records: number;
  /** Sum of track durations (what cache-everything would download). */
  totalMs: number;
  /** Sum of heard audio. */
  heardMs: number;
  /** Unplayed tails of tracks predicted PLAY (prefetched) but skipped: Σ (duration − heard). */
  wastedMs: number;
  /** Audio of tracks predicted SKIP (not prefetched) but played to the end: Σ duration. */
  missedMs: number;
  /** Unplayed tails of every skipped track: cache-everything's waste on the same records. */
  cacheAllWastedMs: number;
  /** wastedMs / totalMs. */
  wastedShare: number;
  /** missedMs / (audio of fully played tracks). */
  missedShare: number;
  /** Share of cache-everything's waste this variant avoided. */
  wasteAvoidedShare: number;
}

export interface CupedVariant {
  /** Users with at least one outcome (the CUPED unit). */
  users: number;
  /** Users whose pre-experiment skip rate was missing (covariate imputed with the mean: no adjustment). */
  usersWithoutCovariate: number;
  /** Mean per-user accuracy, raw and adjusted. */
  raw: { mean: number; variance: number; standardError: number };
  adjusted: { mean: number; variance: number; standardError: number };
  /** 1 − var(adjusted) / var(raw). */
  varianceReduction: number;
}

export interface VariantSummary {
  variant: string;
  models: string[];
  users: number;
  decisions: number;
  decisionsWithOutcome: number;
  skipDecisions: number;
  confusion: Confusion;
  accuracy: Interval;
  precision: Interval;
  recall: Interval;
  f1: number;
  cuped: CupedVariant;
  cache: VariantCacheMetrics;
}

export interface VariantComparison {
  variant: string;
  control: string;
  /** Decision-level accuracy difference (variant − control) with intervals and the pooled z-test. */
  accuracy: ProportionDifference;
  /** Same accuracy difference with the user-clustered (delta-method) variance: decisions of one user are not independent. */
  accuracyClustered: { difference: number; lower: number; upper: number; pValue: number };
  /** Difference of CUPED-adjusted mean per-user accuracy, normal interval, Welch standard error. */
  cupedAccuracy: { difference: number; lower: number; upper: number; pValue: number };
  /** Same comparison on raw per-user accuracy, to show what CUPED gained. */
  userAccuracy: { difference: number; lower: number; upper: number; pValue: number };
}

export interface TimelinePoint {
  variant: string;
  ts: number;
  decisions: number;
  accuracy: number;
  lower: number;
  upper: number;
}

export interface ExperimentAnalysis {
  experiment: string;
  control: string;
  confidence: number;
  records: number;
  firstTs: number;
  lastTs: number;
  variants: VariantSummary[];
  comparisons: VariantComparison[];
  /** SRM on users per variant (the assignment unit). */
  srm: SrmResult & { variants: string[]; weights: number[] };
  cupedTheta: number;
  timeline: TimelinePoint[];
  /** The cost model every cost figure is priced with. */
  costModel: CostModel;
  /** Per variant: its per-listen cost against cache-everything, fixed-horizon and always-valid. */
  costTests: VariantCostTest[];
  /** The always-valid interval of each variant's cost difference over listens. */
  costTimeline: CostIntervalPoint[];
  /** Human-readable warnings (SRM alarm, users seen in two variants, …). */
  warnings: string[];
}
