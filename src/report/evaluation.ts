// The evaluation report (`skipwise evaluate`): every model and baseline side by side on the same
// held-out rows, the curves, the cost-based threshold, importances, the feature correlation, and a
// verdict that says plainly when a delivery carries no usable signal. The verdict comes from the prefetch
// policy chosen on the validation period (src/train/policy-choice.ts); the test period only reports.
import { join } from "node:path";
import { writeFileAtomic } from "../base/atomic-write.ts";
import { type CostModel, describeCostModel } from "../listens/cost-model.ts";
import type { ModelRole } from "../models/registry.ts";
import type { PermutationImportance } from "../train/importance.ts";
import {
  accuracy,
  averagePrecision,
  brier,
  type ClassificationReport,
  type Confusion,
  calibrationBins,
  classificationReportFromConfusion,
  confusion,
  formatClassificationReport,
  logLoss,
  prCurve,
  rocAucCi,
  rocCurve,
} from "../train/metrics.ts";
import {
  BOOTSTRAP_NOTE,
  fmtCost,
  fmtShare,
  isRecommended,
  type PolicyChoice,
  type PolicyOutcome,
} from "../train/policy-choice.ts";
import type { ThresholdChoice } from "../train/threshold.ts";
import {
  calibrationChart,
  confusionMatrixChart,
  correlationHeatmapChart,
  costCurveChart,
  importanceChart,
  prChart,
  rocChart,
} from "./charts/index.ts";
import { type Block, type Cell, renderHtmlPage, type Section, type Table, type Verdict } from "./html.ts";
import { renderVegaLiteSvg } from "./vega.ts";

export interface EvaluatedModel {
  name: string;
  /** "model" = a learner; "baseline" = a rule such as the genre rule; "majority" = the constant majority class. */
  role?: ModelRole;
  /** Test labels (1 = skipped) and P(skip), row-aligned. */
  y: Uint8Array;
  p: Float64Array;
  /**
   * Decision thresholds to report (default [0.5]). The comparison table reads the first; the verdict
   * reads 0.5 when listed, else the first.
   */
  thresholds?: readonly number[];
  permutationImportance?: PermutationImportance;
  /** Split-gain importance of tree models (any scale; shown as shares of the total). */
  splitGainImportance?: { names: readonly string[]; gain: ArrayLike<number> };
  note?: string;
}

export interface DatasetDescription {
  delivery: string;
  /** e.g. "time split: last 20 % of listens by time = test". */
  protocol: string;
  /** Rows per part, e.g. { train: 800000, validation: 100000, test: 100000 }. */
  rowCounts: Record<string, number>;
  /** Time range per part, as ISO strings. */
  timeRanges?: Record<string, { from: string; to: string }>;
  notes?: readonly string[];
}

/** A result computed elsewhere (e.g. the reference project's leaky protocol), shown for comparison. */
export interface ExtraRow {
  name: string;
  protocol: string;
  accuracy?: number;
  rocAuc?: number;
  prAuc?: number;
  note?: string;
}

export interface VerdictOptions {
  /** Confidence level of the DeLong interval (default 0.95). */
  level?: number;
  /** Smallest ROC AUC − 0.5 worth acting on (default 0.02). */
  minAucLift?: number;
  /** Smallest accuracy gain over the majority baseline that counts (default 0.005). */
  minAccuracyGain?: number;
  /** Smallest Brier skill score (1 − Brier / majority Brier) that counts (default 0.01). */
  minBrierSkill?: number;
  /**
   * The model the informational AUC / accuracy checks describe (the served one). Default: the learner with
   * the highest test ROC AUC (only meaningful without a policy).
   */
  model?: string;
}

/** The validation-chosen policy and what every candidate did on the test period. */
export interface PolicyReport {
  choice: PolicyChoice;
  /** Every candidate at its validation-chosen threshold on the test period, the recommended first. */
  test: readonly PolicyOutcome[];
  /** One sentence on what the choice really did on the test period. */
  testSummary: string;
}

export interface EvaluationInput {
  title?: string;
  dataset: DatasetDescription;
  models: readonly EvaluatedModel[];
  /** Feature names in column order, and the row-major correlation matrix (see correlationMatrix). */
  featureNames?: readonly string[];
  correlation?: ArrayLike<number>;
  /** The cost-based threshold choice (on the validation rows) and the model it was computed for. */
  cost?: { model: string; choice: ThresholdChoice; costModel: CostModel };
  /** The policy the verdict comes from; without it (library use) the AUC checks decide. */
  policy?: PolicyReport;
  extraRows?: { title: string; note: string; rows: readonly ExtraRow[] };
  verdictOptions?: VerdictOptions;
  calibrationBins?: number;
  /** ISO time shown in the footer and metrics.json; omit for byte-reproducible output. */
  generatedAt?: string;
  onProgress?: (step: string, done: number, total: number) => void;
}

