// The command-line flags that choose what is trained and how decisions are priced (`skipwise train`,
// `skipwise evaluate`), and the honest training run they ask for.
import type { StageProgress } from "../base/progress.ts";
import { type Delivery, emptyEventTable } from "../data/index.ts";
import { type CostFlags, costModelFromFlags } from "../listens/cost-model.ts";
import { buildListens } from "../listens/index.ts";
import { parseModelNames } from "../models/registry.ts";
import { type TrainingRun, trainModels } from "./pipeline.ts";

export interface TrainingFlags extends CostFlags {
  /** Comma-separated model names of the registry (default: all). */
  models?: string;
  /** `--max-training-rows`: fit on the most recent N training listens (0 = all; default MAX_TRAINING_ROWS). */
  maxTrainingRows?: string;
}

/** `--max-training-rows` as a number (undefined = the default). */
export function maxTrainingRowsFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 1))
    throw new Error(
      `--max-training-rows must be a whole number ≥ 0 (0 = all training listens), got "${value}"`,
    );
  return n;
}

/**
 * The honest protocol on the delivery's listens, with the flags' models and cost model. Once the feature
 * rows are built, `delivery.events` is replaced by an empty table so its memory is freed for the models
 * (the run keeps the event count).
 */
export function trainWithFlags(
  delivery: Delivery,
  flags: TrainingFlags,
  progress: StageProgress,
): TrainingRun {
  const maxTrainingRows = maxTrainingRowsFlag(flags.maxTrainingRows);
  const listens = buildListens(delivery.events, delivery.catalog);
  return trainModels(listens, delivery.catalog, {
    events: delivery.events,
    models: flags.models ? parseModelNames(flags.models) : undefined,
    costModel: costModelFromFlags(flags),
    maxTrainingRows,
    onFeaturesBuilt: () => {
      delivery.events = emptyEventTable();
    },
    onProgress: progress.update,
  });
}

/** The console line on a training window, or "" when every training listen was used. */
export function trainingWindowLine(run: TrainingRun): string {
  const w = run.trainingWindow;
  if (w === null) return "";
  return (
    `fitted on the most recent ${w.used.toLocaleString("en-US")} of the training period's ${w.listens.toLocaleString("en-US")} listens ` +
    `(from ${new Date(w.fromMs).toISOString()}; --max-training-rows, 0 = all); the feature state learned from every event\n`
  );
}
