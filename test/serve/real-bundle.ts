// Real bundles for the service tests: a real delivery, the real listens and dataset builders, real fitted
// models, written with the real saveBundle (the bundle records its delivery so `skipwise serve` finds
// the catalogue).
import { type Delivery, loadDelivery } from "../../src/data/index.ts";
import { FEATURE_SCHEMA } from "../../src/features/index.ts";
import { buildListens } from "../../src/listens/index.ts";
import { saveBundle } from "../../src/models/bundle.ts";
import { GradientBoostedTrees, LogisticRegression, NaiveGenreModel } from "../../src/models/index.ts";
import type { Model } from "../../src/models/types.ts";
import { buildDataset } from "../../src/train/dataset.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

const deliveries = new Map<string, Promise<Delivery>>();

export function delivery(dir: string): Promise<Delivery> {
  let loaded = deliveries.get(dir);
  if (!loaded) {
    loaded = loadDelivery(dir);
    deliveries.set(dir, loaded);
  }
  return loaded;
}

export const REAL_DELIVERY = sharedDelivery("2023L-v2");

export interface RealBundleOptions {
  /** Trees of the GBDT; different values give different bundles. */
  trees?: number;
  /** Leaves per GBDT tree (default 15). */
  leaves?: number;
  /** Models to include (default naive, logistic, gbdt). */
  models?: ("naive" | "logistic" | "gbdt")[];
  threshold?: number;
}

/** Trains on the real 2023L-v2 delivery and saves a bundle at `dir`. */
export async function trainRealBundle(dir: string, options: RealBundleOptions = {}): Promise<void> {
  const { catalog, events } = await delivery(REAL_DELIVERY);
  const listens = buildListens(events, catalog);
  const dataset = buildDataset(listens, catalog);
  const fitOptions = { featureNames: FEATURE_SCHEMA.names };
  const wanted = options.models ?? ["naive", "logistic", "gbdt"];
  const models: Record<string, Model> = {};
  if (wanted.includes("naive")) models.naive = new NaiveGenreModel().fit(dataset.X, dataset.y, fitOptions);
  if (wanted.includes("logistic")) {
    models.logistic = new LogisticRegression({ maxIter: 100 }).fit(dataset.X, dataset.y, fitOptions);
  }
  if (wanted.includes("gbdt")) {
    models.gbdt = new GradientBoostedTrees({
      nEstimators: options.trees ?? 20,
      maxLeaves: options.leaves ?? 15,
      earlyStoppingRounds: 0,
    }).fit(dataset.X, dataset.y, fitOptions);
  }
  const defaultModel = wanted.includes("gbdt") ? "gbdt" : wanted[wanted.length - 1];
  saveBundle(dir, {
    featureSchema: FEATURE_SCHEMA,
    models,
    defaultModel,
    threshold: options.threshold ?? 0.5,
    thresholds: { naive: 0.5, logistic: 0.45 },
    metrics: { trainRows: dataset.X.rows },
    featureState: dataset.state.snapshot(),
  });
}
