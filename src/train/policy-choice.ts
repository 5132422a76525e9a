// The prefetch policy skipwise recommends, chosen on the validation period before the test period is
// looked at, and the net-saving figures every report quotes for it.
//
// Net saving of a policy = cost(cache everything) − cost(policy) under the one cost model; its share =
// saving / (cost(cache everything) − cost(oracle)), where the oracle prefetches exactly the full plays.
// Both can be negative: the policy then costs more than caching everything.
//
// Candidates: cache everything, cache nothing, every learner at its cost-minimising validation threshold,
// and the fixed rules at 0.5. Validation scores come from models fitted on the training period only (out
// of sample). A learner's threshold is itself fitted, so its saving is estimated cross-fitted: validation
// users are split into K folds, the threshold is chosen on K − 1 of them and applied to the held-out one.
// Uncertainty: a paired bootstrap over users (resample users with replacement, sum their listens' saving
// differences), percentile interval. A candidate is recommended only when its interval's lower bound is
// above 0; the largest saving among those wins; otherwise the recommendation is caching everything.
import { percent } from "../base/format.ts";
import { sortedQuantile } from "../base/statistics.ts";
import type { Catalog } from "../data/types.ts";
import { type CostModel, costModelOf, type ListenCosts, listenCosts } from "../listens/cost-model.ts";
import type { ModelName } from "../models/index.ts";
import { Rng } from "../models/random.ts";
import type { Dataset } from "./dataset.ts";
import type { TrainingRun } from "./pipeline.ts";
import { chooseThreshold, decisionCosts } from "./threshold.ts";

export type PolicyKind = "cache-all" | "cache-nothing" | "model";

export const DEFAULT_BOOTSTRAP_REPLICATES = 2000;
export const DEFAULT_POLICY_SEED = 20_230_901;
export const DEFAULT_FOLDS = 5;
export const BOOTSTRAP_NOTE = "bootstrap over users";

export interface SavingOptions {
  /** Bootstrap replicates (default 2000). */
  replicates?: number;
  /** Seed of the bootstrap (and of the user folds). */
  seed?: number;
  /** Interval level (default 0.95). */
  level?: number;
}

/** A policy's net saving over caching everything on one set of listens, with its user-bootstrap interval. */
export interface SavingEstimate {
  /** cost(cache everything) − cost(policy), over all listens. */
  saving: number;
  /** saving / (cost(cache everything) − cost(oracle)); NaN when the oracle saves nothing. */
  share: number;
  ciLower: number;
  ciUpper: number;
  shareCiLower: number;
  shareCiUpper: number;
  /** Total cost of the policy, of caching everything and of the oracle. */
  cost: number;
  cacheAllCost: number;
  oracleCost: number;
  listens: number;
  users: number;
  level: number;
  replicates: number;
}

/** Dense 0..U-1 index of each listen's user, in order of first appearance. */
export function userIndex(userId: ArrayLike<number>): { index: Int32Array; users: number } {
  const map = new Map<number, number>();
  const index = new Int32Array(userId.length);
  for (let i = 0; i < userId.length; i++) {
    let u = map.get(userId[i]);
    if (u === undefined) {
      u = map.size;
      map.set(userId[i], u);
    }
    index[i] = u;
  }
  return { index, users: map.size };
}

/**
 * Net saving of `policyCost` over `cacheAllCost` (per-listen costs, row-aligned with `userId`), its share
 * of the oracle's saving, and percentile intervals from a paired cluster bootstrap over users.
 */
