// Evaluation metrics for the binary skip task: labels y (1 = skipped, 0 = played to the end) and
// scores p = P(skip). Definitions follow scikit-learn 1.2 (the version Debian ships) so figures can
// be checked against it; the tests carry scikit-learn's numbers as literals.
import { normalCdf, normalInterval, sortedQuantile } from "../base/statistics.ts";
import type { Matrix } from "../models/types.ts";

// ---------------------------------------------------------------------------------------------
// Input checks

function checkPair(y: Uint8Array, p: Float64Array): void {
  if (y.length !== p.length) {
    throw new RangeError(`metrics: y has ${y.length} rows but p has ${p.length}`);
  }
  for (let i = 0; i < y.length; i++) {
    if (y[i] > 1) throw new RangeError(`metrics: y[${i}] = ${y[i]}, labels must be 0 or 1`);
    if (Number.isNaN(p[i])) throw new RangeError(`metrics: p[${i}] is NaN`);
  }
}

function checkNonEmpty(y: Uint8Array, name: string): void {
  if (y.length === 0) throw new RangeError(`${name}: no rows`);
}

// ---------------------------------------------------------------------------------------------
// Threshold metrics

/** Counts of the 2×2 confusion matrix. "Positive" = skipped (1). */
export interface Confusion {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

/** Hard labels: 1 (skip) when p >= threshold. */
export function predictLabels(p: Float64Array, threshold = 0.5): Uint8Array {
  const out = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i] >= threshold ? 1 : 0;
  return out;
}

/** Confusion matrix of the decision "predict skip when p >= threshold". */
export function confusion(y: Uint8Array, p: Float64Array, threshold = 0.5): Confusion {
  checkPair(y, p);
  const c: Confusion = { tn: 0, fp: 0, fn: 0, tp: 0 };
  for (let i = 0; i < y.length; i++) {
    const predicted = p[i] >= threshold;
    if (y[i] === 1) {
      if (predicted) c.tp++;
      else c.fn++;
    } else if (predicted) c.fp++;
    else c.tn++;
  }
  return c;
}

