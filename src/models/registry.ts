// The one table of the models skipwise trains, serves and reports. Each entry gives the model its one name
// (what `--models` takes, the bundle manifest's key, the experiment's variant, the reports' row), its role,
// how to make it, how to restore it, and what it can do for the training protocol. `kind` is only the tag
// its `toJSON()` writes (bundles store it): it stays as it was so every bundle written so far still loads.
import { MajorityModel, NaiveGenreModel, PreviousOutcomeModel } from "./baselines.ts";
import { GradientBoostedTrees, type GradientBoostedTreesParams } from "./gbdt.ts";
import { LogisticRegression, type LogisticRegressionParams } from "./logistic.ts";
import { LinearSVM, type LinearSVMParams } from "./svm.ts";
import type { ModelJSON, SkipModel } from "./types.ts";
import { ModelInputError } from "./validate.ts";

/** "model" = a learner; "baseline" = a fixed rule; "majority" = the base-rate predictor the verdict compares to. */
export type ModelRole = "model" | "baseline" | "majority";

/** What `create` takes, per model name (every field optional: the model's defaults fill the rest). */
export interface ModelParams {
  naive: Record<string, never>;
  majority: Record<string, never>;
  previous: Record<string, never>;
  logistic: Partial<LogisticRegressionParams>;
  svm: Partial<LinearSVMParams>;
  gbdt: Partial<GradientBoostedTreesParams>;
}

export type ModelName = keyof ModelParams;

/** What a model offers the training protocol beyond fit / predict. */
export interface ModelCapabilities<M extends SkipModel = SkipModel, P = unknown> {
  /** Early-stops on `FitOptions.validation`: the training protocol hands it the validation part. */
  usesValidation: boolean;
  /**
   * Standardised coefficients (bias last) of a fitted model, for `FitOptions.warmStart` of its refit on more
   * data (convex losses: same optimum, fewer steps).
   */
  warmStart?(fitted: M): Float64Array;
  /** Parameters of the refit on train + validation that the fit on train chose (the tree count). */
  refitParams?(fitted: M): P;
  /**
   * The model is the reference's genre rule (`genreRuleSkip`): the cache simulator replays it as the
   * genre-rule policy, the service's default experiment puts it against the bundle's default model.
   */
  genreRule?: boolean;
}

export interface ModelEntry<N extends ModelName = ModelName, M extends SkipModel = SkipModel> {
  readonly name: N;
  /** The `kind` tag of its JSON (`toJSON().kind`), which selects the loader. */
  readonly kind: string;
  readonly role: ModelRole;
  /** One line for help texts and docs. */
  readonly summary: string;
  create(params?: ModelParams[N]): M;
  fromJSON(json: ModelJSON): M;
  readonly capabilities: ModelCapabilities<M, ModelParams[N]>;
}

type ModelClass<M extends SkipModel> = abstract new (...args: never[]) => M;

/**
 * An entry whose capabilities are only ever given models of its own class: a model of another class
 * (a caller mixing up entries) is refused instead of read as the wrong thing.
 */
function entry<N extends ModelName, M extends SkipModel>(
  cls: ModelClass<M>,
  spec: ModelEntry<N, M>,
): ModelEntry<N, M> {
  const own = (fitted: SkipModel, what: string): M => {
    if (!(fitted instanceof cls)) {
      throw new TypeError(`model "${spec.name}": ${what} was given a ${fitted.kind} model`);
    }
    return fitted;
  };
  const { warmStart, refitParams } = spec.capabilities;
  return Object.freeze({
    ...spec,
    capabilities: Object.freeze({
      ...spec.capabilities,
      ...(warmStart ? { warmStart: (fitted: M) => warmStart(own(fitted, "warmStart")) } : {}),
      ...(refitParams ? { refitParams: (fitted: M) => refitParams(own(fitted, "refitParams")) } : {}),
    }),
  });
}

