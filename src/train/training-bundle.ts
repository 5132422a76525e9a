// A training run as a bundle: its models and thresholds, the policy chosen on the validation period, the
// test-period metrics, the feature state at the test start, and what it was trained on (content-addressed).
import { isoTime } from "../base/format.ts";
import { type Delivery, deliveryFingerprint } from "../data/index.ts";
import { saveBundle, type TrainedOn } from "../models/bundle.ts";
import type { SkipModel } from "../models/index.ts";
import { rocAuc } from "./metrics.ts";
import type { TrainingRun } from "./pipeline.ts";
import { selectValues } from "./split.ts";

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

/**
 * The manifest's `trainedOn`: the delivery's fingerprint and files (the sha256 the loader computed while
 * reading them), its event count, the run's listen count and the time the events span.
 */
export function trainedOnOf(delivery: Delivery, run: TrainingRun): TrainedOn {
  const range = delivery.quality.timeRange;
  return {
    ...deliveryFingerprint(delivery.quality),
    events: run.dataset.eventCount,
    // Every listen the delivery gave, also those before a training window (they taught the state).
    listens: run.dataset.firstListen + run.dataset.y.length,
    from: range?.first ?? "",
    to: range?.last ?? "",
  };
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
    trainedOn: trainedOnOf(delivery, run),
    // The state covers listens before the test period, so replaying the test period stays honest.
    timeRange: { start: isoTime(startMs[0]), end: isoTime(run.split.testStartMs) },
    notes: [
      "feature state and models cover the listens before the test period; the test period is left for evaluation, A/B replay and the cache simulation",
    ],
    featureState: run.snapshotAtTestStart,
  });
}