export function netSaving(
  policyCost: ArrayLike<number>,
  cacheAllCost: ArrayLike<number>,
  oracleCost: ArrayLike<number>,
  userId: ArrayLike<number>,
  options: SavingOptions = {},
): SavingEstimate {
  const n = userId.length;
  if (policyCost.length !== n || cacheAllCost.length !== n || oracleCost.length !== n) {
    throw new RangeError(
      `netSaving: ${n} users but ${policyCost.length} policy, ${cacheAllCost.length} cache-all and ${oracleCost.length} oracle costs`,
    );
  }
  const replicates = options.replicates ?? DEFAULT_BOOTSTRAP_REPLICATES;
  const level = options.level ?? 0.95;
  if (!(Number.isInteger(replicates) && replicates >= 1))
    throw new RangeError(`netSaving: replicates must be an integer >= 1, got ${replicates}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`netSaving: level must be in (0, 1), got ${level}`);
  const { index, users } = userIndex(userId);
  const diff = new Float64Array(users);
  const possible = new Float64Array(users);
  let cost = 0;
  let all = 0;
  let oracle = 0;
  for (let i = 0; i < n; i++) {
    diff[index[i]] += cacheAllCost[i] - policyCost[i];
    possible[index[i]] += cacheAllCost[i] - oracleCost[i];
    cost += policyCost[i];
    all += cacheAllCost[i];
    oracle += oracleCost[i];
  }
  const saving = all - cost;
  const share = all - oracle > 0 ? saving / (all - oracle) : Number.NaN;
  const estimate: SavingEstimate = {
    saving,
    share,
    ciLower: Number.NaN,
    ciUpper: Number.NaN,
    shareCiLower: Number.NaN,
    shareCiUpper: Number.NaN,
    cost,
    cacheAllCost: all,
    oracleCost: oracle,
    listens: n,
    users,
    level,
    replicates,
  };
  if (users === 0) return estimate;
  const rng = new Rng(options.seed ?? DEFAULT_POLICY_SEED);
  const savings = new Float64Array(replicates);
  const shares = new Float64Array(replicates);
  for (let b = 0; b < replicates; b++) {
    let d = 0;
    let p = 0;
    for (let k = 0; k < users; k++) {
      const u = rng.int(users);
      d += diff[u];
      p += possible[u];
    }
    savings[b] = d;
    shares[b] = p > 0 ? d / p : Number.NaN;
  }
  savings.sort();
  const finiteShares = shares.filter((s) => Number.isFinite(s)).sort();
  const lo = (1 - level) / 2;
  estimate.ciLower = sortedQuantile(savings, lo);
  estimate.ciUpper = sortedQuantile(savings, 1 - lo);
  estimate.shareCiLower = sortedQuantile(finiteShares, lo);
  estimate.shareCiUpper = sortedQuantile(finiteShares, 1 - lo);
  return estimate;
}

/** Cost of the oracle per listen: it prefetches exactly the full plays. */
export function oracleCosts(y: Uint8Array, costs: ListenCosts): Float64Array {
  return Float64Array.from(y, (skipped, i) => (skipped === 1 ? costs.stream[i] : costs.prefetch[i]));
}

/**
 * Out-of-sample per-listen costs of "choose the cost-minimising threshold, then apply it": users are split
 * into `folds` seeded folds; each fold's listens are decided at the threshold chosen on the other folds.
 * Null when there are fewer than 2 users (nothing to hold out).
 */
export function crossFittedCosts(
  y: Uint8Array,
  p: Float64Array,
  costs: ListenCosts,
  userId: ArrayLike<number>,
  options: { folds?: number; seed?: number } = {},
): { costs: Float64Array; thresholds: number[] } | null {
  const { index, users } = userIndex(userId);
  const folds = Math.min(options.folds ?? DEFAULT_FOLDS, users);
  if (folds < 2) return null;
  const order = new Int32Array(users);
  for (let u = 0; u < users; u++) order[u] = u;
  new Rng(options.seed ?? DEFAULT_POLICY_SEED).shuffle(order);
  const foldOfUser = new Int32Array(users);
  for (let k = 0; k < users; k++) foldOfUser[order[k]] = k % folds;
  const out = new Float64Array(y.length);
  const thresholds: number[] = [];
  for (let f = 0; f < folds; f++) {
    const fit: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < y.length; i++) (foldOfUser[index[i]] === f ? held : fit).push(i);
    const pick = <T extends ArrayLike<number>>(a: T, rows: number[]) => Float64Array.from(rows, (i) => a[i]);
    const t = chooseThreshold(
      Uint8Array.from(fit, (i) => y[i]),
      pick(p, fit),
      { prefetch: pick(costs.prefetch, fit), stream: pick(costs.stream, fit) },
      { gridSize: 2 },
    ).chosen.threshold;
    thresholds.push(t);
    for (const i of held) out[i] = p[i] >= t ? costs.stream[i] : costs.prefetch[i];
  }
  return { costs: out, thresholds };
}

/** One row of the candidate table. */
export interface PolicyCandidate extends SavingEstimate {
  /** "cache everything", "cache nothing", "gbdt @ 0.62", "naive @ 0.5". */
  name: string;
  /** "rule" = a fixed baseline rule at 0.5 (served like a model when chosen). */
  kind: "cache-all" | "cache-nothing" | "model" | "rule";
  model: ModelName | null;
  /** The threshold that would be served (SKIP when P(skip) >= threshold); null for cache all / nothing. */
  threshold: number | null;
  /** "fixed" = no parameter chosen on these listens; "cross-fitted" = the threshold was chosen on other user folds. */
  estimate: "fixed" | "cross-fitted" | "not estimable";
  /** Saving at the served threshold applied to the very listens it was chosen on (optimistic; for reference). */
  inSampleSaving: number | null;
  /** The interval's lower bound is above 0 (the candidate may be recommended). */
  passes: boolean;
}

export interface PolicyChoice {
  kind: PolicyKind;
  /** The model whose threshold rule decides, when kind is "model". */
  model: ModelName | null;
  /** Its served threshold: SKIP (do not prefetch) when P(skip) >= threshold. */
  threshold: number | null;
  costModel: CostModel;
  validation: {
    /** Every candidate, in the order cache everything, cache nothing, learners, rules. */
    candidates: PolicyCandidate[];
    listens: number;
    users: number;
    level: number;
    replicates: number;
    folds: number;
    seed: number;
    /** "bootstrap over users". */
    interval: string;
    from: string;
    to: string;
  };
  /** The recommendation and why, in plain words. */
  reason: string;
}

export interface ScoredCandidate {
  name: ModelName;
  /** "model": threshold chosen on these listens (cross-fitted); "baseline": fixed rule at `threshold`. */
  role: "model" | "baseline";
  p: Float64Array;
  /** The served threshold: chosen on every validation listen for a model, 0.5 for a rule. */
  threshold: number;
}

export interface PolicyInput {
  y: Uint8Array;
  userId: ArrayLike<number>;
  costs: ListenCosts;
  costModel: CostModel;
  candidates: readonly ScoredCandidate[];
  /** Time range of the listens, for the record. */
  from?: string;
  to?: string;
}

export interface PolicyOptions extends SavingOptions {
  folds?: number;
  /** Called after each candidate is estimated: (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export function fmtCost(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  const rounded = Math.round(x * 10) / 10;
  return (rounded === 0 ? 0 : rounded).toLocaleString("en-US", {
    maximumFractionDigits: 1,
    minimumFractionDigits: 1,
  });
}

export function fmtShare(x: number): string {
  return percent(x);
}

export function shortThreshold(t: number | null): string {
  return t === null ? "" : String(Number(t.toFixed(3)));
}

function candidateName(name: string, threshold: number): string {
  return `${name} @ ${shortThreshold(threshold)}`;
}

/**
 * "saves 12.3 (4.5 % of what the oracle saves; 95 % CI −3.0 to 27.1, bootstrap over users …) more than
 * caching everything", or "costs 8.0 more than caching everything (…)" for a negative saving.
 */
export function describeSaving(e: SavingEstimate): string {
  const tail =
    `${Math.round(e.level * 100)} % CI ${fmtCost(e.ciLower)} to ${fmtCost(e.ciUpper)}, ` +
    `${BOOTSTRAP_NOTE}: ${e.users} users, ${e.listens.toLocaleString("en-US")} listens`;
  return e.saving >= 0
    ? `saves ${fmtCost(e.saving)} (${fmtShare(e.share)} of what the oracle saves; ${tail}) more than caching everything`
    : `costs ${fmtCost(-e.saving)} more than caching everything (share ${fmtShare(e.share)}; ${tail})`;
}

/** Chooses the policy on the validation listens; see the header of this file for the rule. */
export function choosePolicy(input: PolicyInput, options: PolicyOptions = {}): PolicyChoice {
  const { y, userId, costs } = input;
  const n = y.length;
  if (userId.length !== n || costs.prefetch.length !== n || costs.stream.length !== n)
    throw new RangeError(
      `choosePolicy: ${n} labels, ${userId.length} users and ${costs.prefetch.length} costs`,
    );
  const seed = options.seed ?? DEFAULT_POLICY_SEED;
  const folds = options.folds ?? DEFAULT_FOLDS;
  const saving = { replicates: options.replicates, seed, level: options.level };
  const cacheAll = costs.prefetch;
  const oracle = oracleCosts(y, costs);
  const estimate = (policy: ArrayLike<number>) => netSaving(policy, cacheAll, oracle, userId, saving);

  const candidates: PolicyCandidate[] = [
    {
      name: "cache everything",
      kind: "cache-all",
      model: null,
      threshold: null,
      estimate: "fixed",
      inSampleSaving: 0,
      passes: false,
      ...estimate(cacheAll),
    },
    {
      name: "cache nothing",
      kind: "cache-nothing",
      model: null,
      threshold: null,
      estimate: "fixed",
      inSampleSaving: null,
      passes: false,
      ...estimate(costs.stream),
    },
  ];
  candidates[1].inSampleSaving = candidates[1].saving;
  const ordered = [
    ...input.candidates.filter((c) => c.role === "model"),
    ...input.candidates.filter((c) => c.role !== "model"),
  ];
  const progressTotal = ordered.length + 2;
  options.onProgress?.(2, progressTotal);
  for (const c of ordered) {
    if (c.p.length !== n)
      throw new RangeError(`choosePolicy: ${c.name} has ${c.p.length} scores for ${n} listens`);
    const served = decisionCosts(c.p, c.threshold, costs);
    if (c.role === "model") {
      const crossed = crossFittedCosts(y, c.p, costs, userId, { folds, seed });
      const inSample = estimate(served);
      candidates.push({
        name: candidateName(c.name, c.threshold),
        kind: "model",
        model: c.name,
        threshold: c.threshold,
        estimate: crossed ? "cross-fitted" : "not estimable",
        inSampleSaving: inSample.saving,
        passes: false,
        ...(crossed ? estimate(crossed.costs) : { ...inSample, ciLower: Number.NaN, ciUpper: Number.NaN }),
      });
    } else {
      const fixed = estimate(served);
      candidates.push({
        name: candidateName(c.name, c.threshold),
        kind: "rule",
        model: c.name,
        threshold: c.threshold,
        estimate: "fixed",
        inSampleSaving: fixed.saving,
        passes: false,
        ...fixed,
      });
    }
    options.onProgress?.(candidates.length, progressTotal);
  }
  for (const c of candidates) c.passes = c.kind !== "cache-all" && c.ciLower > 0 && c.users >= 2;
  let winner: PolicyCandidate | undefined;
  for (const c of candidates) if (c.passes && (!winner || c.saving > winner.saving)) winner = c;

  const { users } = userIndex(userId);
  const validation: PolicyChoice["validation"] = {
    candidates,
    listens: n,
    users,
    level: options.level ?? 0.95,
    replicates: options.replicates ?? DEFAULT_BOOTSTRAP_REPLICATES,
    folds,
    seed,
    interval: BOOTSTRAP_NOTE,
    from: input.from ?? "",
    to: input.to ?? "",
  };
  const costModel = costModelOf(input.costModel);
  if (!winner) {
    const models = candidates.filter((c) => c.kind === "model" || c.kind === "rule");
    const bestModel = models.reduce<PolicyCandidate | undefined>(
      (a, b) => (!a || b.saving > a.saving ? b : a),
      undefined,
    );
    return {
      kind: "cache-all",
      model: null,
      threshold: null,
      costModel,
      validation,
      reason:
        "no model saves more than caching everything on the validation period: prefetch everything" +
        (bestModel
          ? ` (the best model candidate, ${bestModel.name}, ${describeSaving(bestModel)}; the interval's lower bound is not above 0)`
          : ""),
    };
  }
  if (winner.kind === "cache-nothing") {
    return {
      kind: "cache-nothing",
      model: null,
      threshold: null,
      costModel,
      validation,
      reason: `caching nothing ${describeSaving(winner)} on the validation period: stream every track, prefetch none`,
    };
  }
  const how =
    winner.kind === "model"
      ? `its threshold chosen on ${folds - 1} of ${folds} user folds and applied to the held-out fold; the served threshold ${shortThreshold(winner.threshold)} is chosen on the whole validation period`
      : `a fixed rule at ${shortThreshold(winner.threshold)}`;
  return {
    kind: "model",
    model: winner.model,
    threshold: winner.threshold,
    costModel,
    validation,
    reason: `prefetch when ${winner.model} predicts P(skip) < ${shortThreshold(winner.threshold)}: on the validation period it ${describeSaving(winner)} (${how})`,
  };
}