export interface ThresholdMetrics {
  threshold: number;
  accuracy: number;
  confusion: Confusion;
  report: ClassificationReport;
}

export interface ModelMetrics {
  name: string;
  role: ModelRole;
  rows: number;
  skipped: number;
  rocAuc: number;
  rocAucCi: { lower: number; upper: number; se: number; level: number };
  prAuc: number;
  logLoss: number;
  brier: number;
  atThresholds: ThresholdMetrics[];
}

export interface VerdictResult {
  /** With a policy: a model (or rule) was recommended on the validation period. */
  usableSignal: boolean;
  /** The recommended policy in words ("gbdt @ 0.62", "cache everything"); null without a policy. */
  recommended: string | null;
  headline: string;
  details: string[];
  bestModel: string | null;
  rocAuc: number;
  ciLower: number;
  ciUpper: number;
  level: number;
  accuracy: number;
  majorityAccuracy: number;
  accuracyGain: number;
  brierSkill: number;
  checks: { ciExcludesHalf: boolean; aucLiftLargeEnough: boolean; beatsMajority: boolean };
}

export interface EvaluationReport {
  html: string;
  /** metrics.json content (pretty-printed). */
  metricsJson: string;
  metrics: EvaluationMetrics;
}

export interface EvaluationMetrics {
  title: string;
  generatedAt: string | null;
  dataset: DatasetDescription;
  verdict: VerdictResult;
  models: ModelMetrics[];
  policy: null | {
    kind: PolicyChoice["kind"];
    model: string | null;
    threshold: number | null;
    costModel: CostModel;
    reason: string;
    validation: PolicyChoice["validation"];
    test: readonly PolicyOutcome[];
    testSummary: string;
  };
  cost: null | {
    model: string;
    costModel: CostModel;
    chosen: ThresholdChoice["chosen"];
    atHalf: ThresholdChoice["atHalf"];
    prefetchAll: ThresholdChoice["prefetchAll"];
    prefetchNone: ThresholdChoice["prefetchNone"];
  };
  extraRows: readonly ExtraRow[];
  importance: ImportanceRecord[];
  correlation: null | { names: readonly string[]; matrix: Array<Array<number | null>> };
}

export interface ImportanceRecord {
  model: string;
  kind: "permutation" | "split-gain";
  names: readonly string[];
  values: number[];
  std?: number[];
}

function checkModel(m: EvaluatedModel): void {
  if (m.y.length !== m.p.length)
    throw new RangeError(`model "${m.name}": y has ${m.y.length} rows but p has ${m.p.length}`);
  if (m.y.length === 0) throw new RangeError(`model "${m.name}": no test rows`);
  for (let i = 0; i < m.p.length; i++) {
    if (!(m.p[i] >= 0 && m.p[i] <= 1)) {
      throw new RangeError(`model "${m.name}": p[${i}] = ${m.p[i]} is not a probability in [0, 1]`);
    }
  }
}

export function modelMetrics(m: EvaluatedModel, level = 0.95): ModelMetrics {
  checkModel(m);
  const ci = rocAucCi(m.y, m.p, level);
  let skipped = 0;
  for (let i = 0; i < m.y.length; i++) skipped += m.y[i];
  const thresholds = m.thresholds && m.thresholds.length > 0 ? m.thresholds : [0.5];
  return {
    name: m.name,
    role: m.role ?? "model",
    rows: m.y.length,
    skipped,
    rocAuc: ci.auc,
    rocAucCi: { lower: ci.lower, upper: ci.upper, se: ci.se, level },
    prAuc: averagePrecision(m.y, m.p),
    logLoss: logLoss(m.y, m.p),
    brier: brier(m.y, m.p),
    atThresholds: thresholds.map((threshold) => {
      const c = confusion(m.y, m.p, threshold);
      return {
        threshold,
        accuracy: accuracy(m.y, m.p, threshold),
        confusion: c,
        report: classificationReportFromConfusion(c, threshold),
      };
    }),
  };
}

