// analyzeExperiment: per-variant metrics, comparisons with the control, SRM, CUPED, the
// cumulative-accuracy series, and each variant's per-listen cost against cache-everything (cost-test.ts:
// fixed-horizon and always-valid) from decision-log rows joined with their feedback.
import { criticalValue, normalInterval, normalSurvival, wilsonInterval } from "../base/statistics.ts";
import { costModelOf, DEFAULT_COST_MODEL, validateCostModel } from "../listens/cost-model.ts";
import { costTestOf } from "./cost-test.ts";
import { cupedAdjust, cupedTheta, summarise } from "./cuped.ts";
import { proportionDifference } from "./proportions.ts";
import { sampleRatioMismatch } from "./srm.ts";
import type {
  AnalyzeOptions,
  Confusion,
  CupedVariant,
  DecisionRecord,
  ExperimentAnalysis,
  TimelinePoint,
  VariantCacheMetrics,
  VariantComparison,
  VariantSummary,
} from "./types.ts";

const DECISIONS = new Set(["PLAY", "SKIP"]);

function describe(record: DecisionRecord, index: number): string {
  return `record ${index}${typeof record?.decisionId === "string" ? ` (decision ${record.decisionId})` : ""}`;
}

/** Throws a RangeError naming the record and the field when a row cannot be analysed. */
export function validateRecord(record: DecisionRecord, index: number): void {
  const where = describe(record, index);
  if (record === null || typeof record !== "object") throw new RangeError(`${where}: not an object`);
  if (typeof record.variant !== "string" || record.variant === "") {
    throw new RangeError(`${where}: field "variant" must be a non-empty string`);
  }
  if (typeof record.experiment !== "string")
    throw new RangeError(`${where}: field "experiment" must be a string`);
  if (!Number.isFinite(record.ts)) throw new RangeError(`${where}: field "ts" must be a finite number`);
  if (!Number.isFinite(record.userId))
    throw new RangeError(`${where}: field "userId" must be a finite number`);
  if (!DECISIONS.has(record.decision))
    throw new RangeError(`${where}: field "decision" must be "PLAY" or "SKIP"`);
  if (record.outcome !== undefined && record.outcome !== null && !DECISIONS.has(record.outcome)) {
    throw new RangeError(`${where}: field "outcome" must be "PLAY", "SKIP" or absent`);
  }
  for (const field of ["heardMs", "durationMs", "preSkipRate"] as const) {
    const value = record[field];
    if (value !== undefined && value !== null && !(typeof value === "number" && value >= 0)) {
      throw new RangeError(`${where}: field "${field}" must be a number ≥ 0 or absent`);
    }
  }
}

function hasOutcome(r: DecisionRecord): r is DecisionRecord & { outcome: "PLAY" | "SKIP" } {
  return r.outcome === "PLAY" || r.outcome === "SKIP";
}

function selectExperiment(
  records: readonly DecisionRecord[],
  wanted: string | undefined,
): [string, DecisionRecord[]] {
  if (wanted !== undefined) return [wanted, records.filter((r) => r.experiment === wanted)];
  const names = [...new Set(records.map((r) => r.experiment))];
  if (names.length > 1) {
    throw new RangeError(
      `records name ${names.length} experiments (${names.join(", ")}); choose one with options.experiment`,
    );
  }
  return [names[0] ?? "", [...records]];
}

function orderVariants(
  records: readonly DecisionRecord[],
  weights: Record<string, number> | undefined,
): string[] {
  const configured = Object.keys(weights ?? {});
  const seen = [...new Set(records.map((r) => r.variant))].filter((v) => !configured.includes(v)).sort();
  return [...configured, ...seen];
}

function chooseControl(variants: string[], requested: string | undefined): string {
  if (requested !== undefined) {
    if (!variants.includes(requested)) {
      throw new RangeError(
        `control variant "${requested}" not found among ${variants.join(", ") || "(none)"}`,
      );
    }
    return requested;
  }
  return variants.includes("control") ? "control" : variants[0];
}

function confusionOf(rows: readonly DecisionRecord[]): Confusion {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const r of rows) {
    if (!hasOutcome(r)) continue;
    if (r.decision === "SKIP") r.outcome === "SKIP" ? c.tp++ : c.fp++;
    else r.outcome === "PLAY" ? c.tn++ : c.fn++;
  }
  return c;
}

