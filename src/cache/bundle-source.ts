// The models a cache simulation replays when they come from a bundle: its models at their served
// thresholds over the delivery's listens from the bundle's test start, the policy and cost model it
// recorded, and a check that the delivery is the one it was trained on.
import { type Delivery, deliveryFingerprint } from "../data/index.ts";
import { FEATURE_SCHEMA } from "../features/index.ts";
import type { CostFlags, CostModel } from "../listens/cost-model.ts";
import type { ListenTable } from "../listens/types.ts";
import { type BundleManifest, loadBundle, servedThreshold } from "../models/bundle.ts";
import { findModelEntry } from "../models/registry.ts";
import { buildDataset, type Dataset } from "../train/dataset.ts";
import { timeSplit } from "../train/split.ts";
import type { ThresholdedModel } from "./inputs.ts";
import type { RecommendedPolicy } from "./types.ts";

/**
 * Models whose decisions the simulator replays: not the majority predictor (a constant) nor the genre
 * rule (replayed as the genre-rule policy). Models under names outside the registry are replayed.
 */
export function isReplayedModel(name: string): boolean {
  const entry = findModelEntry(name);
  return entry === undefined || (entry.role !== "majority" && !entry.capabilities.genreRule);
}

/** Rows (in time order) starting at or after `fromMs`. */
function rowsFrom(startMs: Float64Array, fromMs: number): Int32Array {
  const rows: number[] = [];
  for (let i = 0; i < startMs.length; i++) if (startMs[i] >= fromMs) rows.push(i);
  return Int32Array.from(rows);
}

/**
 * The line to print when `delivery` may not be the one the bundle was trained on (its test period could
 * then overlap the training data), or null when the fingerprints match.
 */
export function provenanceWarning(dir: string, manifest: BundleManifest, delivery: Delivery): string | null {
  const trainedOn = manifest.trainedOn;
  if (!trainedOn) {
    return `note: bundle ${dir} does not record the delivery it was trained on (written before manifest.trainedOn), so it cannot be checked against ${delivery.dir}: make sure its test period was not trained on`;
  }
  const here = deliveryFingerprint(delivery.quality).fingerprint;
  if (here === trainedOn.fingerprint) return null;
  return (
    `warning: bundle ${dir} was not trained on ${delivery.dir} (delivery fingerprints differ: ` +
    `trained on ${trainedOn.fingerprint.slice(0, 19)}…, ${trainedOn.events.toLocaleString("en-US")} events from ${trainedOn.from} to ${trainedOn.to}; ` +
    `this delivery is ${here.slice(0, 19)}…): its test period may overlap its training data`
  );
}

export interface BundleSource {
  dataset: Dataset;
  rows: Int32Array;
  models: ThresholdedModel[];
  source: string;
  recommend: RecommendedPolicy;
  costModel: CostModel;
}

/** The bundle's models over `delivery`'s listens from its test start; `warn` gets the provenance line. */
export function fromBundle(
  dir: string,
  delivery: Delivery,
  listens: ListenTable,
  warn: (line: string) => void,
): BundleSource {
  const bundle = loadBundle(dir, { expectedSchema: FEATURE_SCHEMA });
  const { manifest } = bundle;
  const policy = manifest.policy;
  if (!policy) {
    throw new Error(
      `bundle ${dir} records no prefetch policy (it predates the validation-period choice): retrain it with skipwise train`,
    );
  }
  const warning = provenanceWarning(dir, manifest, delivery);
  if (warning !== null) warn(warning);
  const dataset = buildDataset(listens, delivery.catalog, { events: delivery.events });
  const recorded = Date.parse(String(manifest.metrics.testStart ?? ""));
  const fromMs = Number.isFinite(recorded) ? recorded : timeSplit(dataset.startMs).testStartMs;
  const rows = rowsFrom(dataset.startMs, fromMs);
  if (rows.length === 0) {
    throw new Error(
      `bundle ${dir}: its test period (from ${new Date(fromMs).toISOString()}) holds no listens of ${delivery.dir}`,
    );
  }
  const models = Object.entries(bundle.models)
    .filter(([name]) => isReplayedModel(name))
    .map(([name, model]) => ({
      name,
      model,
      threshold: servedThreshold(manifest, name),
    }));
  return {
    dataset,
    rows,
    models,
    recommend: {
      kind: policy.kind,
      model: policy.model,
      threshold: policy.threshold,
      reason: policy.reason,
    },
    costModel: policy.costModel,
    source: `${delivery.dir}, listens from ${new Date(fromMs).toISOString()}, models of bundle ${dir}`,
  };
}

/** With a bundle: its recorded cost model, refusing flags that say otherwise. */
export function bundleCostModel(recorded: CostModel, flags: CostFlags): CostModel {
  const given: Array<[string, number | undefined, number]> = [
    ["--cost-waste-per-mb", flags.costWastePerMb, recorded.wastePerMb],
    ["--cost-stall", flags.costStall, recorded.stall],
    ["--bitrate-kbps", flags.bitrateKbps, recorded.bitrateKbps],
  ];
  const differing = given.filter(([, flag, value]) => flag !== undefined && flag !== value);
  if (differing.length > 0) {
    throw new Error(
      `bundle chose its operating point for wastePerMb=${recorded.wastePerMb}, stall=${recorded.stall}, bitrateKbps=${recorded.bitrateKbps} ` +
        `(${differing.map(([name, flag]) => `${name} ${flag}`).join(", ")} given): retrain with these costs or leave the flags out`,
    );
  }
  return recorded;
}