export function accuracy(y: Uint8Array, p: Float64Array, threshold = 0.5): number {
  checkNonEmpty(y, "accuracy");
  const c = confusion(y, p, threshold);
  return (c.tp + c.tn) / y.length;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** scikit-learn's classification_report for two classes; `classes[k]` is label k. */
export interface ClassificationReport {
  threshold: number;
  classes: [ClassMetrics, ClassMetrics];
  accuracy: number;
  macro: ClassMetrics;
  weighted: ClassMetrics;
}

// zero_division: a 0/0 ratio is reported as 0, scikit-learn's default.
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function classMetrics(truePositive: number, predicted: number, actual: number): ClassMetrics {
  const precision = ratio(truePositive, predicted);
  const recall = ratio(truePositive, actual);
  // F1 from counts (2TP / (predicted + actual)), as scikit-learn computes it.
  return { precision, recall, f1: ratio(2 * truePositive, predicted + actual), support: actual };
}

export function classificationReportFromConfusion(c: Confusion, threshold = 0.5): ClassificationReport {
  const total = c.tn + c.fp + c.fn + c.tp;
  const played = classMetrics(c.tn, c.tn + c.fn, c.tn + c.fp);
  const skipped = classMetrics(c.tp, c.tp + c.fp, c.tp + c.fn);
  const average = (w0: number, w1: number): ClassMetrics => ({
    precision: w0 * played.precision + w1 * skipped.precision,
    recall: w0 * played.recall + w1 * skipped.recall,
    f1: w0 * played.f1 + w1 * skipped.f1,
    support: total,
  });
  return {
    threshold,
    classes: [played, skipped],
    accuracy: ratio(c.tp + c.tn, total),
    macro: average(0.5, 0.5),
    weighted: average(ratio(played.support, total), ratio(skipped.support, total)),
  };
}

export function classificationReport(y: Uint8Array, p: Float64Array, threshold = 0.5): ClassificationReport {
  return classificationReportFromConfusion(confusion(y, p, threshold), threshold);
}

/**
 * Python's `format(x, ".{d}f")`: rounds the exact binary value, ties to even. JavaScript's toFixed
 * rounds exact ties away from zero (0.125 -> "0.13" where Python prints "0.12").
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  const fixed = x.toFixed(digits);
  const long = Math.abs(x).toFixed(Math.min(100, digits + 25));
  const tail = long.slice(long.indexOf(".") + 1 + digits);
  if (!/^50*$/.test(tail)) return fixed;
  const truncated = (x < 0 ? "-" : "") + long.slice(0, long.indexOf(".") + (digits > 0 ? 1 + digits : 0));
  const lastDigit = Number(truncated.replace(".", "").slice(-1));
  return lastDigit % 2 === 0 ? truncated : fixed;
}

/** The text layout of scikit-learn's `classification_report(..., digits)`. */
export function formatClassificationReport(
  report: ClassificationReport,
  options: { targetNames?: readonly [string, string]; digits?: number } = {},
): string {
  const names = options.targetNames ?? ["0", "1"];
  const digits = options.digits ?? 2;
  const lastHeading = "weighted avg";
  const width = Math.max(names[0].length, names[1].length, lastHeading.length, digits);
  const right = (s: string, w: number) => s.padStart(w);
  const num = (x: number) => ` ${right(formatFixed(x, digits), 9)}`;
  const row = (name: string, m: ClassMetrics) =>
    `${right(name, width)} ${num(m.precision)}${num(m.recall)}${num(m.f1)} ${right(String(m.support), 9)}\n`;
  let text = `${right("", width)} ${["precision", "recall", "f1-score", "support"].map((h) => ` ${right(h, 9)}`).join("")}`;
  text += "\n\n";
  text += row(names[0], report.classes[0]);
  text += row(names[1], report.classes[1]);
  text += "\n";
  text += `${right("accuracy", width)} ${` ${right("", 9)}`.repeat(2)}${num(report.accuracy)} ${right(String(report.macro.support), 9)}\n`;
  text += row("macro avg", report.macro);
  text += row(lastHeading, report.weighted);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Ranking metrics. Everything below works on the positives' and negatives' scores sorted
// separately (native typed-array sorts), then merged: O(n log n) with exact tie handling.

interface SortedScores {
  /** Scores of rows with y = 1, ascending. */
  pos: Float64Array;
  /** Scores of rows with y = 0, ascending. */
  neg: Float64Array;
}

function sortedScores(y: Uint8Array, p: Float64Array): SortedScores {
  checkPair(y, p);
  let m = 0;
  for (let i = 0; i < y.length; i++) m += y[i];
  const pos = new Float64Array(m);
  const neg = new Float64Array(y.length - m);
  let a = 0;
  let b = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) pos[a++] = p[i];
    else neg[b++] = p[i];
  }
  pos.sort();
  neg.sort();
  return { pos, neg };
}

/**
 * DeLong's structural components (Sun & Xu 2014 formulation, via sorted merges):
 * v10[i] = P(score of a random negative < pos[i]) with ties counting 1/2,
 * v01[j] = P(score of a random positive > neg[j]) with ties counting 1/2.
 */
function structuralComponents({ pos, neg }: SortedScores): { v10: Float64Array; v01: Float64Array } {
  const m = pos.length;
  const n = neg.length;
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let below = 0; // negatives strictly below the current positive score
  for (let i = 0; i < m; ) {
    const s = pos[i];
    while (below < n && neg[below] < s) below++;
    let equal = 0;
    while (below + equal < n && neg[below + equal] === s) equal++;
    let k = i;
    while (k < m && pos[k] === s) v10[k++] = (below + equal / 2) / n;
    i = k;
  }
  let atOrBelow = 0; // positives <= current negative score
  for (let j = 0; j < n; ) {
    const s = neg[j];
    let strictlyBelow = atOrBelow;
    while (strictlyBelow < m && pos[strictlyBelow] < s) strictlyBelow++;
    atOrBelow = strictlyBelow;
    while (atOrBelow < m && pos[atOrBelow] === s) atOrBelow++;
    const equal = atOrBelow - strictlyBelow;
    const above = m - atOrBelow;
    let k = j;
    while (k < n && neg[k] === s) v01[k++] = (above + equal / 2) / m;
    j = k;
  }
  return { v10, v01 };
}