const pct = (level: number) => `${Math.round(level * 100)} %`;
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(3)}` : "n/a");

/** Accuracy for the verdict is read at 0.5 when the model lists it, else at its first threshold. */
function verdictThreshold(m: EvaluatedModel): number {
  if (!m.thresholds || m.thresholds.length === 0 || m.thresholds.includes(0.5)) return 0.5;
  return m.thresholds[0];
}

/**
 * Does the best model (highest ROC AUC among role "model", or among all non-majority entries when no
 * learner is given) carry usable signal? Yes only when its DeLong interval excludes 0.5, its AUC is
 * at least minAucLift above 0.5, and it beats the majority baseline on accuracy or on Brier score.
 * The majority baseline is the "majority" entry when given, otherwise the constant that predicts the
 * test set's own majority class and prevalence (an optimistic baseline, so the test is conservative).
 */
export function computeVerdict(
  models: readonly EvaluatedModel[],
  options: VerdictOptions = {},
  policy?: PolicyReport,
): VerdictResult {
  const checks = signalChecks(models, options);
  if (!policy) return checks;
  return policyVerdict(checks, policy);
}

/** "gbdt @ 0.62" / "cache everything" / "cache nothing". */
export function policyName(choice: Pick<PolicyChoice, "kind" | "model" | "threshold">): string {
  if (choice.kind === "cache-all") return "cache everything";
  if (choice.kind === "cache-nothing") return "cache nothing";
  return `${choice.model} @ ${Number((choice.threshold ?? 0).toFixed(3))}`;
}

function capitalise(text: string): string {
  return text.length > 0 ? text[0].toUpperCase() + text.slice(1) : text;
}

/** The verdict of the policy; the AUC / accuracy checks stay as informational details. */
function policyVerdict(checks: VerdictResult, policy: PolicyReport): VerdictResult {
  const { choice } = policy;
  const name = policyName(choice);
  const usableSignal = choice.kind === "model";
  const test = capitalise(policy.testSummary);
  const headline = usableSignal
    ? `Usable signal: the recommended policy, chosen on the validation period, is ${name}: ${choice.reason}. ${test}.`
    : choice.kind === "cache-all"
      ? `No usable signal: ${choice.reason}. ${test}.`
      : `No usable signal for a model: ${choice.reason}. ${test}.`;
  return {
    ...checks,
    usableSignal,
    recommended: name,
    bestModel: usableSignal ? choice.model : checks.bestModel,
    headline,
    details: [
      `Recommended policy (chosen on the validation period, ${BOOTSTRAP_NOTE}, cost model ${describeCostModel(choice.costModel)}): ${name}. ${capitalise(choice.reason)}.`,
      `Test period (reported only, never used to choose): ${policy.testSummary}.`,
      ...checks.details.map((d) => `Informational (${checks.bestModel}): ${d}`),
    ],
  };
}

/** The AUC / accuracy checks of one model on the test rows. */
function signalChecks(models: readonly EvaluatedModel[], options: VerdictOptions): VerdictResult {
  const level = options.level ?? 0.95;
  const minAucLift = options.minAucLift ?? 0.02;
  const minAccuracyGain = options.minAccuracyGain ?? 0.005;
  const minBrierSkill = options.minBrierSkill ?? 0.01;
  for (const m of models) checkModel(m);
  const learners = models.filter((m) => (m.role ?? "model") === "model");
  const named = options.model === undefined ? [] : models.filter((m) => m.name === options.model);
  const pool =
    named.length > 0 ? named : learners.length > 0 ? learners : models.filter((m) => m.role !== "majority");
  let best: EvaluatedModel | undefined;
  let bestCi: ReturnType<typeof rocAucCi> | undefined;
  for (const m of pool) {
    const ci = rocAucCi(m.y, m.p, level);
    if (Number.isFinite(ci.auc) && (bestCi === undefined || ci.auc > bestCi.auc)) {
      best = m;
      bestCi = ci;
    }
  }
  if (best === undefined || bestCi === undefined) {
    const headline =
      "No usable signal: no model has a defined ROC AUC (the test set needs both skips and full plays).";
    return {
      usableSignal: false,
      recommended: null,
      headline,
      details: [headline],
      bestModel: null,
      rocAuc: Number.NaN,
      ciLower: Number.NaN,
      ciUpper: Number.NaN,
      level,
      accuracy: Number.NaN,
      majorityAccuracy: Number.NaN,
      accuracyGain: Number.NaN,
      brierSkill: Number.NaN,
      checks: { ciExcludesHalf: false, aucLiftLargeEnough: false, beatsMajority: false },
    };
  }
  const threshold = verdictThreshold(best);
  const bestAccuracy = accuracy(best.y, best.p, threshold);
  const bestBrier = brier(best.y, best.p);
  const majority = models.find((m) => m.role === "majority");
  let majorityAccuracy: number;
  let majorityBrier: number;
  let majorityLabel: string;
  if (majority) {
    majorityAccuracy = accuracy(majority.y, majority.p, verdictThreshold(majority));
    majorityBrier = brier(majority.y, majority.p);
    majorityLabel = `the majority baseline "${majority.name}"`;
  } else {
    let skipped = 0;
    for (let i = 0; i < best.y.length; i++) skipped += best.y[i];
    const prevalence = skipped / best.y.length;
    majorityAccuracy = Math.max(prevalence, 1 - prevalence);
    majorityBrier = prevalence * (1 - prevalence);
    majorityLabel = "always predicting the test set's majority class";
  }
  const accuracyGain = bestAccuracy - majorityAccuracy;
  const brierSkill = majorityBrier > 0 ? 1 - bestBrier / majorityBrier : Number.NaN;
  const ciExcludesHalf = bestCi.lower > 0.5;
  const aucLiftLargeEnough = bestCi.auc - 0.5 >= minAucLift;
  const beatsMajority = accuracyGain >= minAccuracyGain || brierSkill >= minBrierSkill;
  const usableSignal = ciExcludesHalf && aucLiftLargeEnough && beatsMajority;
  const aucText = `ROC AUC ${f3(bestCi.auc)} (${pct(level)} CI ${f3(bestCi.lower)}–${f3(bestCi.upper)}, DeLong)`;
  const mark = (ok: boolean) => (ok ? "✓" : "✗");
  const details = [
    `${mark(ciExcludesHalf)} The ${pct(level)} confidence interval of ${best.name}'s ROC AUC ${ciExcludesHalf ? "excludes" : "includes"} 0.5: ${aucText}.`,
    `${mark(aucLiftLargeEnough)} ROC AUC − 0.5 = ${signed(bestCi.auc - 0.5)} (needs at least ${minAucLift}).`,
    `${mark(beatsMajority)} Against ${majorityLabel}: accuracy ${f3(bestAccuracy)} vs ${f3(majorityAccuracy)} (${signed(accuracyGain)}, needs ${minAccuracyGain}); Brier skill ${signed(brierSkill)} (needs ${minBrierSkill}).`,
  ];
  let headline: string;
  if (usableSignal) {
    headline = `Usable signal: ${best.name} beats the majority baseline, ${aucText}, accuracy ${f3(bestAccuracy)} vs ${f3(majorityAccuracy)}.`;
  } else {
    const reasons: string[] = [];
    if (!ciExcludesHalf) reasons.push(`the ${pct(level)} CI of the best ROC AUC includes 0.5`);
    if (ciExcludesHalf && !aucLiftLargeEnough) reasons.push("the ROC AUC is negligibly above 0.5");
    if (!beatsMajority) reasons.push("the gain over the majority baseline is negligible");
    headline = `No usable signal: ${reasons.join("; ")} (best model ${best.name}, ${aucText}, accuracy ${f3(bestAccuracy)} vs majority ${f3(majorityAccuracy)}).`;
  }
  return {
    usableSignal,
    recommended: null,
    headline,
    details,
    bestModel: best.name,
    rocAuc: bestCi.auc,
    ciLower: bestCi.lower,
    ciUpper: bestCi.upper,
    level,
    accuracy: bestAccuracy,
    majorityAccuracy,
    accuracyGain,
    brierSkill,
    checks: { ciExcludesHalf, aucLiftLargeEnough, beatsMajority },
  };
}

