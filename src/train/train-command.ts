// `skipwise train`: delivery → listens → time-split training → bundle (models, feature state, thresholds,
// metrics). `--protocol seed` instead reruns the reference project's leaky protocol for comparison.

import { join, resolve } from "node:path";
import { stageProgress } from "../base/progress.ts";
import { loadDeliveryWithProgress } from "../data/index.ts";
import type { TrainingRun } from "./pipeline.ts";
import { fmtCost, fmtShare } from "./policy-choice.ts";
import { referenceProtocol } from "./reference-run.ts";
import { saveTrainingBundle, testSummary } from "./training-bundle.ts";
import { type TrainingFlags, trainingWindowLine, trainWithFlags } from "./training-flags.ts";

export interface TrainCommandOptions extends TrainingFlags {
  data: string;
  out: string;
  protocol?: "time" | "seed";
  exportCsv?: string;
  stdout?: NodeJS.WritableStream;
}

/** The console lines of the policy choice. */
function policyLines(run: TrainingRun): string[] {
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
        trainingWindowLine(run) +
        `${lines.join("\n")}\n` +
        `${policyLines(run).join("\n")}\n` +
        `default model: ${run.best}${run.policy.kind === "model" ? "" : " (scored and logged only: the policy decides)"}\nbundle: ${out} (manifest ${join(out, "manifest.json")})\n`,
    );
  } finally {
    progress.stop();
  }
}
