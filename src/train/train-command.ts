// `skipwise train`: delivery → listens → time-split training → bundle (models, feature state, thresholds,
// metrics). `--protocol seed` instead reruns the reference project's leaky protocol for comparison.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Delivery, loadDelivery } from "../data/index.ts";
import { buildListens } from "../listens/index.ts";
import { dataFingerprint, saveBundle } from "../models/bundle.ts";
import type { SkipModel } from "../models/index.ts";
import { rocAuc } from "./metrics.ts";
import { DEFAULT_COSTS, type ModelName, parseModelNames, type TrainingRun, trainModels } from "./pipeline.ts";
import { stageProgress } from "./progress.ts";
import {
  buildReferenceDataset,
  exportReferenceCsv,
  type ReferenceResult,
  runReferenceProtocol,
} from "./reference-protocol.ts";
import { selectValues } from "./split.ts";

export interface TrainCommandOptions {
  data: string;
  out: string;
  models?: string;
  protocol?: "time" | "seed";
  costWaste?: number;
  costStall?: number;
  exportCsv?: string;
  stdout?: NodeJS.WritableStream;
}

export function deliveryFiles(delivery: Delivery): string[] {
  return Object.values(delivery.quality.files)
    .filter((f): f is NonNullable<typeof f> => f != null)
    .map((f) => f.path);
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : "";
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
    metrics: {
      test: testSummary(run),
      costs: run.costs,
      rows: {
        train: run.split.train.length,
        validation: run.split.validation.length,
        test: run.split.test.length,
      },
      testStart: iso(run.split.testStartMs),
    },
    dataFingerprint: dataFingerprint(deliveryFiles(delivery)),
    // The state covers listens before the test period, so replaying the test period stays honest.
    timeRange: { start: iso(startMs[0]), end: iso(run.split.testStartMs) },
    notes: [
      `delivery ${delivery.dir}`,
      "feature state and models cover the listens before the test period; the test period is left for evaluation, A/B replay and the cache simulation",
    ],
    featureState: run.stateAtTestStart.snapshot(),
  });
}

export function referenceProtocol(delivery: Delivery, exportCsv?: string): ReferenceResult {
  const listens = buildListens(delivery.events, delivery.catalog, { rule: "reference" });
  const dataset = buildReferenceDataset(listens, delivery.catalog);
  if (exportCsv) {
    mkdirSync(exportCsv, { recursive: true });
    exportReferenceCsv(exportCsv, dataset);
  }
  return runReferenceProtocol(dataset);
}

export async function runTrainCommand(options: TrainCommandOptions): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const progress = stageProgress();
  try {
    const delivery = await loadDelivery(resolve(options.data), {
      onProgress: (read, total) => progress.update("ingest", Math.round(read / 1e6), Math.round(total / 1e6)),
    });
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
    const listens = buildListens(delivery.events, delivery.catalog);
    const models: ModelName[] | undefined = options.models ? parseModelNames(options.models) : undefined;
    const run = trainModels(listens, delivery.catalog, {
      models,
      costs: {
        costWaste: options.costWaste ?? DEFAULT_COSTS.costWaste,
        costStall: options.costStall ?? DEFAULT_COSTS.costStall,
      },
      onProgress: progress.update,
    });
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
        `default model: ${run.best}\nbundle: ${out} (manifest ${join(out, "manifest.json")})\n`,
    );
  } finally {
    progress.stop();
  }
}