// ---------------------------------------------------------------------------------------------
// Sections

const TARGET_NAMES = ["played", "skipped"] as const;

function comparisonTable(
  metrics: readonly ModelMetrics[],
  best: string | null,
  extra?: EvaluationInput["extraRows"],
): Table {
  const rows: Cell[][] = metrics.map((m) => {
    const t = m.atThresholds[0];
    return [
      m.name,
      m.role,
      m.rows,
      t.threshold,
      t.accuracy,
      m.rocAuc,
      // Word joiners keep the interval on one line in narrow table cells.
      `${f3(m.rocAucCi.lower)}\u2060–\u2060${f3(m.rocAucCi.upper)}`,
      m.prAuc,
      m.logLoss,
      m.brier,
      t.report.classes[0].f1,
      t.report.classes[1].f1,
      t.report.macro.f1,
      t.report.weighted.f1,
    ];
  });
  const highlightRows = metrics.flatMap((m, i) => (m.name === best ? [i] : []));
  const mutedRows: number[] = [];
  for (const e of extra?.rows ?? []) {
    mutedRows.push(rows.length);
    rows.push([
      `${e.name} [${e.protocol}]`,
      "reference",
      null,
      null,
      e.accuracy ?? null,
      e.rocAuc ?? null,
      null,
      e.prAuc ?? null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  }
  return {
    caption: "All models and baselines on the same test rows",
    columns: [
      "Model",
      "Role",
      "Rows",
      "Threshold",
      "Accuracy",
      "ROC AUC",
      `ROC AUC ${pct(metrics[0]?.rocAucCi.level ?? 0.95)} CI`,
      "PR AUC (AP)",
      "Log loss",
      "Brier",
      "F1 played",
      "F1 skipped",
      "Macro F1",
      "Weighted F1",
    ],
    rows,
    columnFormats: [undefined, undefined, "int", 3, 3, 3, undefined, 3, 3, 3, 3, 3, 3, 3],
    highlightRows,
    mutedRows,
    note: extra
      ? `Italic rows: ${extra.note}`
      : "Highlighted: the recommended (or served) model. Accuracy and F1 at the listed threshold (predict skip when P(skip) ≥ threshold).",
  };
}

function classificationTable(m: ModelMetrics, t: ThresholdMetrics): Table {
  const r = t.report;
  const row = (
    name: string,
    c: { precision: number; recall: number; f1: number; support: number },
  ): Cell[] => [name, c.precision, c.recall, c.f1, c.support];
  return {
    caption: `${m.name} at threshold ${shortThreshold(t.threshold)}`,
    columns: ["", "precision", "recall", "f1-score", "support"],
    rows: [
      row(TARGET_NAMES[0], r.classes[0]),
      row(TARGET_NAMES[1], r.classes[1]),
      ["accuracy", null, null, r.accuracy, r.macro.support],
      row("macro avg", r.macro),
      row("weighted avg", r.weighted),
    ],
    columnFormats: [undefined, 2, 2, 2, "int"],
  };
}

async function chart(
  name: string,
  spec: object,
  caption?: string,
): Promise<{ name: string; svg: string; caption?: string }> {
  return { name, svg: await renderVegaLiteSvg(spec), caption };
}

function costTable(cost: NonNullable<EvaluationInput["cost"]>): Table {
  const { choice } = cost;
  const row = (label: string, p: ThresholdChoice["chosen"]): Cell[] => [
    label,
    p.threshold,
    p.cost,
    p.prefetched,
    p.waste,
    p.stalls,
    p.wasteRate,
    p.stallRate,
  ];
  return {
    caption: `Cache decision for ${cost.model} on the validation period: prefetch when P(skip) < t; cost model ${describeCostModel(cost.costModel)}`,
    columns: [
      "Policy",
      "Threshold t",
      "Cost / listen",
      "Prefetched",
      "Waste",
      "Stalls",
      "Waste rate",
      "Stall rate",
    ],
    rows: [
      row("chosen by expected cost", choice.chosen),
      row("t = 0.5", choice.atHalf),
      row("cache everything", choice.prefetchAll),
      row("cache nothing", choice.prefetchNone),
    ],
    highlightRows: [0],
    columnFormats: [undefined, 4, 4, "int", "int", "int", 4, 4],
    note: `Waste = prefetched but skipped (unplayed audio downloaded, priced per wasted MB); stall = not prefetched but played to the end. ${choice.rows.toLocaleString("en-US")} validation listens, scored by the model fitted on the training period.`,
  };
}

const ciCell = (lower: number, upper: number) => `${fmtCost(lower)}\u2060 to \u2060${fmtCost(upper)}`;

function savingInWords(saving: number, kind: string): string {
  if (kind === "cache-all") return "the reference";
  if (saving > 0) return "saves";
  if (saving < 0) return "costs more than caching everything";
  return "no difference";
}

/** The policy: its validation candidate table (the choice) and the test-period table (the report). */
function policySection(policy: PolicyReport): Section {
  const { choice } = policy;
  const v = choice.validation;
  const level = Math.round(v.level * 100);
  const recommended = (c: { kind: string; model: string | null }) => isRecommended(choice, c);
  const validationRows: Cell[][] = v.candidates.map((c) => [
    c.name,
    c.kind,
    c.threshold,
    c.saving,
    fmtShare(c.share),
    ciCell(c.ciLower, c.ciUpper),
    c.estimate,
    c.passes ? "yes" : "no",
    savingInWords(c.saving, c.kind),
    c.listens,
    c.users,
  ]);
  const testRows: Cell[][] = policy.test.map((o) => [
    o.name,
    o.recommended ? "recommended" : "",
    o.threshold,
    o.saving,
    fmtShare(o.share),
    ciCell(o.ciLower, o.ciUpper),
    savingInWords(o.saving, o.kind),
    o.listens,
    o.users,
  ]);
  return {
    id: "policy",
    title: "Prefetch policy: chosen on the validation period, reported on the test period",
    intro:
      `Net saving = cost(cache everything) − cost(policy) under the cost model (${describeCostModel(choice.costModel)}); ` +
      "share = saving / (cost(cache everything) − cost(oracle)), the oracle prefetching exactly the full plays. A negative " +
      `saving means the policy costs more than caching everything. ${level} % intervals: ${v.interval} (users resampled ` +
      `with replacement, ${v.replicates} replicates). Validation scores come from the models fitted on the training period ` +
      `only. A learner's threshold is cross-fitted: chosen on ${v.folds - 1} of ${v.folds} user folds and applied to the ` +
      "held-out fold, so its saving is out of sample too. A policy is recommended only when its interval's lower bound is " +
      "above 0; the largest saving among those wins, otherwise caching everything.",
    blocks: [
      { kind: "text", text: `Recommendation: ${policyName(choice)}. ${capitalise(choice.reason)}.` },
      {
        kind: "table",
        table: {
          caption: `Validation period (${v.from} → ${v.to}): the choice`,
          columns: [
            "Candidate",
            "Kind",
            "Threshold",
            "Net saving",
            "Share",
            `${level} % CI`,
            "Estimate",
            "Passes",
            "In words",
            "Listens",
            "Users",
          ],
          rows: validationRows,
          columnFormats: [
            undefined,
            undefined,
            3,
            1,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            "int",
            "int",
          ],
          highlightRows: v.candidates.flatMap((c, i) => (recommended(c) ? [i] : [])),
        },
      },
      { kind: "text", text: `${capitalise(policy.testSummary)}.` },
      {
        kind: "table",
        table: {
          caption:
            "Test period: every candidate at its validation-chosen threshold (the recommended one first)",
          columns: [
            "Policy",
            "",
            "Threshold",
            "Net saving",
            "Share",
            `${level} % CI`,
            "In words",
            "Listens",
            "Users",
          ],
          rows: testRows,
          columnFormats: [undefined, undefined, 3, 1, undefined, undefined, undefined, "int", "int"],
          highlightRows: policy.test.flatMap((o, i) => (o.recommended ? [i] : [])),
        },
      },
    ],
  };
}

function strongestPairs(names: readonly string[], matrix: ArrayLike<number>, top = 12): Table {
  const k = names.length;
  const pairs: Array<[string, string, number]> = [];
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      const r = matrix[a * k + b];
      if (Number.isFinite(r)) pairs.push([names[a], names[b], r]);
    }
  }
  pairs.sort((x, y) => Math.abs(y[2]) - Math.abs(x[2]));
  return {
    caption: `Most correlated feature pairs (top ${Math.min(top, pairs.length)} by |r|)`,
    columns: ["Feature", "Feature", "Pearson r"],
    rows: pairs.slice(0, top).map(([a, b, r]) => [a, b, r]),
    columnFormats: [undefined, undefined, 3],
  };
}