export function cacheMetricsOf(rows: readonly DecisionRecord[]): VariantCacheMetrics {
  let records = 0;
  let totalMs = 0;
  let heardMs = 0;
  let wastedMs = 0;
  let missedMs = 0;
  let cacheAllWastedMs = 0;
  let fullPlayMs = 0;
  for (const r of rows) {
    if (!hasOutcome(r) || r.durationMs == null || r.heardMs == null) continue;
    records++;
    const duration = r.durationMs;
    const heard = Math.min(r.heardMs, duration);
    totalMs += duration;
    heardMs += heard;
    if (r.outcome === "SKIP") {
      cacheAllWastedMs += duration - heard;
      if (r.decision === "PLAY") wastedMs += duration - heard;
    } else {
      fullPlayMs += duration;
      if (r.decision === "SKIP") missedMs += duration;
    }
  }
  return {
    records,
    totalMs,
    heardMs,
    wastedMs,
    missedMs,
    cacheAllWastedMs,
    wastedShare: totalMs > 0 ? wastedMs / totalMs : Number.NaN,
    missedShare: fullPlayMs > 0 ? missedMs / fullPlayMs : Number.NaN,
    wasteAvoidedShare: cacheAllWastedMs > 0 ? 1 - wastedMs / cacheAllWastedMs : Number.NaN,
  };
}

interface UserAccuracy {
  y: Float64Array;
  x: Float64Array;
  missingCovariate: Uint8Array;
}

/** Per-user accuracy (Y) and pre-experiment skip rate (X, NaN when missing) of one variant's users. */
function userAccuracies(rows: readonly DecisionRecord[]): UserAccuracy {
  const byUser = new Map<number, { correct: number; total: number; covariate: number }>();
  for (const r of rows) {
    if (!hasOutcome(r)) continue;
    let u = byUser.get(r.userId);
    if (!u) {
      u = { correct: 0, total: 0, covariate: Number.NaN };
      byUser.set(r.userId, u);
    }
    u.total++;
    if (r.decision === r.outcome) u.correct++;
    if (Number.isNaN(u.covariate) && typeof r.preSkipRate === "number") u.covariate = r.preSkipRate;
  }
  const n = byUser.size;
  const out: UserAccuracy = {
    y: new Float64Array(n),
    x: new Float64Array(n),
    missingCovariate: new Uint8Array(n),
  };
  let i = 0;
  for (const u of byUser.values()) {
    out.y[i] = u.correct / u.total;
    out.x[i] = u.covariate;
    out.missingCovariate[i] = Number.isNaN(u.covariate) ? 1 : 0;
    i++;
  }
  return out;
}

/**
 * Accuracy as a ratio of per-user sums with its delta-method variance Σ_u (X_u − R·N_u)² / (Σ N_u)²
 * (X_u correct decisions, N_u decisions of user u): the user-clustered sandwich variance, which stays
 * honest when one user's decisions are correlated (the decision-level z-test assumes independence).
 */
export function clusteredRatio(rows: readonly DecisionRecord[]): {
  ratio: number;
  variance: number;
  clusters: number;
} {
  const perUser = new Map<number, [number, number]>();
  for (const r of rows) {
    if (!hasOutcome(r)) continue;
    const u = perUser.get(r.userId) ?? [0, 0];
    if (r.decision === r.outcome) u[0]++;
    u[1]++;
    perUser.set(r.userId, u);
  }
  let correct = 0;
  let total = 0;
  for (const [x, n] of perUser.values()) {
    correct += x;
    total += n;
  }
  if (total === 0) return { ratio: Number.NaN, variance: Number.NaN, clusters: 0 };
  const ratio = correct / total;
  let squares = 0;
  for (const [x, n] of perUser.values()) squares += (x - ratio * n) ** 2;
  return { ratio, variance: squares / (total * total), clusters: perUser.size };
}

function meanDifference(
  a: { mean: number; variance: number; n: number },
  b: { mean: number; variance: number; n: number },
  confidence: number,
): { difference: number; lower: number; upper: number; pValue: number } {
  const difference = a.mean - b.mean;
  const se = Math.sqrt(a.variance / a.n + b.variance / b.n);
  const { lower, upper } = normalInterval(difference, se, confidence);
  const pValue = se > 0 ? Math.min(1, 2 * normalSurvival(Math.abs(difference / se))) : Number.NaN;
  return { difference, lower, upper, pValue };
}

function ratioDifference(
  a: ReturnType<typeof clusteredRatio> | undefined,
  b: ReturnType<typeof clusteredRatio> | undefined,
  confidence: number,
): { difference: number; lower: number; upper: number; pValue: number } {
  if (!a || !b) return { difference: Number.NaN, lower: Number.NaN, upper: Number.NaN, pValue: Number.NaN };
  return meanDifference(
    { mean: a.ratio, variance: a.variance, n: 1 },
    { mean: b.ratio, variance: b.variance, n: 1 },
    confidence,
  );
}