/** Every model, in the order training fits them and reports list them. */
const ENTRIES: { readonly [N in ModelName]: ModelEntry<N, SkipModel> } = {
  naive: entry(NaiveGenreModel, {
    name: "naive",
    kind: "naive-genre",
    role: "baseline",
    summary: "the reference's genre rule: SKIP when genre_match = 0 (unknown = PLAY)",
    create: () => new NaiveGenreModel(),
    fromJSON: NaiveGenreModel.fromJSON,
    capabilities: { usesValidation: false, genreRule: true },
  }),
  majority: entry(MajorityModel, {
    name: "majority",
    kind: "majority",
    role: "majority",
    summary: "the (weighted) training skip rate for every listen",
    create: () => new MajorityModel(),
    fromJSON: MajorityModel.fromJSON,
    capabilities: { usesValidation: false },
  }),
  previous: entry(PreviousOutcomeModel, {
    name: "previous",
    kind: "previous-outcome",
    role: "baseline",
    summary: "the previous listen's outcome in the session (session start = base rate)",
    create: () => new PreviousOutcomeModel(),
    fromJSON: PreviousOutcomeModel.fromJSON,
    capabilities: { usesValidation: false },
  }),
  logistic: entry(LogisticRegression, {
    name: "logistic",
    kind: "logistic",
    role: "model",
    summary: "L2 logistic regression",
    create: (params) => new LogisticRegression(params),
    fromJSON: LogisticRegression.fromJSON,
    capabilities: { usesValidation: false, warmStart: (fitted) => fitted.standardizedCoefficients() },
  }),
  svm: entry(LinearSVM, {
    name: "svm",
    kind: "linear-svm",
    role: "model",
    summary: "class-balanced linear SVM (squared hinge) with Platt probabilities",
    create: (params) => new LinearSVM({ classWeight: "balanced", ...params }),
    fromJSON: LinearSVM.fromJSON,
    capabilities: { usesValidation: false, warmStart: (fitted) => fitted.standardizedCoefficients() },
  }),
  gbdt: entry(GradientBoostedTrees, {
    name: "gbdt",
    kind: "gbdt",
    role: "model",
    summary: "histogram gradient-boosted trees, early-stopped on the validation part",
    create: (params) => new GradientBoostedTrees(params),
    fromJSON: GradientBoostedTrees.fromJSON,
    capabilities: {
      usesValidation: true,
      // The refit grows the trees early stopping kept, with no validation part to stop on.
      refitParams: (fitted) => ({ nEstimators: Math.max(1, fitted.treeCount), earlyStoppingRounds: 0 }),
    },
  }),
};

/** The registry: every model entry, in training and report order. */
export const MODEL_REGISTRY: readonly ModelEntry[] = Object.freeze(Object.values(ENTRIES));

/** Every model name, in training and report order. */
export const MODEL_NAMES: readonly ModelName[] = Object.freeze(MODEL_REGISTRY.map((e) => e.name));

/** The `kind` tags of the models' JSON. */
export const MODEL_KINDS: readonly string[] = Object.freeze(MODEL_REGISTRY.map((e) => e.kind));

const BY_KIND = new Map(MODEL_REGISTRY.map((e) => [e.kind, e]));

/** The name of the genre-rule model (the reference's baseline, the service's default control arm). */
export const GENRE_RULE_MODEL: ModelName = (
  MODEL_REGISTRY.find((e) => e.capabilities.genreRule) as ModelEntry
).name;

export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(ENTRIES, name);
}

/** The entry of `name`, typed by it. */
export function modelEntry<N extends ModelName>(name: N): ModelEntry<N> {
  const found = isModelName(name) ? ENTRIES[name] : undefined;
  if (found === undefined) throw new Error(`unknown model "${name}" (known: ${MODEL_NAMES.join(", ")})`);
  return found as unknown as ModelEntry<N>;
}

/** The entry of a name when it is one of the registry's (bundles may hold models under other names). */
export function findModelEntry(name: string): ModelEntry | undefined {
  return isModelName(name) ? ENTRIES[name] : undefined;
}

/** The entry whose JSON carries `kind`. */
export function entryOfKind(kind: string): ModelEntry | undefined {
  return BY_KIND.get(kind);
}

/** A comma-separated list of model names (`--models`), each checked against the registry. */
export function parseModelNames(list: string): ModelName[] {
  const names = list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!isModelName(name)) throw new Error(`unknown model "${name}" (known: ${MODEL_NAMES.join(", ")})`);
  }
  return names as ModelName[];
}

/** Restores any model of the registry from its `toJSON()` output; predictions are identical. */
export function modelFromJSON(json: ModelJSON): SkipModel {
  if (json === null || typeof json !== "object" || typeof json.kind !== "string") {
    throw new ModelInputError("model JSON must be an object with a string `kind`");
  }
  const found = entryOfKind(json.kind);
  if (found === undefined) {
    throw new ModelInputError(`unknown model kind "${json.kind}" (known: ${MODEL_KINDS.join(", ")})`);
  }
  if (typeof json.params !== "object" || typeof json.state !== "object" || json.state === null) {
    throw new ModelInputError(`model JSON of kind "${json.kind}" lacks params/state objects`);
  }
  return found.fromJSON(json);
}