/** A candidate's result on another period (the test period), at its validation-chosen threshold. */
export interface PolicyOutcome extends SavingEstimate {
  name: string;
  kind: PolicyCandidate["kind"];
  model: ModelName | null;
  threshold: number | null;
  /** This is the validation-chosen recommendation. */
  recommended: boolean;
}

/** Is this candidate the one the policy recommends? */
export function isRecommended(choice: PolicyChoice, c: { kind: string; model: string | null }): boolean {
  if (choice.kind === "model") return (c.kind === "model" || c.kind === "rule") && c.model === choice.model;
  return c.kind === choice.kind;
}

/**
 * Every validation candidate applied unchanged (same threshold) to other listens: their net saving, share
 * and user-bootstrap interval. The recommended one comes first. `scores` holds each model's P(skip) on
 * these listens; a candidate whose model has no scores here is left out.
 */
export function outcomesOn(
  choice: PolicyChoice,
  input: {
    y: Uint8Array;
    userId: ArrayLike<number>;
    costs: ListenCosts;
    scores: ReadonlyMap<string, ArrayLike<number>>;
  },
  options: SavingOptions = {},
): PolicyOutcome[] {
  const { y, userId, costs } = input;
  const oracle = oracleCosts(y, costs);
  const seed = options.seed ?? choice.validation.seed;
  const out: PolicyOutcome[] = [];
  for (const c of choice.validation.candidates) {
    let policy: ArrayLike<number> | undefined;
    if (c.kind === "cache-all") policy = costs.prefetch;
    else if (c.kind === "cache-nothing") policy = costs.stream;
    else {
      const p = c.model ? input.scores.get(c.model) : undefined;
      if (p && c.threshold !== null) policy = decisionCosts(p, c.threshold, costs);
    }
    if (!policy) continue;
    out.push({
      name: c.name,
      kind: c.kind,
      model: c.model,
      threshold: c.threshold,
      recommended: isRecommended(choice, c),
      ...netSaving(policy, costs.prefetch, oracle, userId, {
        replicates: options.replicates ?? choice.validation.replicates,
        level: options.level ?? choice.validation.level,
        seed,
      }),
    });
  }
  return [...out.filter((o) => o.recommended), ...out.filter((o) => !o.recommended)];
}