function mean(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

function sampleVariance(x: Float64Array, mu: number): number {
  if (x.length < 2) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - mu) ** 2;
  return s / (x.length - 1);
}

function sampleCovariance(a: Float64Array, muA: number, b: Float64Array, muB: number): number {
  if (a.length < 2) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - muA) * (b[i] - muB);
  return s / (a.length - 1);
}

/**
 * ROC AUC (the Mann–Whitney statistic; tied scores count 1/2, which equals scikit-learn's
 * trapezoidal area). NaN when y holds only one class (scikit-learn raises there).
 */
export function rocAuc(y: Uint8Array, p: Float64Array): number {
  const scores = sortedScores(y, p);
  if (scores.pos.length === 0 || scores.neg.length === 0) return Number.NaN;
  return mean(structuralComponents(scores).v10);
}

export interface AucInterval {
  auc: number;
  /** DeLong variance of the AUC estimate. */
  variance: number;
  se: number;
  lower: number;
  upper: number;
  level: number;
  positives: number;
  negatives: number;
}

/** ROC AUC with its DeLong confidence interval (normal approximation, clipped to [0, 1]). */
export function rocAucCi(y: Uint8Array, p: Float64Array, level = 0.95): AucInterval {
  if (!(level > 0 && level < 1)) throw new RangeError(`rocAucCi: level must be in (0, 1), got ${level}`);
  const scores = sortedScores(y, p);
  const m = scores.pos.length;
  const n = scores.neg.length;
  if (m === 0 || n === 0) {
    const nan = Number.NaN;
    return { auc: nan, variance: nan, se: nan, lower: nan, upper: nan, level, positives: m, negatives: n };
  }
  const { v10, v01 } = structuralComponents(scores);
  const auc = mean(v10);
  const variance = sampleVariance(v10, auc) / m + sampleVariance(v01, mean(v01)) / n;
  const se = Math.sqrt(variance);
  const interval = normalInterval(auc, se, level);
  return {
    auc,
    variance,
    se,
    lower: Math.max(0, interval.lower),
    upper: Math.min(1, interval.upper),
    level,
    positives: m,
    negatives: n,
  };
}

export interface AucComparison {
  aucA: number;
  aucB: number;
  /** aucA - aucB */
  difference: number;
  se: number;
  z: number;
  /** Two-sided p-value of H0: equal AUCs. */
  pValue: number;
}

/** DeLong's test for two correlated ROC AUCs computed on the same rows. */
export function compareAucDeLong(y: Uint8Array, pA: Float64Array, pB: Float64Array): AucComparison {
  checkPair(y, pB);
  // Structural components must stay aligned row by row across the two models, so compute them in
  // row order: sorting by score separately per model loses the pairing, hence per-row lookups.
  const a = rowStructuralComponents(y, pA);
  const b = rowStructuralComponents(y, pB);
  const m = a.v10.length;
  const n = a.v01.length;
  if (m === 0 || n === 0) {
    const nan = Number.NaN;
    return { aucA: nan, aucB: nan, difference: nan, se: nan, z: nan, pValue: nan };
  }
  const aucA = mean(a.v10);
  const aucB = mean(b.v10);
  const muA01 = mean(a.v01);
  const muB01 = mean(b.v01);
  const varDiff =
    (sampleVariance(a.v10, aucA) +
      sampleVariance(b.v10, aucB) -
      2 * sampleCovariance(a.v10, aucA, b.v10, aucB)) /
      m +
    (sampleVariance(a.v01, muA01) +
      sampleVariance(b.v01, muB01) -
      2 * sampleCovariance(a.v01, muA01, b.v01, muB01)) /
      n;
  const difference = aucA - aucB;
  const se = Math.sqrt(Math.max(0, varDiff));
  const z =
    se === 0 ? (difference === 0 ? 0 : Math.sign(difference) * Number.POSITIVE_INFINITY) : difference / se;
  const pValue = se === 0 && difference === 0 ? 1 : 2 * normalCdf(-Math.abs(z));
  return { aucA, aucB, difference, se, z, pValue };
}

