export { genreRuleSkip, MajorityModel, NaiveGenreModel, PreviousOutcomeModel } from "./baselines.ts";
export { GBDT_DEFAULTS, GradientBoostedTrees, type GradientBoostedTreesParams } from "./gbdt.ts";
export { LogisticRegression, type LogisticRegressionParams } from "./logistic.ts";
export {
  entryOfKind,
  findModelEntry,
  GENRE_RULE_MODEL,
  isModelName,
  MODEL_KINDS,
  MODEL_NAMES,
  MODEL_REGISTRY,
  type ModelCapabilities,
  type ModelEntry,
  type ModelName,
  type ModelParams,
  type ModelRole,
  modelEntry,
  modelFromJSON,
  parseModelNames,
} from "./registry.ts";
export { LinearSVM, type LinearSVMParams } from "./svm.ts";
export type * from "./types.ts";
export { ModelInputError, NotFittedError } from "./validate.ts";