/** "saved 12.3 more" / "cost 4.0 more" / "cost the same". */
function savedOrCost(saving: number): string {
  if (saving > 0) return `saved ${fmtCost(saving)} more`;
  if (saving < 0) return `cost ${fmtCost(-saving)} more`;
  return "cost no more and no less";
}

/** One plain sentence on what the validation choice really did on the test period. */
export function describeTestOutcome(choice: PolicyChoice, outcomes: readonly PolicyOutcome[]): string {
  const rec = outcomes.find((o) => o.recommended);
  if (!rec) return "the recommended policy could not be replayed on the test period";
  if (choice.kind === "cache-all") {
    const others = outcomes.filter((o) => o.kind === "model" || o.kind === "rule");
    const best = others.reduce<PolicyOutcome | undefined>(
      (a, b) => (!a || b.saving > a.saving ? b : a),
      undefined,
    );
    return (
      "on the test period the recommendation is caching everything itself (net saving 0 by definition)" +
      (best
        ? `; the best model at its validation threshold, ${best.name}, ${savedOrCost(best.saving)} than caching everything (${Math.round(best.level * 100)} % CI ${fmtCost(best.ciLower)} to ${fmtCost(best.ciUpper)}, ${BOOTSTRAP_NOTE})`
        : "")
    );
  }
  const what = choice.kind === "cache-nothing" ? "caching nothing" : rec.name;
  if (rec.saving > 0) return `on the test period ${what} ${describeSaving(rec)}`;
  return `the validation choice (${what}) cost ${fmtCost(-rec.saving)} more than caching everything on the test period (share ${fmtShare(rec.share)}; ${Math.round(rec.level * 100)} % CI ${fmtCost(rec.ciLower)} to ${fmtCost(rec.ciUpper)}, ${BOOTSTRAP_NOTE})`;
}