/** Structural components in row order (positives in row order, negatives in row order). */
function rowStructuralComponents(y: Uint8Array, p: Float64Array): { v10: Float64Array; v01: Float64Array } {
  const scores = sortedScores(y, p);
  const sorted = structuralComponents(scores);
  const m = scores.pos.length;
  const n = scores.neg.length;
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let a = 0;
  let b = 0;
  for (let i = 0; i < y.length; i++) {
    // The component depends only on the score, so find any sorted index holding that score.
    if (y[i] === 1) v10[a++] = sorted.v10[lowerBound(scores.pos, p[i])];
    else v01[b++] = sorted.v01[lowerBound(scores.neg, p[i])];
  }
  return { v10, v01 };
}

function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Cumulative counts at each distinct score, scores descending (scikit-learn's _binary_clf_curve). */
interface ThresholdCounts {
  fps: Float64Array;
  tps: Float64Array;
  thresholds: Float64Array;
}

function thresholdCounts({ pos, neg }: SortedScores): ThresholdCounts {
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  while (i >= 0 || j >= 0) {
    const s = Math.max(
      i >= 0 ? pos[i] : Number.NEGATIVE_INFINITY,
      j >= 0 ? neg[j] : Number.NEGATIVE_INFINITY,
    );
    while (i >= 0 && pos[i] === s) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === s) {
      fp++;
      j--;
    }
    fps.push(fp);
    tps.push(tp);
    thresholds.push(s);
  }
  return {
    fps: Float64Array.from(fps),
    tps: Float64Array.from(tps),
    thresholds: Float64Array.from(thresholds),
  };
}

export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** Decreasing; thresholds[0] = +Infinity is the "predict nothing" point (0, 0). */
  thresholds: Float64Array;
}

/**
 * ROC curve as scikit-learn's roc_curve (drop_intermediate drops collinear points). The first
 * threshold is +Infinity as in scikit-learn >= 1.3 (1.2 wrote max score + 1).
 */
export function rocCurve(
  y: Uint8Array,
  p: Float64Array,
  options: { dropIntermediate?: boolean } = {},
): RocCurve {
  const counts = thresholdCounts(sortedScores(y, p));
  let keep: number[] = [];
  const len = counts.fps.length;
  if ((options.dropIntermediate ?? true) && len > 2) {
    keep.push(0);
    for (let k = 1; k < len - 1; k++) {
      const d2f = counts.fps[k + 1] - 2 * counts.fps[k] + counts.fps[k - 1];
      const d2t = counts.tps[k + 1] - 2 * counts.tps[k] + counts.tps[k - 1];
      if (d2f !== 0 || d2t !== 0) keep.push(k);
    }
    keep.push(len - 1);
  } else {
    keep = Array.from({ length: len }, (_, k) => k);
  }
  const totalNeg = len > 0 ? counts.fps[len - 1] : 0;
  const totalPos = len > 0 ? counts.tps[len - 1] : 0;
  const fpr = new Float64Array(keep.length + 1);
  const tpr = new Float64Array(keep.length + 1);
  const thresholds = new Float64Array(keep.length + 1);
  thresholds[0] = Number.POSITIVE_INFINITY;
  keep.forEach((k, idx) => {
    fpr[idx + 1] = totalNeg === 0 ? Number.NaN : counts.fps[k] / totalNeg;
    tpr[idx + 1] = totalPos === 0 ? Number.NaN : counts.tps[k] / totalPos;
    thresholds[idx + 1] = counts.thresholds[k];
  });
  return { fpr, tpr, thresholds };
}

export interface PrCurve {
  /** Recall decreasing to 0; precision[last] = 1, recall[last] = 0 (scikit-learn's convention). */
  precision: Float64Array;
  recall: Float64Array;
  /** Increasing; one fewer than precision/recall. */
  thresholds: Float64Array;
}

