// The honest training protocol: replay listens in time order into point-in-time feature vectors, split
// by time (train / validation / test), fit every model on the training part, early-stop and choose
// thresholds on the validation part, and predict the untouched test part.
import type { Catalog } from "../data/types.ts";
import { FeatureState } from "../features/index.ts";
import type { ListenTable } from "../listens/types.ts";
import {
  GradientBoostedTrees,
  type GradientBoostedTreesParams,
  LinearSVM,
  LogisticRegression,
  MajorityModel,
  NaiveGenreModel,
  PreviousOutcomeModel,
  type SkipModel,
} from "../models/index.ts";
import { buildDataset, type Dataset, observeListens } from "./dataset.ts";
import { rocAuc } from "./metrics.ts";
import {
  DEFAULT_SPLIT,
  type SplitFractions,
  selectRows,
  selectValues,
  type TimeSplit,
  timeSplit,
} from "./split.ts";
import { type CostWeights, chooseThreshold, type ThresholdChoice } from "./threshold.ts";

/** "model" = a learner; "baseline" = a fixed rule; "majority" = the base-rate predictor the verdict compares to. */
export type TrainedRole = "model" | "baseline" | "majority";

export const MODEL_NAMES = ["naive", "majority", "previous", "logistic", "svm", "gbdt"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Waste = prefetched but skipped; stall = not prefetched but played out. A stall hurts the listener more. */
export const DEFAULT_COSTS: CostWeights = Object.freeze({ costWaste: 1, costStall: 2 });

export interface TrainingOptions {
  models?: readonly ModelName[];
  split?: SplitFractions;
  costs?: CostWeights;
  gbdt?: Partial<GradientBoostedTreesParams>;
  /**
   * Refit every model on train + validation once the validation part has chosen the tree count and the
   * thresholds (default true): the served model then knows every listen before the test period.
   */
  refit?: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface FittedModel {
  name: ModelName;
  role: TrainedRole;
  model: SkipModel;
  /** P(skip) on the validation rows (by the model fitted on train only) and on the test rows (by `model`). */
  validationP: Float64Array;
  testP: Float64Array;
  validationAuc: number;
  /** Cost-minimising threshold chosen on the validation rows (0.5 for the hard-rule baselines). */
  threshold: number;
  choice: ThresholdChoice | null;
  fitSeconds: number;
}

export interface TrainingRun {
  dataset: Dataset;
  split: TimeSplit;
  fitted: FittedModel[];
  /** The learner with the best validation ROC AUC (served by default). */
  best: ModelName;
  costs: CostWeights;
  /** Feature state after every listen before the test period: what a server replaying the test period starts from. */
  stateAtTestStart: FeatureState;
}

const ROLE: Record<ModelName, TrainedRole> = {
  naive: "baseline",
  majority: "majority",
  previous: "baseline",
  logistic: "model",
  svm: "model",
  gbdt: "model",
};

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
 * on two cores, so the trees learn at 0.1 and stop at 300 (the production delivery has ~2 M training rows).
 */
export const LARGE_TRAINING_ROWS = 500_000;
export const LARGE_TRAINING_GBDT: Partial<GradientBoostedTreesParams> = Object.freeze({
  learningRate: 0.1,
  nEstimators: 300,
  earlyStoppingRounds: 20,
});

function makeModel(name: ModelName, gbdt: Partial<GradientBoostedTreesParams>, trainingRows = 0): SkipModel {
  switch (name) {
    case "naive":
      return new NaiveGenreModel();
    case "majority":
      return new MajorityModel();
    case "previous":
      return new PreviousOutcomeModel();
    case "logistic":
      return new LogisticRegression();
    case "svm":
      return new LinearSVM({ classWeight: "balanced" });
    case "gbdt":
      return new GradientBoostedTrees({
        ...TRAINING_GBDT,
        ...(trainingRows > LARGE_TRAINING_ROWS ? LARGE_TRAINING_GBDT : {}),
        ...gbdt,
      });
  }
}

export function parseModelNames(list: string): ModelName[] {
  const names = list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(MODEL_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown model "${name}" (known: ${MODEL_NAMES.join(", ")})`);
    }
  }
  return names as ModelName[];
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
  const costs = options.costs ?? DEFAULT_COSTS;
  const names = options.models ?? MODEL_NAMES;
  if (listens.length === 0) throw new Error("no listens to train on: the delivery holds no play events");

  const dataset = buildDataset(listens, catalog, { onProgress: (d, t) => progress("features", d, t) });
  const split = timeSplit(dataset.startMs, options.split ?? DEFAULT_SPLIT);
  for (const part of ["train", "validation", "test"] as const) {
    if (split[part].length === 0) {
      throw new Error(
        `the time split left the ${part} part empty (${listens.length} listens): the delivery is too small`,
      );
    }
  }
  const Xtrain = selectRows(dataset.X, split.train);
  const ytrain = selectValues(dataset.y, split.train);
  const Xvalid = selectRows(dataset.X, split.validation);
  const yvalid = selectValues(dataset.y, split.validation);
  const Xtest = selectRows(dataset.X, split.test);
  const refit = options.refit ?? true;
  const trainAndValidation = Int32Array.from([...split.train, ...split.validation]);
  const Xrefit = refit ? selectRows(dataset.X, trainAndValidation) : Xtrain;
  const yrefit = refit ? selectValues(dataset.y, trainAndValidation) : ytrain;
  if (!hasBothClasses(ytrain)) throw new Error("the training period holds only one class: nothing to learn");

  const fitted: FittedModel[] = [];
  names.forEach((name, k) => {
    progress(`fit ${name}`, k, names.length);
    const model = makeModel(name, options.gbdt ?? {}, ytrain.length);
    const started = performance.now();
    model.fit(Xtrain, ytrain, {
      featureNames: dataset.featureNames,
      validation: name === "gbdt" ? { X: Xvalid, y: yvalid } : undefined,
      onProgress: (d, t) => progress(`fit ${name}`, d, t),
    });
    const validationP = model.predictProba(Xvalid);
    let served = model;
    if (refit) {
      // The validation part has done its work (tree count, thresholds): learn from it too.
      const trees = model instanceof GradientBoostedTrees ? Math.max(1, model.treeCount) : 0;
      served = makeModel(
        name,
        trees > 0 ? { ...options.gbdt, nEstimators: trees, earlyStoppingRounds: 0 } : (options.gbdt ?? {}),
        ytrain.length,
      );
      served.fit(Xrefit, yrefit, { featureNames: dataset.featureNames });
    }
    const fitSeconds = (performance.now() - started) / 1000;
    const testP = served.predictProba(Xtest);
    const role = ROLE[name];
    const canChoose = role === "model" && hasBothClasses(yvalid);
    const choice = canChoose ? chooseThreshold(yvalid, validationP, costs) : null;
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

  const learners = fitted.filter((f) => f.role === "model");
  const pool = learners.length > 0 ? learners : fitted;
  const best = pool.reduce((a, b) =>
    b.validationAuc > a.validationAuc || Number.isNaN(a.validationAuc) ? b : a,
  );
  const testStart = split.test.length > 0 ? split.test[0] : listens.length;
  return {
    dataset,
    split,
    fitted,
    best: best.name,
    costs,
    stateAtTestStart: observeListens(
      new FeatureState(catalog),
      listens,
      0,
      firstRowAtOrAfter(dataset.startMs, split.testStartMs, testStart),
    ),
  };
}

/** Index of the first row (rows are in time order) starting at or after `t`. */
function firstRowAtOrAfter(startMs: Float64Array, t: number, fallback: number): number {
  if (!Number.isFinite(t)) return fallback;
  let lo = 0;
  let hi = startMs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (startMs[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
