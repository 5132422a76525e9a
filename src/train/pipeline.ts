// The honest training protocol: replay listens in time order into point-in-time feature vectors, split
// by time (train / validation / test), fit every model on the training part, early-stop and choose
// thresholds on the validation part, choose the prefetch policy there (out of sample, before the test
// period; see policy-choice.ts), and predict the untouched test part.
import type { Catalog, EventTable } from "../data/types.ts";
import { type CostModel, DEFAULT_COST_MODEL, validateCostModel } from "../listens/cost-model.ts";
import type { ListenTable } from "../listens/types.ts";
import {
  type GradientBoostedTreesParams,
  MODEL_NAMES,
  type ModelName,
  type ModelParams,
  type ModelRole,
  modelEntry,
  type SkipModel,
} from "../models/index.ts";
import { buildDataset, type Dataset } from "./dataset.ts";

/** A dataset as training keeps it. */
export type TrainingDataset = Omit<Dataset, "state">;

import { rocAuc } from "./metrics.ts";
import {
  choosePolicy,
  datasetListenCosts,
  type PolicyChoice,
  type PolicyOptions,
  type ScoredCandidate,
} from "./policy-choice.ts";
import {
  DEFAULT_SPLIT,
  rowsOf,
  type SplitFractions,
  selectValues,
  type TimeSplit,
  timeSplit,
} from "./split.ts";
import { chooseThreshold, type ThresholdChoice } from "./threshold.ts";