/** Precision–recall curve as scikit-learn's precision_recall_curve. */
export function prCurve(y: Uint8Array, p: Float64Array): PrCurve {
  const { fps, tps, thresholds } = thresholdCounts(sortedScores(y, p));
  const len = tps.length;
  const totalPos = len > 0 ? tps[len - 1] : 0;
  const precision = new Float64Array(len + 1);
  const recall = new Float64Array(len + 1);
  const outThresholds = new Float64Array(len);
  for (let k = 0; k < len; k++) {
    const r = len - 1 - k;
    precision[r] = ratio(tps[k], tps[k] + fps[k]);
    recall[r] = totalPos === 0 ? 1 : tps[k] / totalPos;
    outThresholds[r] = thresholds[k];
  }
  precision[len] = 1;
  recall[len] = 0;
  return { precision, recall, thresholds: outThresholds };
}

/**
 * Average precision, scikit-learn's definition: sum over thresholds of (R_k - R_{k-1}) * P_k, a step
 * integral without interpolation. NaN when y has no positives.
 */
export function averagePrecision(y: Uint8Array, p: Float64Array): number {
  const { precision, recall } = prCurve(y, p);
  let totalPos = 0;
  for (let i = 0; i < y.length; i++) totalPos += y[i];
  if (totalPos === 0) return Number.NaN;
  let ap = 0;
  for (let k = 0; k < recall.length - 1; k++) ap += (recall[k] - recall[k + 1]) * precision[k];
  return ap;
}

/** The report's "PR AUC" is average precision (the step integral of the PR curve). */
export const prAuc = averagePrecision;

// ---------------------------------------------------------------------------------------------
// Probability metrics

/**
 * Mean negative log-likelihood, probabilities clipped to [eps, 1 - eps]. The default eps is the
 * float64 machine epsilon, scikit-learn's eps="auto" for float64 input.
 */
export function logLoss(y: Uint8Array, p: Float64Array, eps = Number.EPSILON): number {
  checkPair(y, p);
  checkNonEmpty(y, "logLoss");
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i]));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/** Brier score: mean squared difference between P(skip) and the label. */
export function brier(y: Uint8Array, p: Float64Array): number {
  checkPair(y, p);
  checkNonEmpty(y, "brier");
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i] - y[i]) ** 2;
  return s / y.length;
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted P(skip) in the bin (NaN when empty). */
  meanPredicted: number;
  /** Observed share of skips in the bin (NaN when empty). */
  fractionPositive: number;
}

/**
 * Reliability-diagram data. Bins as scikit-learn 1.2's calibration_curve: uniform bins on [0, 1]
 * (or quantile bins), a value on an inner edge belongs to the lower bin. Empty bins are returned
 * with count 0 (scikit-learn drops them); filter on `count > 0` to get its arrays.
 */
