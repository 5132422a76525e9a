// What `skipwise evaluate` renders: a training run's test-period scores, importances, correlation, cost
// choice and policy outcomes, with the reference protocol's row beside them (EvaluationInput).
import { isoTime } from "../base/format.ts";
import type { Delivery } from "../data/index.ts";
import type { ModelExtras } from "../models/types.ts";
import { permutationImportance } from "../train/importance.ts";
import { correlationMatrix } from "../train/metrics.ts";
import type { TrainingRun } from "../train/pipeline.ts";
import { testPeriodOutcomes } from "../train/policy-choice.ts";
import type { ReferenceResult } from "../train/reference-protocol.ts";
import { rowsOf, selectValues } from "../train/split.ts";
import type { EvaluatedModel, EvaluationInput } from "./evaluation.ts";

function partRange(startMs: Float64Array, rows: Int32Array): { from: string; to: string } {
  return { from: isoTime(startMs[rows[0]]), to: isoTime(startMs[rows[rows.length - 1]]) };
}

/** The report of a training run on `delivery`, `reference` giving the leaky protocol's row (or none). */
export function evaluationInput(
  run: TrainingRun,
  delivery: Delivery,
  reference: ReferenceResult | null,
  onProgress?: (stage: string, done: number, total: number) => void,
): EvaluationInput {
  const { dataset, split } = run;
  const yTest = selectValues(dataset.y, split.test);
  const Xtest = rowsOf(dataset.X, split.test);
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
        ...(run.trainingWindow === null
          ? []
          : [
              `Models were fitted on the most recent ${run.trainingWindow.used.toLocaleString("en-US")} of the training period's ${run.trainingWindow.listens.toLocaleString("en-US")} listens (from ${new Date(run.trainingWindow.fromMs).toISOString()}; --max-training-rows, 0 = all); the feature state learned from every event before them.`,
            ]),
        `Thresholds minimise the total cost on the validation part under the cost model: ${run.costModel.wastePerMb} per wasted MB (prefetched, skipped: the audio after the skip point) and ${run.costModel.stall} per stall (not prefetched, played out), audio at ${run.costModel.bitrateKbps} kbit/s.`,
        "The prefetch policy (the verdict) is chosen on the validation part from the scores of models fitted on the training part only; the test part only reports.",
      ],
    },
    models,
    featureNames: names,
    correlation: correlationMatrix(rowsOf(dataset.X, split.train), { maxRows: 50_000 }),
    cost: best?.choice ? { model: best.name, choice: best.choice, costModel: run.costModel } : undefined,
    policy: { choice: run.policy, ...testPeriodOutcomes(run, delivery.catalog) },
    verdictOptions: { model: run.best },
    extraRows,
    generatedAt: new Date().toISOString(),
    onProgress,
  };
}
