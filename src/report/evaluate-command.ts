// `skipwise evaluate`: the honest protocol end to end (time split, point-in-time features, every model and
// baseline) rendered as report.html + metrics.json, with the reference's leaky protocol shown beside it.

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../base/atomic-write.ts";
import { type StageProgress, stageProgress } from "../base/progress.ts";
import { type Delivery, loadDeliveryWithProgress } from "../data/index.ts";
import type { TrainingRun } from "../train/pipeline.ts";
import type { ReferenceResult } from "../train/reference-protocol.ts";
import { referenceProtocol } from "../train/reference-run.ts";
import { saveTrainingBundle } from "../train/training-bundle.ts";
import { type TrainingFlags, trainWithFlags } from "../train/training-flags.ts";
import { buildEvaluationReport, type EvaluationMetrics } from "./evaluation.ts";
import { evaluationInput } from "./evaluation-input.ts";

/** Cost model flags: each missing one takes DEFAULT_COST_MODEL's value. */
export interface EvaluateCommandOptions extends TrainingFlags {
  data: string;
  out: string;
  /** Also write the trained bundle here. */
  bundleOut?: string;
  /** Skip the reference-protocol comparison row. */
  reference?: boolean;
  stdout?: NodeJS.WritableStream;
}

/**
 * Loads the delivery, runs the reference protocol, trains, and saves the bundle when asked. The reference
 * protocol goes first so its own listens and rows are freed before the feature matrix exists, and training
 * drops the delivery's events once its rows are built (the report needs the catalogue and the folder only;
 * the run keeps the event count for the bundle): on a production delivery each costs some hundreds of MB
 * at the peak.
 */
async function loadAndTrain(
  options: EvaluateCommandOptions,
  progress: StageProgress,
): Promise<{ delivery: Delivery; run: TrainingRun; reference: ReferenceResult | null }> {
  const delivery = await loadDeliveryWithProgress(options.data, progress);
  let reference: ReferenceResult | null = null;
  if (options.reference !== false) {
    progress.update("reference protocol", 0, 2);
    try {
      reference = referenceProtocol(delivery, undefined, (d, t) =>
        progress.update("reference protocol", d, t),
      );
    } catch {
      reference = null; // too few rows for its 1000 + 1000 hold-outs: nothing to compare
    }
  }
  const run = trainWithFlags(delivery, options, progress);
  if (options.bundleOut) {
    progress.update("save bundle", 0, 1);
    saveTrainingBundle(resolve(options.bundleOut), run, delivery);
  }
  return { delivery, run, reference };
}

export async function runEvaluateCommand(options: EvaluateCommandOptions): Promise<EvaluationMetrics> {
  const stdout = options.stdout ?? process.stdout;
  const progress = stageProgress();
  try {
    const { delivery, run, reference } = await loadAndTrain(options, progress);
    const input = evaluationInput(run, delivery, reference, progress.update);
    const report = await buildEvaluationReport(input);
    const out = resolve(options.out);
    mkdirSync(out, { recursive: true });
    await writeFileAtomic(join(out, "report.html"), report.html);
    await writeFileAtomic(join(out, "metrics.json"), report.metricsJson);
    progress.stop();
    const v = report.metrics.verdict;
    stdout.write(
      `${v.headline}\n` +
        `report: ${join(out, "report.html")}\nmetrics: ${join(out, "metrics.json")}\n` +
        (reference
          ? `reference protocol (leaky) LinearSVC accuracy ${reference.accuracy.toFixed(3)} vs honest ${v.bestModel} accuracy ${v.accuracy.toFixed(3)}\n`
          : "") +
        (options.bundleOut ? `bundle: ${resolve(options.bundleOut)}\n` : ""),
    );
    return report.metrics;
  } finally {
    progress.stop();
  }
}
