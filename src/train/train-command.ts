// `skipwise train`: delivery → listens → time-split training → bundle (models, feature state, thresholds,
// metrics). `--protocol seed` instead reruns the reference project's leaky protocol for comparison.

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { isoTime } from "../base/format.ts";
import { type StageProgress, stageProgress } from "../base/progress.ts";
import { type Delivery, loadDelivery } from "../data/index.ts";
import { type CostModel, DEFAULT_COST_MODEL } from "../listens/cost-model.ts";
import { buildListens } from "../listens/index.ts";
import { dataFingerprint, saveBundle } from "../models/bundle.ts";
import type { SkipModel } from "../models/index.ts";
import { rocAuc } from "./metrics.ts";
import { parseModelNames, type TrainingRun, trainModels } from "./pipeline.ts";
import { fmtCost, fmtShare } from "./policy-choice.ts";
import {
  boundedReferenceProtocol,
  buildReferenceDataset,
  exportReferenceCsv,
  type ReferenceResult,
  runReferenceProtocol,
} from "./reference-protocol.ts";
import { selectValues } from "./split.ts";

export interface TrainCommandOptions extends TrainingFlags {
  data: string;
  out: string;
  protocol?: "time" | "seed";
  exportCsv?: string;
  stdout?: NodeJS.WritableStream;
}

/** The command-line flags that choose what is trained and how decisions are priced (train, evaluate). */
export interface TrainingFlags {
  /** Comma-separated model names (default: all). */
  models?: string;
  costWastePerMb?: number;
  costStall?: number;
  bitrateKbps?: number;
}

/** The cost model of the command-line flags, each missing one taken from DEFAULT_COST_MODEL. */
export function costModelFromFlags(flags: TrainingFlags): CostModel {
  return {
    wastePerMb: flags.costWastePerMb ?? DEFAULT_COST_MODEL.wastePerMb,
    stall: flags.costStall ?? DEFAULT_COST_MODEL.stall,
    bitrateKbps: flags.bitrateKbps ?? DEFAULT_COST_MODEL.bitrateKbps,
  };
}

