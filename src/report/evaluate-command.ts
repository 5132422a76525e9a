// `skipwise evaluate`: the honest protocol end to end (time split, point-in-time features, every model and
// baseline) rendered as report.html + metrics.json, with the reference's leaky protocol shown beside it.

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../base/atomic-write.ts";
import { isoTime } from "../base/format.ts";
import { type StageProgress, stageProgress } from "../base/progress.ts";
import type { Delivery } from "../data/index.ts";
import type { EventTable } from "../data/types.ts";
import type { ModelExtras } from "../models/types.ts";
import { permutationImportance } from "../train/importance.ts";
import { correlationMatrix } from "../train/metrics.ts";
import type { TrainingRun } from "../train/pipeline.ts";
import { testPeriodOutcomes } from "../train/policy-choice.ts";
import type { ReferenceResult } from "../train/reference-protocol.ts";
import { selectRows, selectValues } from "../train/split.ts";
import {
  loadDeliveryWithProgress,
  referenceProtocol,
  saveTrainingBundle,
  type TrainingFlags,
  trainWithFlags,
} from "../train/train-command.ts";
import {
  buildEvaluationReport,
  type EvaluatedModel,
  type EvaluationInput,
  type EvaluationMetrics,
} from "./evaluation.ts";

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

function partRange(startMs: Float64Array, rows: Int32Array): { from: string; to: string } {
  return { from: isoTime(startMs[rows[0]]), to: isoTime(startMs[rows[rows.length - 1]]) };
}

export function evaluationInput(
  run: TrainingRun,
  delivery: Delivery,
  reference: ReferenceResult | null,
  onProgress?: (stage: string, done: number, total: number) => void,
): EvaluationInput {
  const { dataset, split } = run;
  const yTest = selectValues(dataset.y, split.test);
  const Xtest = selectRows(dataset.X, split.test);
  const names = dataset.featureNames;
  const models: EvaluatedModel[] = run.fitted.map((f) => {
    const thresholds = f.threshold === 0.5 ? [0.5] : [f.threshold, 0.5];
    const evaluated: EvaluatedModel = { name: f.name, role: f.role, y: yTest, p: f.testP, thresholds };
    if (f.role === "model") {
      evaluated.permutationImportance = permutationImportance(f.model, Xtest, yTest, {
        featureNames: names,
        repeats: 3,
        maxRows: 5000,
        onProgress: (d, t) => onProgress?.(`importance ${f.name}`, d, t),
      });
    }
    const gain = (f.model as ModelExtras).featureImportance?.();
    if (gain) evaluated.splitGainImportance = { names, gain };
    return evaluated;
  });
  const best = run.fitted.find((f) => f.name === run.best);
  const extraRows = reference
    ? {
        title: "The reference project's protocol (leaky)",
        note: "The reference computed user and track skip rates over all rows, including the rows it then predicted, and validated on 1000 random rows. Its LinearSVC accuracy under that protocol is shown here; it is not comparable to the honest numbers above.",
        rows: [
          {
            name: "svm (reference features)",
            protocol: "random 1000 rows, leaky rates",
            accuracy: reference.accuracy,
            rocAuc: reference.rocAuc,
            note: `${reference.rows} (session, track) rows; A/B rows accuracy ${reference.abAccuracy.toFixed(3)}${reference.sampledTrainRows === undefined ? "" : `; fitted on a seeded sample of ${reference.sampledTrainRows.toLocaleString("en-US")} of its ${reference.split.train.toLocaleString("en-US")} training rows (REFERENCE_MAX_TRAIN_ROWS: the figure is an accuracy on 1000 rows)`}`,
          },
        ],
      }
    : undefined;
  return {
    title: `Skip prediction evaluation — ${delivery.dir}`,
    dataset: {
      delivery: delivery.dir,
      protocol:
        "time split: first 70 % of listens by time = train, next 10 % = validation (early stopping, thresholds), last 20 % = test",
      rowCounts: { train: split.train.length, validation: split.validation.length, test: split.test.length },
      timeRanges: {
        train: partRange(dataset.startMs, split.train),
        validation: partRange(dataset.startMs, split.validation),
        test: partRange(dataset.startMs, split.test),
      },
      notes: [
        "Every feature vector uses only listens that started before it (point-in-time replay).",
        `Thresholds minimise the total cost on the validation part under the cost model: ${run.costModel.wastePerMb} per wasted MB (prefetched, skipped: the audio after the skip point) and ${run.costModel.stall} per stall (not prefetched, played out), audio at ${run.costModel.bitrateKbps} kbit/s.`,
        "The prefetch policy (the verdict) is chosen on the validation part from the scores of models fitted on the training part only; the test part only reports.",
      ],
    },
    models,
    featureNames: names,
    correlation: correlationMatrix(selectRows(dataset.X, split.train), { maxRows: 50_000 }),
    cost: best?.choice ? { model: best.name, choice: best.choice, costModel: run.costModel } : undefined,
    policy: { choice: run.policy, ...testPeriodOutcomes(run, delivery.catalog) },
    verdictOptions: { model: run.best },
    extraRows,
    generatedAt: new Date().toISOString(),
    onProgress,
  };
}

/**
 * Loads the delivery, runs the reference protocol, then trains. The reference protocol goes first so its
 * own listens and rows are freed before the feature matrix exists, and the delivery comes back without
 * its events (the report needs the catalogue and the folder only): on a production delivery each costs
 * some hundreds of MB at the peak.
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
  return { delivery: { ...delivery, events: emptyEvents() }, run, reference };
}

function emptyEvents(): EventTable {
  return {
    length: 0,
    timestampMs: new Float64Array(0),
    userId: new Int32Array(0),
    sessionId: new Int32Array(0),
    trackIndex: new Int32Array(0),
    kind: new Uint8Array(0),
    line: new Int32Array(0),
  };
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
    if (options.bundleOut) {
      progress.update("save bundle", 0, 1);
      saveTrainingBundle(resolve(options.bundleOut), run, delivery);
    }
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
