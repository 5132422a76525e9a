import { MajorityModel, NaiveGenreModel, PreviousOutcomeModel } from "./baselines.ts";
import { GradientBoostedTrees } from "./gbdt.ts";
import { LogisticRegression } from "./logistic.ts";
import { LinearSVM } from "./svm.ts";
import type { ModelJSON, SkipModel } from "./types.ts";
import { ModelInputError } from "./validate.ts";

export { genreRuleSkip, MajorityModel, NaiveGenreModel, PreviousOutcomeModel } from "./baselines.ts";
export { GBDT_DEFAULTS, GradientBoostedTrees, type GradientBoostedTreesParams } from "./gbdt.ts";
export { LogisticRegression, type LogisticRegressionParams } from "./logistic.ts";
export { LinearSVM, type LinearSVMParams } from "./svm.ts";
export type * from "./types.ts";
export { ModelInputError, NotFittedError } from "./validate.ts";

const LOADERS: Record<string, (json: ModelJSON) => SkipModel> = {
  "naive-genre": NaiveGenreModel.fromJSON,
  majority: MajorityModel.fromJSON,
  "previous-outcome": PreviousOutcomeModel.fromJSON,
  logistic: LogisticRegression.fromJSON,
  "linear-svm": LinearSVM.fromJSON,
  gbdt: GradientBoostedTrees.fromJSON,
};

export const MODEL_KINDS = Object.keys(LOADERS);

/** Restores any model of this module from its `toJSON()` output; predictions are identical. */
export function modelFromJSON(json: ModelJSON): SkipModel {
  if (json === null || typeof json !== "object" || typeof json.kind !== "string") {
    throw new ModelInputError("model JSON must be an object with a string `kind`");
  }
  const load = LOADERS[json.kind];
  if (load === undefined) {
    throw new ModelInputError(`unknown model kind "${json.kind}" (known: ${MODEL_KINDS.join(", ")})`);
  }
  if (typeof json.params !== "object" || typeof json.state !== "object" || json.state === null) {
    throw new ModelInputError(`model JSON of kind "${json.kind}" lacks params/state objects`);
  }
  return load(json);
}
