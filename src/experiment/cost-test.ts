// Per variant, the cost of its decisions against cache-everything on the same listens, priced by the one
// cost model (src/listens/cost-model.ts): a PLAY decision prefetches the track, as cache-everything does
// (difference 0); a SKIP decision streams it, so it pays a stall when the track is played out (+stall) and
// saves the waste cache-everything pays when it is skipped (−waste). The mean difference gets a
// fixed-horizon normal interval (one look, at the end) and the always-valid confidence sequence of
// src/base/statistics.ts (valid at every listen: it may be watched as feedback arrives), with the listens
// a fixed-horizon test and the sequence need to detect a given saving.
import {
  ConfidenceSequence,
  fixedHorizonListens,
  minimumDetectableEffect,
  normalInterval,
  normalSurvival,
  sequentialListens,
} from "../base/statistics.ts";
import { type CostModel, costModelOf, prefetchCost, streamCost } from "../listens/cost-model.ts";
import type { DecisionRecord } from "./types.ts";

/** Options of the cost test (AnalyzeOptions carries them). */
export interface CostTestOptions {
  costModel: CostModel;
  /** Two-sided level of both intervals: α = 1 − confidence. */
  confidence: number;
  /** The saving to plan for, as a share of cache-everything's cost per listen; default 0.1 (10 %). */
  savingShare?: number;
  /** Probability of detecting that saving; default 0.8. */
  power?: number;
  /** The sequence's planned n (where it is tightest); default 10,000 listens. */
  plannedListens?: number;
  /** The sequence's planned standard deviation, in cost units; default 1. */
  plannedSd?: number;
  /** Points of the interval-over-listens series; default 100. */
  points?: number;
}

export type CostConclusion = "saves" | "costs more" | "not yet";

export interface CostIntervalPoint {
  variant: string;
  /** Listens seen so far (in decision-time order). */
  listens: number;
  mean: number;
  lower: number;
  upper: number;
}

export interface VariantCostTest {
  variant: string;
  /** Listens priced: decisions with an outcome, durationMs and heardMs. */
  listens: number;
  /** Mean cost per listen of cache-everything (every track prefetched) on these listens. */
  cacheAllCost: number;
  /** Mean cost per listen of the variant's decisions. */
  variantCost: number;
  /** Per-listen cost difference, variant − cache-everything (negative: the variant saves). */
  difference: { mean: number; sd: number };
  /** Normal interval and two-sided p-value at the end: valid for this one look only. */
  fixedHorizon: { lower: number; upper: number; pValue: number };
  /** Always-valid confidence sequence after all listens. */
  sequential: { lower: number; upper: number; alpha: number; plannedListens: number; plannedSd: number };
  /** "saves" when the whole sequence interval is below 0, "costs more" above, else "not yet". */
  conclusion: CostConclusion;
  /** Power analysis for a saving of `savingShare` of cache-everything's cost, at the observed sd. */
  detection: {
    savingShare: number;
    power: number;
    /** The saving per listen that is: savingShare × cacheAllCost. */
    effect: number;
    fixedHorizonListens: number;
    sequentialListens: number;
    /** The smallest saving detectable with `power` at the listens seen, as a share of cacheAllCost. */
    detectableShareNow: { fixedHorizon: number; sequential: number };
  };
}

function hasPricedOutcome(r: DecisionRecord): boolean {
  return (r.outcome === "PLAY" || r.outcome === "SKIP") && r.durationMs != null && r.heardMs != null;
}

/** Cost of the decision minus cache-everything's cost on one listen with an outcome. */
export function costDifference(r: DecisionRecord, c: CostModel): number {
  if (r.decision === "PLAY") return 0;
  const skipped = r.outcome === "SKIP";
  return streamCost(skipped, c) - prefetchCost(skipped, r.durationMs ?? 0, r.heardMs ?? 0, c);
}

/** The cost test of one variant's decisions, with its interval over listens. */
export function costTestOf(
  variant: string,
  rows: readonly DecisionRecord[],
  options: CostTestOptions,
): { test: VariantCostTest; series: CostIntervalPoint[] } {
  const c = costModelOf(options.costModel);
  const alpha = Number((1 - options.confidence).toPrecision(12)); // 0.05, not 0.050000000000000044
  const plannedListens = options.plannedListens ?? 10_000;
  const plannedSd = options.plannedSd ?? 1;
  const savingShare = options.savingShare ?? 0.1;
  const power = options.power ?? 0.8;
  const points = Math.max(1, Math.floor(options.points ?? 100));
  const priced = rows.filter(hasPricedOutcome).sort((a, b) => a.ts - b.ts);
  const cs = new ConfidenceSequence({ alpha, plannedN: plannedListens, plannedSd });
  const series: CostIntervalPoint[] = [];
  let cacheAll = 0;
  let nextPoint = 1;
  for (let i = 0; i < priced.length; i++) {
    const r = priced[i];
    cacheAll += prefetchCost(r.outcome === "SKIP", r.durationMs ?? 0, r.heardMs ?? 0, c);
    cs.add(costDifference(r, c));
    const count = i + 1;
    if (count >= Math.ceil((nextPoint * priced.length) / points) || count === priced.length) {
      const interval = cs.interval();
      if (count >= 2) {
        series.push({ variant, listens: count, mean: cs.mean, lower: interval.lower, upper: interval.upper });
      }
      while (Math.ceil((nextPoint * priced.length) / points) <= count) nextPoint++;
    }
  }
  const n = cs.n;
  const mean = cs.mean;
  // Sample sd (n − 1) for the fixed-horizon test and the power analysis; the sequence uses its plug-in σ̂.
  const sd = n >= 2 ? Math.sqrt((cs.variance * n) / (n - 1)) : Number.NaN;
  const se = sd / Math.sqrt(n);
  const fixed =
    n >= 2 ? normalInterval(mean, se, options.confidence) : { lower: Number.NaN, upper: Number.NaN };
  const pValue = n >= 2 && se > 0 ? Math.min(1, 2 * normalSurvival(Math.abs(mean / se))) : Number.NaN;
  const interval = cs.interval();
  const sign = cs.sign();
  const cacheAllCost = n > 0 ? cacheAll / n : Number.NaN;
  const effect = savingShare * cacheAllCost;
  const canPlan = sd > 0 && Number.isFinite(effect) && effect > 0;
  const plan = { alpha, power, plannedN: plannedListens, plannedSd };
  const mde = canPlan ? minimumDetectableEffect({ ...plan, n, sd }) : undefined;
  return {
    test: {
      variant,
      listens: n,
      cacheAllCost,
      variantCost: n > 0 ? cacheAllCost + mean : Number.NaN,
      difference: { mean, sd },
      fixedHorizon: { lower: fixed.lower, upper: fixed.upper, pValue },
      sequential: { lower: interval.lower, upper: interval.upper, alpha, plannedListens, plannedSd },
      conclusion: sign < 0 ? "saves" : sign > 0 ? "costs more" : "not yet",
      detection: {
        savingShare,
        power,
        effect,
        fixedHorizonListens: canPlan ? fixedHorizonListens({ ...plan, effect, sd }) : Number.NaN,
        sequentialListens: canPlan ? sequentialListens({ ...plan, effect, sd }) : Number.NaN,
        detectableShareNow: {
          fixedHorizon: mde ? mde.fixedHorizon / cacheAllCost : Number.NaN,
          sequential: mde ? mde.sequential / cacheAllCost : Number.NaN,
        },
      },
    },
    series,
  };
}
