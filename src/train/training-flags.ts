// The command-line flags that choose what is trained and how decisions are priced (`skipwise train`,
// `skipwise evaluate`), and the honest training run they ask for.
import type { StageProgress } from "../base/progress.ts";
import type { Delivery } from "../data/index.ts";
import { type CostFlags, costModelFromFlags } from "../listens/cost-model.ts";
import { buildListens } from "../listens/index.ts";
import { parseModelNames } from "../models/registry.ts";
import { type TrainingRun, trainModels } from "./pipeline.ts";

export interface TrainingFlags extends CostFlags {
  /** Comma-separated model names of the registry (default: all). */
  models?: string;
}

/** The honest protocol on the delivery's listens, with the flags' models and cost model. */
export function trainWithFlags(
  delivery: Delivery,
  flags: TrainingFlags,
  progress: StageProgress,
): TrainingRun {
  const listens = buildListens(delivery.events, delivery.catalog);
  return trainModels(listens, delivery.catalog, {
    events: delivery.events,
    models: flags.models ? parseModelNames(flags.models) : undefined,
    costModel: costModelFromFlags(flags),
    onProgress: progress.update,
  });
}