function datasetBlock(d: DatasetDescription): Block[] {
  const rows: Array<[string, Cell]> = [
    ["Delivery", d.delivery],
    ["Protocol", d.protocol],
  ];
  for (const [part, count] of Object.entries(d.rowCounts)) rows.push([`Rows: ${part}`, count]);
  for (const [part, range] of Object.entries(d.timeRanges ?? {}))
    rows.push([`Time range: ${part}`, `${range.from} → ${range.to}`]);
  const blocks: Block[] = [{ kind: "keyValues", rows }];
  if (d.notes && d.notes.length > 0) blocks.push({ kind: "list", items: d.notes });
  return blocks;
}

function squareRows(matrix: ArrayLike<number>, k: number): Array<Array<number | null>> {
  return Array.from({ length: k }, (_, a) =>
    Array.from({ length: k }, (_, b) => {
      const r = matrix[a * k + b];
      return Number.isFinite(r) ? Math.round(r * 1e6) / 1e6 : null;
    }),
  );
}

/** A threshold as people read it (0.678 rather than 0.6779709863488385); metrics.json keeps full precision. */
function shortThreshold(t: number): string {
  return String(Number(t.toFixed(3)));
}

/** Builds report.html and metrics.json for a set of evaluated models. */
export async function buildEvaluationReport(input: EvaluationInput): Promise<EvaluationReport> {
  if (input.models.length === 0) throw new RangeError("buildEvaluationReport: no models to report");
  const names = new Set<string>();
  for (const m of input.models) {
    if (names.has(m.name)) throw new RangeError(`buildEvaluationReport: duplicate model name "${m.name}"`);
    names.add(m.name);
  }
  const title = input.title ?? `Skip prediction evaluation — ${input.dataset.delivery}`;
  const level = input.verdictOptions?.level ?? 0.95;
  const progress = input.onProgress ?? (() => {});
  const totalSteps = 4;

  progress("metrics", 0, totalSteps);
  const metrics = input.models.map((m) => modelMetrics(m, level));
  const verdict = computeVerdict(input.models, input.verdictOptions, input.policy);

  progress("curves", 1, totalSteps);
  const rocSeries = input.models.map((m, i) => ({
    name: m.name,
    ...rocCurve(m.y, m.p),
    auc: metrics[i].rocAuc,
  }));
  const prSeries = input.models.map((m, i) => ({ name: m.name, ...prCurve(m.y, m.p), ap: metrics[i].prAuc }));
  const first = metrics[0];
  const prevalence = first.skipped / first.rows;
  const calibration = input.models.map((m) => ({
    name: m.name,
    bins: calibrationBins(m.y, m.p, { bins: input.calibrationBins ?? 10 }),
  }));

  progress("charts", 2, totalSteps);
  const sections: Section[] = [];
  sections.push({ id: "dataset", title: "Data and protocol", blocks: datasetBlock(input.dataset) });
  sections.push({
    id: "verdict-details",
    title: "Verdict",
    intro: input.policy
      ? "Is there signal a cache can use? Only if a model's prefetch policy, chosen on the validation period, saves more than caching everything with an interval above 0. The ROC AUC and accuracy checks below are informational."
      : "Is there signal a cache can use? The best model must beat the majority baseline with a ROC AUC confidence interval that excludes 0.5.",
    blocks: [{ kind: "list", items: verdict.details }],
  });
  if (input.policy) sections.push(policySection(input.policy));
  sections.push({
    id: "comparison",
    title: "Models side by side",
    blocks: [{ kind: "table", table: comparisonTable(metrics, verdict.bestModel, input.extraRows) }],
  });
  if (input.extraRows && input.extraRows.rows.length > 0) {
    sections.push({
      id: "reference-protocol",
      title: input.extraRows.title,
      intro: input.extraRows.note,
      blocks: [
        {
          kind: "table",
          table: {
            caption:
              "Results under other protocols, for comparison only (not comparable to the honest numbers above)",
            columns: ["Model", "Protocol", "Accuracy", "ROC AUC", "PR AUC", "Note"],
            rows: input.extraRows.rows.map((e) => [
              e.name,
              e.protocol,
              e.accuracy ?? null,
              e.rocAuc ?? null,
              e.prAuc ?? null,
              e.note ?? "",
            ]),
            mutedRows: input.extraRows.rows.map((_, i) => i),
          },
        },
      ],
    });
  }
  const reportBlocks: Block[] = [];
  for (const m of metrics) {
    for (const t of m.atThresholds) {
      reportBlocks.push({ kind: "table", table: classificationTable(m, t) });
      reportBlocks.push({
        kind: "pre",
        caption: `${m.name}, threshold ${shortThreshold(t.threshold)} (scikit-learn layout)`,
        text: formatClassificationReport(t.report, { targetNames: TARGET_NAMES }),
      });
    }
  }
  sections.push({ id: "classification-reports", title: "Classification reports", blocks: reportBlocks });

  const confusionCharts = [];
  for (const m of metrics) {
    for (const t of m.atThresholds) {
      confusionCharts.push(
        await chart(
          "confusion-matrix",
          confusionMatrixChart(t.confusion, { title: `${m.name} (t = ${shortThreshold(t.threshold)})` }),
          `${m.name}: rows = actual, columns = predicted at threshold ${shortThreshold(t.threshold)}`,
        ),
      );
    }
  }
  sections.push({
    id: "confusion",
    title: "Confusion matrices",
    blocks: [{ kind: "charts", charts: confusionCharts }],
  });
  sections.push({
    id: "curves",
    title: "ROC and precision–recall curves",
    blocks: [
      {
        kind: "charts",
        charts: [
          await chart("roc", rocChart(rocSeries), "ROC curves; the dashed diagonal is chance (AUC 0.5)."),
          await chart(
            "pr",
            prChart(prSeries, { prevalence }),
            "Precision–recall for the skip class; the dashed line is the share of skips.",
          ),
        ],
      },
    ],
  });
  sections.push({
    id: "calibration",
    title: "Calibration",
    blocks: [
      {
        kind: "chart",
        ...(await chart(
          "calibration",
          calibrationChart(calibration),
          "Points on the diagonal are well calibrated; point size = rows in the bin.",
        )),
      },
    ],
  });
  if (input.cost) {
    const { choice } = input.cost;
    sections.push({
      id: "threshold",
      title: "Cache threshold by expected cost",
      blocks: [
        {
          kind: "chart",
          ...(await chart(
            "cost-curve",
            costCurveChart(choice.curve, {
              chosen: choice.chosen,
              atHalf: choice.atHalf,
              title: `Expected cost by threshold — ${input.cost.model}`,
            }),
            "The diamond marks the chosen threshold; compare with t = 0.5.",
          )),
        },
        { kind: "table", table: costTable(input.cost) },
      ],
    });
  }
  const permutation = input.models.filter((m) => m.permutationImportance);
  const splitGain = input.models.filter((m) => m.splitGainImportance);
  if (permutation.length + splitGain.length > 0) {
    const charts = [];
    for (const m of permutation) {
      const imp = m.permutationImportance as PermutationImportance;
      charts.push(
        await chart(
          "permutation-importance",
          importanceChart(
            imp.names.map((name, i) => ({ name, value: imp.mean[i], std: imp.std[i] })),
            { title: `Permutation importance — ${m.name}`, valueTitle: "Drop in ROC AUC when shuffled" },
          ),
          `${imp.repeats} shuffles of ${imp.rowsUsed.toLocaleString("en-US")} rows (seed ${imp.seed}); baseline ROC AUC ${f3(imp.baseline)}. Bars = mean, lines = ±1 std.`,
        ),
      );
    }
    for (const m of splitGain) {
      const sg = m.splitGainImportance as NonNullable<EvaluatedModel["splitGainImportance"]>;
      let total = 0;
      for (let i = 0; i < sg.gain.length; i++) total += Math.max(0, sg.gain[i]);
      charts.push(
        await chart(
          "split-gain-importance",
          importanceChart(
            sg.names.map((name, i) => ({ name, value: total > 0 ? sg.gain[i] / total : 0 })),
            { title: `Split-gain importance — ${m.name}`, valueTitle: "Share of total split gain" },
          ),
          "Total loss reduction of the splits on each feature, as a share of all splits.",
        ),
      );
    }
    sections.push({ id: "importance", title: "Feature importance", blocks: [{ kind: "charts", charts }] });
  }
  if (input.correlation && input.featureNames) {
    sections.push({
      id: "correlation",
      title: "Feature correlation",
      blocks: [
        {
          kind: "chart",
          ...(await chart("correlation", correlationHeatmapChart(input.featureNames, input.correlation))),
        },
        { kind: "table", table: strongestPairs(input.featureNames, input.correlation) },
      ],
    });
  }

  progress("html", 3, totalSteps);
  const html = renderHtmlPage({
    title,
    subtitle: `${input.dataset.delivery} · ${input.dataset.protocol}`,
    verdict: { status: verdict.usableSignal ? "pass" : "fail", headline: verdict.headline } satisfies Verdict,
    sections,
    generatedAt: input.generatedAt,
    footer: "skipwise evaluation report",
  });
  const cost = input.cost
    ? {
        model: input.cost.model,
        costModel: input.cost.costModel,
        chosen: input.cost.choice.chosen,
        atHalf: input.cost.choice.atHalf,
        prefetchAll: input.cost.choice.prefetchAll,
        prefetchNone: input.cost.choice.prefetchNone,
      }
    : null;
  const metricsOut: EvaluationMetrics = {
    title,
    generatedAt: input.generatedAt ?? null,
    dataset: input.dataset,
    verdict,
    models: metrics,
    policy: input.policy
      ? {
          kind: input.policy.choice.kind,
          model: input.policy.choice.model,
          threshold: input.policy.choice.threshold,
          costModel: input.policy.choice.costModel,
          reason: input.policy.choice.reason,
          validation: input.policy.choice.validation,
          test: input.policy.test,
          testSummary: input.policy.testSummary,
        }
      : null,
    cost,
    extraRows: input.extraRows?.rows ?? [],
    importance: [
      ...permutation.map((m) => {
        const imp = m.permutationImportance as PermutationImportance;
        return {
          model: m.name,
          kind: "permutation" as const,
          names: imp.names,
          values: Array.from(imp.mean),
          std: Array.from(imp.std),
        };
      }),
      ...splitGain.map((m) => {
        const sg = m.splitGainImportance as NonNullable<EvaluatedModel["splitGainImportance"]>;
        return { model: m.name, kind: "split-gain" as const, names: sg.names, values: Array.from(sg.gain) };
      }),
    ],
    correlation:
      input.correlation && input.featureNames
        ? { names: input.featureNames, matrix: squareRows(input.correlation, input.featureNames.length) }
        : null,
  };
  progress("done", totalSteps, totalSteps);
  return { html, metricsJson: `${JSON.stringify(metricsOut, null, 2)}\n`, metrics: metricsOut };
}

/** Writes report.html and metrics.json into `outDir` (created when missing), each atomically. */
export async function writeEvaluationReport(
  outDir: string,
  report: EvaluationReport,
): Promise<{ htmlPath: string; metricsPath: string }> {
  const htmlPath = join(outDir, "report.html");
  const metricsPath = join(outDir, "metrics.json");
  await writeFileAtomic(metricsPath, report.metricsJson);
  await writeFileAtomic(htmlPath, report.html);
  return { htmlPath, metricsPath };
}