function timelineOf(
  variant: string,
  rows: readonly DecisionRecord[],
  points: number,
  confidence: number,
): TimelinePoint[] {
  const judged = rows.filter(hasOutcome).sort((a, b) => a.ts - b.ts);
  const out: TimelinePoint[] = [];
  let correct = 0;
  let nextPoint = 1;
  for (let i = 0; i < judged.length; i++) {
    if (judged[i].decision === judged[i].outcome) correct++;
    const count = i + 1;
    // Emit at evenly spaced counts, and always at the last record.
    if (count >= Math.ceil((nextPoint * judged.length) / points) || count === judged.length) {
      const w = wilsonInterval(correct, count, confidence);
      out.push({
        variant,
        ts: judged[i].ts,
        decisions: count,
        accuracy: w.estimate,
        lower: w.lower,
        upper: w.upper,
      });
      while (Math.ceil((nextPoint * judged.length) / points) <= count) nextPoint++;
    }
  }
  return out;
}

/** Analyse one experiment's decisions joined with their feedback. */
export function analyzeExperiment(
  records: readonly DecisionRecord[],
  options: AnalyzeOptions = {},
): ExperimentAnalysis {
  records.forEach(validateRecord);
  const confidence = options.confidence ?? 0.95;
  criticalValue(confidence);
  const costModel = validateCostModel(
    costModelOf(options.costModel ?? DEFAULT_COST_MODEL),
    "analyzeExperiment",
  );
  const [experiment, rows] = selectExperiment(records, options.experiment);
  const variants = orderVariants(rows, options.weights);
  if (variants.length === 0) throw new RangeError(`no records for experiment "${experiment}"`);
  const control = chooseControl(variants, options.control);
  const byVariant = new Map<string, DecisionRecord[]>(variants.map((v) => [v, []]));
  for (const r of rows) byVariant.get(r.variant)?.push(r);
  const warnings: string[] = [];

  const variantsOfUser = new Map<number, Set<string>>();
  for (const r of rows) {
    const set = variantsOfUser.get(r.userId) ?? new Set<string>();
    set.add(r.variant);
    variantsOfUser.set(r.userId, set);
  }
  const crossed = [...variantsOfUser.values()].filter((s) => s.size > 1).length;
  if (crossed > 0)
    warnings.push(`${crossed} user(s) appear in more than one variant: assignment is not sticky`);

  // CUPED: θ pooled over all users of all variants; a missing covariate is imputed with the mean (no adjustment).
  const perUser = new Map(variants.map((v) => [v, userAccuracies(byVariant.get(v) ?? [])]));
  const pooledY: number[] = [];
  const pooledX: number[] = [];
  for (const u of perUser.values()) {
    for (let i = 0; i < u.y.length; i++) {
      if (u.missingCovariate[i]) continue;
      pooledY.push(u.y[i]);
      pooledX.push(u.x[i]);
    }
  }
  const fit = cupedTheta(pooledY, pooledX);
  if (pooledX.length === 0)
    warnings.push("no user has a pre-experiment skip rate: CUPED leaves accuracy unadjusted");

  const summaries: VariantSummary[] = [];
  const cupedStats = new Map<
    string,
    { raw: ReturnType<typeof summarise>; adjusted: ReturnType<typeof summarise> }
  >();
  for (const variant of variants) {
    const vr = byVariant.get(variant) ?? [];
    const confusion = confusionOf(vr);
    const judged = confusion.tp + confusion.fp + confusion.tn + confusion.fn;
    const u = perUser.get(variant) as UserAccuracy;
    const x = u.x.map((value, i) =>
      u.missingCovariate[i] || pooledX.length === 0 ? fit.covariateMean : value,
    );
    const adjustedValues = pooledX.length === 0 ? u.y : cupedAdjust(u.y, x, fit);
    const raw = summarise(u.y);
    const adjusted = summarise(adjustedValues);
    cupedStats.set(variant, { raw, adjusted });
    const cuped: CupedVariant = {
      users: u.y.length,
      usersWithoutCovariate: u.missingCovariate.reduce((a, b) => a + b, 0),
      raw: { mean: raw.mean, variance: raw.variance, standardError: raw.standardError },
      adjusted: { mean: adjusted.mean, variance: adjusted.variance, standardError: adjusted.standardError },
      varianceReduction: raw.variance > 0 ? 1 - adjusted.variance / raw.variance : Number.NaN,
    };
    summaries.push({
      variant,
      models: [...new Set(vr.map((r) => r.model))].sort(),
      users: new Set(vr.map((r) => r.userId)).size,
      decisions: vr.length,
      decisionsWithOutcome: judged,
      skipDecisions: vr.filter((r) => r.decision === "SKIP").length,
      confusion,
      accuracy: wilsonInterval(confusion.tp + confusion.tn, judged, confidence),
      precision: wilsonInterval(confusion.tp, confusion.tp + confusion.fp, confidence),
      recall: wilsonInterval(confusion.tp, confusion.tp + confusion.fn, confidence),
      f1: judged > 0 ? (2 * confusion.tp) / (2 * confusion.tp + confusion.fp + confusion.fn) : Number.NaN,
      cuped,
      cache: cacheMetricsOf(vr),
    });
  }

  const controlSummary = summaries.find((s) => s.variant === control) as VariantSummary;
  const controlCuped = cupedStats.get(control) as {
    raw: ReturnType<typeof summarise>;
    adjusted: ReturnType<typeof summarise>;
  };
  const clustered = new Map(variants.map((v) => [v, clusteredRatio(byVariant.get(v) ?? [])]));
  const comparisons: VariantComparison[] = summaries
    .filter((s) => s.variant !== control)
    .map((s) => {
      const stats = cupedStats.get(s.variant) as typeof controlCuped;
      return {
        variant: s.variant,
        control,
        accuracy: proportionDifference(
          s.confusion.tp + s.confusion.tn,
          s.decisionsWithOutcome,
          controlSummary.confusion.tp + controlSummary.confusion.tn,
          controlSummary.decisionsWithOutcome,
          confidence,
        ),
        accuracyClustered: ratioDifference(clustered.get(s.variant), clustered.get(control), confidence),
        cupedAccuracy: meanDifference(stats.adjusted, controlCuped.adjusted, confidence),
        userAccuracy: meanDifference(stats.raw, controlCuped.raw, confidence),
      };
    });

  const weights = variants.map((v) => options.weights?.[v] ?? (options.weights ? 0 : 1));
  for (const [i, w] of weights.entries()) {
    if (!(w > 0)) warnings.push(`variant "${variants[i]}" has no configured weight: SRM check excludes it`);
  }
  const srmVariants = variants.filter((_, i) => weights[i] > 0);
  const srmWeights = weights.filter((w) => w > 0);
  const usersPer = srmVariants.map((v) => summaries.find((s) => s.variant === v)?.users ?? 0);
  const srm =
    srmVariants.length >= 2
      ? sampleRatioMismatch(usersPer, srmWeights, options.srmAlpha ?? 0.001)
      : {
          observed: usersPer,
          expected: usersPer,
          chiSquare: 0,
          df: 0,
          pValue: 1,
          alpha: options.srmAlpha ?? 0.001,
          alarm: false,
        };
  if (srm.alarm) {
    warnings.push(
      `sample-ratio mismatch: users per variant ${usersPer.join(" / ")} vs weights ${srmWeights.join(" / ")} ` +
        `(χ² = ${srm.chiSquare.toFixed(2)}, p = ${srm.pValue.toExponential(2)}); do not trust the comparison`,
    );
  }

  const points = Math.max(1, Math.floor(options.timelinePoints ?? 100));
  const timeline = variants.flatMap((v) => timelineOf(v, byVariant.get(v) ?? [], points, confidence));
  const costs = variants.map((v) =>
    costTestOf(v, byVariant.get(v) ?? [], {
      costModel,
      confidence,
      savingShare: options.savingShare,
      power: options.power,
      plannedListens: options.plannedListens,
      points,
    }),
  );
  let firstTs = Number.POSITIVE_INFINITY;
  let lastTs = Number.NEGATIVE_INFINITY;
  for (const r of rows) {
    firstTs = Math.min(firstTs, r.ts);
    lastTs = Math.max(lastTs, r.ts);
  }
  return {
    experiment,
    control,
    confidence,
    records: rows.length,
    firstTs: rows.length ? firstTs : Number.NaN,
    lastTs: rows.length ? lastTs : Number.NaN,
    variants: summaries,
    comparisons,
    srm: { ...srm, variants: srmVariants, weights: srmWeights },
    cupedTheta: fit.theta,
    timeline,
    costModel,
    costTests: costs.map((c) => c.test),
    costTimeline: costs.flatMap((c) => c.series),
    warnings,
  };
}