/**
 * Per-listen costs of dataset rows under a cost model: the listen's recorded duration (the catalogue's when
 * unknown) and heard time.
 */
export function datasetListenCosts(
  dataset: Pick<Dataset, "y" | "durationMs" | "heardMs" | "trackIndex">,
  catalog: Catalog,
  rows: Int32Array,
  costModel: CostModel,
): ListenCosts {
  const skipped = new Uint8Array(rows.length);
  const duration = new Float64Array(rows.length);
  const heard = new Float64Array(rows.length);
  rows.forEach((i, k) => {
    skipped[k] = dataset.y[i];
    const recorded = dataset.durationMs[i];
    duration[k] = Number.isFinite(recorded)
      ? recorded
      : (catalog.tracks[dataset.trackIndex[i]]?.durationMs ?? 0);
    heard[k] = dataset.heardMs[i];
  });
  return listenCosts(skipped, duration, heard, costModel);
}

/** The test period of a training run, reported (never chosen on): every candidate's outcome and one sentence. */
export function testPeriodOutcomes(
  run: Pick<TrainingRun, "dataset" | "split" | "fitted" | "policy">,
  catalog: Catalog,
  options: SavingOptions = {},
): { test: PolicyOutcome[]; testSummary: string } {
  const { dataset, split, policy } = run;
  const rows = split.test;
  const test = outcomesOn(
    policy,
    {
      y: Uint8Array.from(rows, (i) => dataset.y[i]),
      userId: Int32Array.from(rows, (i) => dataset.userId[i]),
      costs: datasetListenCosts(dataset, catalog, rows, policy.costModel),
      scores: new Map(run.fitted.map((f) => [f.name, f.testP])),
    },
    options,
  );
  return { test, testSummary: describeTestOutcome(policy, test) };
}