/** Loads the delivery of `--data`, its ingest shown by `progress` (the first step of train and evaluate). */
export function loadDeliveryWithProgress(data: string, progress: StageProgress): Promise<Delivery> {
  return loadDelivery(resolve(data), { onProgress: progress.megabytes("ingest") });
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

/** The policy in the manifest: what `cache simulate` and `skipwise serve` read back. */
export function manifestPolicy(run: TrainingRun) {
  const { policy } = run;
  return {
    kind: policy.kind,
    model: policy.model,
    threshold: policy.threshold,
    costModel: policy.costModel,
    reason: policy.reason,
    validation: {
      listens: policy.validation.listens,
      users: policy.validation.users,
      level: policy.validation.level,
      replicates: policy.validation.replicates,
      folds: policy.validation.folds,
      seed: policy.validation.seed,
      interval: policy.validation.interval,
      from: policy.validation.from,
      to: policy.validation.to,
      candidates: policy.validation.candidates.map((c) => ({
        name: c.name,
        kind: c.kind,
        model: c.model,
        threshold: c.threshold,
        estimate: c.estimate,
        saving: c.saving,
        share: c.share,
        ciLower: c.ciLower,
        ciUpper: c.ciUpper,
        listens: c.listens,
        users: c.users,
        passes: c.passes,
      })),
    },
  };
}

/** The console lines of the policy choice. */
export function policyLines(run: TrainingRun): string[] {
  const { policy } = run;
  const head =
    policy.kind === "model"
      ? `recommended policy: ${policy.model} @ ${Number((policy.threshold ?? 0).toFixed(3))} (prefetch when P(skip) is below it)`
      : policy.kind === "cache-all"
        ? "recommended policy: cache everything (prefetch every track)"
        : "recommended policy: cache nothing (stream every track)";
  return [
    head,
    `  ${policy.reason}`,
    "  validation net saving over cache everything (bootstrap over users):",
    ...policy.validation.candidates.map(
      (c) =>
        `    ${c.name.padEnd(18)} ${fmtCost(c.saving).padStart(10)}  share ${fmtShare(c.share).padStart(8)}  ` +
        `95 % CI ${fmtCost(c.ciLower)} to ${fmtCost(c.ciUpper)}${c.estimate === "cross-fitted" ? " (threshold cross-fitted)" : ""}`,
    ),
  ];
}

export function deliveryFiles(delivery: Delivery): string[] {
  return Object.values(delivery.quality.files)
    .filter((f): f is NonNullable<typeof f> => f != null)
    .map((f) => f.path);
}

/** Test-period metrics of every fitted model, for the manifest and the console summary. */
export function testSummary(
  run: TrainingRun,
): Record<string, { rocAuc: number; threshold: number; validationAuc: number }> {
  const y = selectValues(run.dataset.y, run.split.test);
  const out: Record<string, { rocAuc: number; threshold: number; validationAuc: number }> = {};
  for (const f of run.fitted) {
    out[f.name] = { rocAuc: rocAuc(y, f.testP), threshold: f.threshold, validationAuc: f.validationAuc };
  }
  return out;
}

export function saveTrainingBundle(dir: string, run: TrainingRun, delivery: Delivery): void {
  const models: Record<string, SkipModel> = {};
  const thresholds: Record<string, number> = {};
  for (const f of run.fitted) {
    models[f.name] = f.model;
    thresholds[f.name] = f.threshold;
  }
  const best = run.fitted.find((f) => f.name === run.best);
  const { startMs } = run.dataset;
  saveBundle(dir, {
    featureSchema: { version: run.dataset.schemaVersion, names: run.dataset.featureNames },
    models,
    defaultModel: run.best,
    threshold: best?.threshold ?? 0.5,
    thresholds,
    policy: manifestPolicy(run),
    metrics: {
      test: testSummary(run),
      costModel: run.costModel,
      rows: {
        train: run.split.train.length,
        validation: run.split.validation.length,
        test: run.split.test.length,
      },
      testStart: isoTime(run.split.testStartMs),
    },
    dataFingerprint: dataFingerprint(deliveryFiles(delivery)),
    // The state covers listens before the test period, so replaying the test period stays honest.
    timeRange: { start: isoTime(startMs[0]), end: isoTime(run.split.testStartMs) },
    notes: [
      `delivery ${delivery.dir}`,
      "feature state and models cover the listens before the test period; the test period is left for evaluation, A/B replay and the cache simulation",
    ],
    featureState: run.snapshotAtTestStart,
  });
}

export function referenceProtocol(
  delivery: Delivery,
  exportCsv?: string,
  onProgress?: (done: number, total: number) => void,
): ReferenceResult {
  const listens = buildListens(delivery.events, delivery.catalog, { rule: "reference" });
  if (!exportCsv)
    return boundedReferenceProtocol(listens, delivery.catalog, undefined, undefined, onProgress);
  // The reference's CSV files hold every row: the full dataset, and the protocol on all of it.
  const dataset = buildReferenceDataset(listens, delivery.catalog);
  mkdirSync(exportCsv, { recursive: true });
  exportReferenceCsv(exportCsv, dataset);
  return runReferenceProtocol(dataset);
}

export async function runTrainCommand(options: TrainCommandOptions): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const progress = stageProgress();
  try {
    const delivery = await loadDeliveryWithProgress(options.data, progress);
    if ((options.protocol ?? "time") === "seed") {
      progress.update("reference protocol", 0, 1);
      const result = referenceProtocol(delivery, options.exportCsv);
      progress.stop();
      stdout.write(
        `reference protocol (leaky rates, random 1000/1000 rows, seed 42) on ${delivery.dir}:\n` +
          `  LinearSVC accuracy ${result.accuracy.toFixed(3)} on ${result.split.validation} validation rows, ` +
          `${result.abAccuracy.toFixed(3)} on ${result.split.ab} A/B rows (ROC AUC ${result.rocAuc.toFixed(3)})\n` +
          "  These numbers are inflated: user and track skip rates include the rows being predicted.\n" +
          (options.exportCsv ? `  CSV files written to ${resolve(options.exportCsv)}\n` : ""),
      );
      return;
    }
    const run = trainWithFlags(delivery, options, progress);
    progress.update("save bundle", 0, 1);
    const out = resolve(options.out);
    saveTrainingBundle(out, run, delivery);
    progress.stop();
    const summary = testSummary(run);
    const lines = Object.entries(summary).map(
      ([name, s]) =>
        `  ${name.padEnd(9)} test ROC AUC ${s.rocAuc.toFixed(3)}  (validation ${s.validationAuc.toFixed(3)}, threshold ${s.threshold.toFixed(3)})`,
    );
    stdout.write(
      `trained on ${run.split.train.length} listens, validated on ${run.split.validation.length}, tested on ${run.split.test.length} (split by time)\n` +
        `${lines.join("\n")}\n` +
        `${policyLines(run).join("\n")}\n` +
        `default model: ${run.best}${run.policy.kind === "model" ? "" : " (scored and logged only: the policy decides)"}\nbundle: ${out} (manifest ${join(out, "manifest.json")})\n`,
    );
  } finally {
    progress.stop();
  }
}