export function calibrationBins(
  y: Uint8Array,
  p: Float64Array,
  options: { bins?: number; strategy?: "uniform" | "quantile" } = {},
): CalibrationBin[] {
  checkPair(y, p);
  const nBins = options.bins ?? 10;
  if (!Number.isInteger(nBins) || nBins < 1) throw new RangeError(`calibrationBins: bins must be >= 1`);
  for (let i = 0; i < p.length; i++) {
    if (p[i] < 0 || p[i] > 1) throw new RangeError(`calibrationBins: p[${i}] = ${p[i]} is outside [0, 1]`);
  }
  const edges = new Float64Array(nBins + 1);
  if ((options.strategy ?? "uniform") === "uniform") {
    // numpy.linspace(0, 1, bins + 1): k * step with the last edge exactly 1.
    for (let k = 0; k < nBins; k++) edges[k] = k * (1 / nBins);
    edges[nBins] = 1;
  } else {
    checkNonEmpty(y, "calibrationBins");
    const sorted = Float64Array.from(p).sort();
    for (let k = 0; k < nBins; k++) edges[k] = sortedQuantile(sorted, k * (1 / nBins));
    edges[nBins] = sorted[sorted.length - 1];
  }
  const count = new Float64Array(nBins);
  const sumP = new Float64Array(nBins);
  const sumY = new Float64Array(nBins);
  const inner = edges.subarray(1, nBins);
  for (let i = 0; i < p.length; i++) {
    const b = lowerBound(inner, p[i]);
    count[b]++;
    sumP[b] += p[i];
    sumY[b] += y[i];
  }
  const out: CalibrationBin[] = [];
  for (let k = 0; k < nBins; k++) {
    out.push({
      lower: edges[k],
      upper: edges[k + 1],
      count: count[k],
      meanPredicted: count[k] > 0 ? sumP[k] / count[k] : Number.NaN,
      fractionPositive: count[k] > 0 ? sumY[k] / count[k] : Number.NaN,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Feature correlation

/**
 * Pearson correlation of every pair of columns over the rows where both are present (pandas'
 * DataFrame.corr()). Returns a row-major cols × cols matrix; NaN where a column is constant over
 * the shared rows or fewer than two rows are shared. Large inputs are read on `maxRows` evenly
 * spaced rows (default 100 000).
 */
export function correlationMatrix(X: Matrix, options: { maxRows?: number } = {}): Float64Array {
  const { rows, cols, data } = X;
  if (data.length !== rows * cols) {
    throw new RangeError(
      `correlationMatrix: data has ${data.length} values, expected rows × cols = ${rows * cols}`,
    );
  }
  const maxRows = options.maxRows ?? 50_000;
  const take = Math.min(rows, maxRows);
  const rowIndex = (k: number) => (take === rows ? k : Math.floor((k * rows) / take));
  // Shift each column by its mean first so the one-pass sums below do not cancel catastrophically.
  const shift = new Float64Array(cols);
  const present = new Float64Array(cols);
  const scale = new Float64Array(cols);
  for (let k = 0; k < take; k++) {
    const base = rowIndex(k) * cols;
    for (let c = 0; c < cols; c++) {
      const v = data[base + c];
      if (!Number.isNaN(v)) {
        shift[c] += v;
        present[c]++;
        scale[c] = Math.max(scale[c], Math.abs(v));
      }
    }
  }
  for (let c = 0; c < cols; c++) shift[c] = present[c] > 0 ? shift[c] / present[c] : 0;
  const pairs = cols * cols;
  const n = new Float64Array(pairs);
  const sx = new Float64Array(pairs);
  const sy = new Float64Array(pairs);
  const sxx = new Float64Array(pairs);
  const syy = new Float64Array(pairs);
  const sxy = new Float64Array(pairs);
  const row = new Float64Array(cols);
  for (let k = 0; k < take; k++) {
    const base = rowIndex(k) * cols;
    for (let c = 0; c < cols; c++) row[c] = data[base + c] - shift[c];
    for (let a = 0; a < cols; a++) {
      const x = row[a];
      if (Number.isNaN(x)) continue;
      const off = a * cols;
      for (let b = a; b < cols; b++) {
        const v = row[b];
        if (Number.isNaN(v)) continue;
        const idx = off + b;
        n[idx]++;
        sx[idx] += x;
        sy[idx] += v;
        sxx[idx] += x * x;
        syy[idx] += v * v;
        sxy[idx] += x * v;
      }
    }
  }
  const out = new Float64Array(pairs);
  for (let a = 0; a < cols; a++) {
    for (let b = a; b < cols; b++) {
      const idx = a * cols + b;
      const count = n[idx];
      let r = Number.NaN;
      if (count >= 2) {
        const cov = sxy[idx] - (sx[idx] * sy[idx]) / count;
        const vx = sxx[idx] - (sx[idx] * sx[idx]) / count;
        const vy = syy[idx] - (sy[idx] * sy[idx]) / count;
        // Float noise left on a constant column after the shift must count as zero variance.
        const floorX = count * (1e-10 * scale[a]) ** 2;
        const floorY = count * (1e-10 * scale[b]) ** 2;
        if (vx > floorX && vy > floorY && vx > 0 && vy > 0) {
          r = Math.max(-1, Math.min(1, cov / Math.sqrt(vx * vy)));
        }
      }
      out[idx] = r;
      out[b * cols + a] = r;
    }
  }
  return out;
}