export interface TrainingOptions {
  /** The delivery's session events the listens came from (the state learns from them as the service does). */
  events?: EventTable;
  models?: readonly ModelName[];
  split?: SplitFractions;
  /** Prices every prefetch decision (default DEFAULT_COST_MODEL). */
  costModel?: CostModel;
  /** Bootstrap replicates, seed, folds and level of the policy choice. */
  policy?: PolicyOptions;
  gbdt?: Partial<GradientBoostedTreesParams>;
  /**
   * Fit on at most this many training rows, the most recent ones (default MAX_TRAINING_ROWS; 0 = all).
   * The feature state still learns from every event; only the earlier listens get no row.
   */
  maxTrainingRows?: number;
  /** Called once the feature rows are built, when the session events are no longer needed (to free them). */
  onFeaturesBuilt?: () => void;
  /**
   * Refit every model on train + validation once the validation part has chosen the tree count and the
   * thresholds (default true): the served model then knows every listen before the test period.
   */
  refit?: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface FittedModel {
  name: ModelName;
  role: ModelRole;
  model: SkipModel;
  /** P(skip) on the validation rows (by the model fitted on train only) and on the test rows (by `model`). */
  validationP: Float64Array;
  testP: Float64Array;
  validationAuc: number;
  /** Cost-minimising threshold chosen on every validation row (0.5 for the hard-rule baselines). */
  threshold: number;
  choice: ThresholdChoice | null;
  fitSeconds: number;
}

/** The training part's rows the models were fitted on, when a window cut it. */
export interface TrainingWindow {
  /** Listens in the training part, and the most recent of them that got rows. */
  listens: number;
  used: number;
  /** Start time of the first row used. */
  fromMs: number;
}

export interface TrainingRun {
  /** Null when every training listen was used. */
  trainingWindow: TrainingWindow | null;
  /** The rows (without the final feature state, which training does not need and which is freed). */
  dataset: TrainingDataset;
  split: TimeSplit;
  fitted: FittedModel[];
  /**
   * The served default model: the policy's model when it recommends one, else the learner with the best
   * validation ROC AUC (then kept for shadow scoring and monitoring only: the policy decides PLAY/SKIP).
   */
  best: ModelName;
  costModel: CostModel;
  /** The prefetch policy chosen on the validation period (the one selection rule). */
  policy: PolicyChoice;
  /**
   * Snapshot of the feature state after every event before the test period (`FeatureState.restore` reads
   * it): what a server replaying the test period starts from, and what a bundle serves.
   */
  snapshotAtTestStart: Buffer;
}

/** Tuned on the validation parts of the real deliveries: slower learning and larger leaves than the learner's defaults. */
export const TRAINING_GBDT: Partial<GradientBoostedTreesParams> = Object.freeze({
  learningRate: 0.05,
  maxLeaves: 31,
  minSamplesLeaf: 50,
  nEstimators: 1000,
  earlyStoppingRounds: 50,
});

/**
 * Above this many training rows the slow learning rate buys nothing measurable but costs minutes per fit
 * on two cores, so the trees learn at 0.2 and stop at 300. On the production delivery (1.97 M training
 * rows): learning rate 0.1 = 124 trees, validation AUC 0.78093, test 0.78332, 222 s; 0.2 = 52 trees,
 * 0.78050 / 0.78294, 119 s; 0.3 = 45 trees, 0.78029 / 0.78244, 95 s (bench/gbdt-learning-rate.ts).
 */
export const LARGE_TRAINING_ROWS = 500_000;

export const LARGE_TRAINING_GBDT: Partial<GradientBoostedTreesParams> = Object.freeze({
  learningRate: 0.2,
  nEstimators: 300,
  earlyStoppingRounds: 20,
});

/**
 * Training rows fitted on by default: the most recent 4 M (production's 1.97 M training rows fit whole). Fit
 * time and memory then grow with the delivery's events, not with its listens times the feature count: a 10×
 * production delivery (28 M listens) would otherwise hold 7.4 GB of float32 rows. With 6 M, `train` on it
 * peaked at 11.7 GiB (bench/scale at 5898711), too close to the 12 GB it must stay under.
 */
export const MAX_TRAINING_ROWS = 4_000_000;

/** Training's own parameters, by model name (the others take the registry's defaults). */
const TRAINING_PARAMS: {
  [N in ModelName]?: (gbdt: Partial<GradientBoostedTreesParams>, rows: number) => ModelParams[N];
} = {
  gbdt: (gbdt, rows) => ({
    ...TRAINING_GBDT,
    ...(rows > LARGE_TRAINING_ROWS ? LARGE_TRAINING_GBDT : {}),
    ...gbdt,
  }),
};

/**
 * A model of the registry with training's parameters; for a refit, with those the fit on the training part
 * chose (`refitParams` of its entry: the tree count).
 */
function makeModel(
  name: ModelName,
  gbdt: Partial<GradientBoostedTreesParams>,
  trainingRows = 0,
  fittedOnTrain?: SkipModel,
): SkipModel {
  const entry = modelEntry(name);
  const refit = fittedOnTrain ? entry.capabilities.refitParams?.(fittedOnTrain) : undefined;
  return entry.create({ ...TRAINING_PARAMS[name]?.(gbdt, trainingRows), ...refit } as ModelParams[ModelName]);
}

function hasBothClasses(y: Uint8Array): boolean {
  let skips = 0;
  for (let i = 0; i < y.length; i++) skips += y[i];
  return skips > 0 && skips < y.length;
}

export function trainModels(
  listens: ListenTable,
  catalog: Catalog,
  options: TrainingOptions = {},
): TrainingRun {
  const progress = options.onProgress ?? (() => {});
  const costModel = validateCostModel(options.costModel ?? DEFAULT_COST_MODEL, "training cost model");
  const names = options.models ?? MODEL_NAMES;
  if (listens.length === 0) throw new Error("no listens to train on: the delivery holds no play events");

  const fullSplit = timeSplit(listens.startMs.subarray(0, listens.length), options.split ?? DEFAULT_SPLIT);
  const maxRows = options.maxTrainingRows ?? MAX_TRAINING_ROWS;
  if (!(Number.isInteger(maxRows) && maxRows >= 0))
    throw new RangeError(`maxTrainingRows must be a whole number ≥ 0 (0 = all), got ${maxRows}`);
  const fromRow =
    maxRows > 0 && fullSplit.train.length > maxRows ? fullSplit.train[fullSplit.train.length - maxRows] : 0;
  const { state: _finalState, ...dataset } = buildDataset(listens, catalog, {
    events: options.events,
    snapshotAtMs: fullSplit.testStartMs,
    fromRow,
    onProgress: (d, t) => progress("features", d, t),
  });
  // The events are replayed: let the caller free them before the models take their memory.
  options = { ...options, events: undefined };
  options.onFeaturesBuilt?.();
  const split = shiftSplit(fullSplit, fromRow);
  const trainingWindow: TrainingWindow | null =
    fromRow > 0
      ? { listens: fullSplit.train.length, used: split.train.length, fromMs: dataset.startMs[0] }
      : null;
  for (const part of ["train", "validation", "test"] as const) {
    if (split[part].length === 0) {
      throw new Error(
        `the time split left the ${part} part empty (${listens.length} listens): the delivery is too small`,
      );
    }
  }
  // Views, not copies: the delivery's rows are in time order, so each part is one run of rows.
  const Xtrain = rowsOf(dataset.X, split.train);
  const ytrain = selectValues(dataset.y, split.train);
  const Xvalid = rowsOf(dataset.X, split.validation);
  const yvalid = selectValues(dataset.y, split.validation);
  const Xtest = rowsOf(dataset.X, split.test);
  const refit = options.refit ?? true;
  const trainAndValidation = concatRows(split.train, split.validation);
  const Xrefit = refit ? rowsOf(dataset.X, trainAndValidation) : Xtrain;
  const yrefit = refit ? selectValues(dataset.y, trainAndValidation) : ytrain;
  if (!hasBothClasses(ytrain)) throw new Error("the training period holds only one class: nothing to learn");
  const validCosts = datasetListenCosts(dataset, catalog, split.validation, costModel);

  const fitted: FittedModel[] = [];
  names.forEach((name) => {
    progress(`fit ${name}`, 0, 0);
    const model = makeModel(name, options.gbdt ?? {}, ytrain.length);
    const started = performance.now();
    model.fit(Xtrain, ytrain, {
      featureNames: dataset.featureNames,
      validation: modelEntry(name).capabilities.usesValidation ? { X: Xvalid, y: yvalid } : undefined,
      onProgress: (d, t) => progress(`fit ${name}`, d, t),
    });
    const validationP = model.predictProba(Xvalid);
    let served = model;
    if (refit) {
      // The validation part has done its work (tree count, thresholds): learn from it too.
      served = makeModel(name, options.gbdt ?? {}, ytrain.length, model);
      // The linear models start from their training-period optimum: the refit's is close by.
      const warmStart = modelEntry(name).capabilities.warmStart?.(model);
      served.fit(Xrefit, yrefit, {
        featureNames: dataset.featureNames,
        warmStart,
        onProgress: (d, t) => progress(`refit ${name}`, d, t),
      });
    }
    const fitSeconds = (performance.now() - started) / 1000;
    const testP = served.predictProba(Xtest);
    const role = modelEntry(name).role;
    const choice = role === "model" ? chooseThreshold(yvalid, validationP, validCosts) : null;
    fitted.push({
      name,
      role,
      model: served,
      validationP,
      testP,
      validationAuc: hasBothClasses(yvalid) ? rocAuc(yvalid, validationP) : Number.NaN,
      threshold: choice ? choice.chosen.threshold : 0.5,
      choice,
      fitSeconds,
    });
  });
  progress("fit", names.length, names.length);

  progress("policy", 0, candidatesCount(fitted));
  const candidates: ScoredCandidate[] = fitted
    .filter((f) => f.role !== "majority")
    .map((f) => ({
      name: f.name,
      role: f.role === "model" ? "model" : "baseline",
      p: f.validationP,
      threshold: f.threshold,
    }));
  const policy = choosePolicy(
    {
      y: yvalid,
      userId: selectValues(dataset.userId, split.validation),
      costs: validCosts,
      costModel,
      candidates,
      from: iso(dataset.startMs[split.validation[0]]),
      to: iso(dataset.startMs[split.validation[split.validation.length - 1]]),
    },
    { ...options.policy, onProgress: (d, t) => progress("policy", d, t) },
  );
  const learners = fitted.filter((f) => f.role === "model");
  const pool = learners.length > 0 ? learners : fitted;
  const byAuc = pool.reduce((a, b) =>
    b.validationAuc > a.validationAuc || Number.isNaN(a.validationAuc) ? b : a,
  );
  const best = policy.kind === "model" && policy.model !== null ? policy.model : byAuc.name;
  return {
    trainingWindow,
    dataset,
    split,
    fitted,
    best,
    costModel,
    policy,
    snapshotAtTestStart: dataset.snapshotAt as Buffer,
  };
}

/** The split's row indices less `fromRow` (rows before it have no row in the dataset). */
function shiftSplit(split: TimeSplit, fromRow: number): TimeSplit {
  if (fromRow === 0) return split;
  const shift = (rows: Int32Array) => {
    let k = 0;
    while (k < rows.length && rows[k] < fromRow) k++;
    return rows.slice(k).map((r) => r - fromRow);
  };
  return {
    ...split,
    train: shift(split.train),
    validation: shift(split.validation),
    test: shift(split.test),
  };
}

function concatRows(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Policy candidates: cache everything, cache nothing, and every fitted model but the majority rule. */
function candidatesCount(fitted: readonly FittedModel[]): number {
  return fitted.filter((f) => f.role !== "majority").length + 2;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : "";
}
