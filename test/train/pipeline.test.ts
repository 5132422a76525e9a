// The honest protocol end to end on the real deliveries: time split, point-in-time features, every model,
// validation-chosen thresholds, refit, and the state a server replaying the test period starts from.
import { describe, expect, it } from "vitest";
import { loadDelivery } from "../../src/data/index.ts";
import { FeatureState } from "../../src/features/index.ts";
import { DEFAULT_COST_MODEL } from "../../src/listens/cost-model.ts";
import { buildListens } from "../../src/listens/index.ts";
import { MODEL_NAMES, type ModelName, parseModelNames } from "../../src/models/registry.ts";
import { computeVerdict } from "../../src/report/evaluation.ts";
import { buildDataset } from "../../src/train/dataset.ts";
import { rocAuc, rocAucCi } from "../../src/train/metrics.ts";
import { trainModels } from "../../src/train/pipeline.ts";
import { selectValues } from "../../src/train/split.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

describe("trainModels on 2023L-v2 (skips follow the listener and the session)", async () => {
  const { catalog, events } = await loadDelivery(sharedDelivery("2023L-v2"));
  const listens = buildListens(events, catalog);
  const run = trainModels(listens, catalog, { events });
  const yTest = selectValues(run.dataset.y, run.split.test);
  const byName = new Map(run.fitted.map((f) => [f.name, f]));

  it("fits every model and baseline, tested on the last 20 % of listens by time", () => {
    expect(run.fitted.map((f) => f.name)).toEqual([...MODEL_NAMES]);
    expect(run.split.test.length).toBe(2_046);
    const firstTest = run.dataset.startMs[run.split.test[0]];
    for (const i of run.split.train) expect(run.dataset.startMs[i]).toBeLessThan(firstTest);
  });

  // 0.772 before features were restricted to what the event stream has decided (src/listens/live.ts):
  // other users' outcomes are no longer seen before they happen; 0.768 since.
  it("the tree model reaches ROC AUC >= 0.76 on the test period (the reference reached 0.772)", () => {
    const gbdt = byName.get("gbdt");
    expect(gbdt).toBeDefined();
    expect(rocAuc(yTest, gbdt?.testP as Float64Array)).toBeGreaterThanOrEqual(0.76);
    expect(run.best === "gbdt" || run.best === "logistic" || run.best === "svm").toBe(true);
  });

  it("learners beat the reference's naive genre rule and the majority baseline", () => {
    const naive = rocAuc(yTest, byName.get("naive")?.testP as Float64Array);
    expect(naive).toBeLessThan(0.55);
    for (const name of ["logistic", "svm", "gbdt"] as const) {
      const ci = rocAucCi(yTest, byName.get(name)?.testP as Float64Array);
      expect(ci.lower).toBeGreaterThan(0.7);
    }
  });

  it("chooses thresholds on the validation part only for learners, 0.5 for the rules", () => {
    expect(byName.get("naive")?.threshold).toBe(0.5);
    expect(byName.get("majority")?.choice).toBeNull();
    const gbdt = byName.get("gbdt");
    expect(gbdt?.choice?.rows).toBe(run.split.validation.length);
    expect(gbdt?.threshold).toBe(gbdt?.choice?.chosen.threshold);
  });

  it("the served state has observed the listens decided before the test period, and no later one", () => {
    // Listens still playing when the test period starts (at most one per open session) are decided later.
    const before = run.split.train.length + run.split.validation.length;
    const stateAtTestStart = FeatureState.restore(catalog, run.snapshotAtTestStart);
    expect(stateAtTestStart.observed).toBeLessThanOrEqual(before);
    expect(stateAtTestStart.observed).toBeGreaterThan(before - 50);
  });

  it("chooses one policy on the validation period: a model, served at its one threshold", () => {
    const { policy } = run;
    expect(policy.kind).toBe("model");
    expect(policy.model).not.toBeNull();
    expect(run.best).toBe(policy.model);
    expect(policy.threshold).toBe(byName.get(policy.model as ModelName)?.threshold);
    expect(policy.costModel).toEqual(DEFAULT_COST_MODEL);
    const table = policy.validation.candidates;
    expect(table.map((c) => c.kind)).toEqual([
      "cache-all",
      "cache-nothing",
      "model",
      "model",
      "model",
      "rule",
      "rule",
    ]);
    expect(table.every((c) => c.listens === run.split.validation.length)).toBe(true);
    const chosen = table.find((c) => c.model === policy.model);
    expect(chosen?.estimate).toBe("cross-fitted");
    expect(chosen?.ciLower).toBeGreaterThan(0);
    // The naive genre rule breaks most full plays.
    expect(table.find((c) => c.model === "naive")?.share).toBeLessThan(0);
  });

  it("the verdict finds usable signal", () => {
    const verdict = computeVerdict(
      run.fitted.map((f) => ({
        name: f.name,
        role: f.role,
        y: yTest,
        p: f.testP,
        thresholds: [f.threshold],
      })),
    );
    expect(verdict.usableSignal).toBe(true);
  });
});

describe("trainModels on 2023Z-v2 (skips close to coin flips)", async () => {
  const { catalog, events } = await loadDelivery(sharedDelivery("2023Z-v2"));
  const run = trainModels(buildListens(events, catalog), catalog, {
    events,
    models: ["majority", "logistic", "gbdt"],
  });
  const yTest = selectValues(run.dataset.y, run.split.test);

  it("says plainly that there is no usable signal", () => {
    const verdict = computeVerdict(
      run.fitted.map((f) => ({ name: f.name, role: f.role, y: yTest, p: f.testP, thresholds: [0.5] })),
    );
    expect(verdict.usableSignal).toBe(false);
    expect(verdict.headline).toMatch(/^No usable signal/);
    expect(verdict.rocAuc).toBeLessThan(0.56);
  });

  it("recommends caching everything: no model saves more than that on the validation period", () => {
    expect(run.policy.kind).toBe("cache-all");
    expect(run.policy.model).toBeNull();
    expect(run.policy.reason).toMatch(
      /^no model saves more than caching everything on the validation period/,
    );
    // The served default model is then the best learner by validation AUC, kept for shadow scoring only:
    // recomputed here from the validation labels and each learner's validation scores.
    const yValidation = selectValues(run.dataset.y, run.split.validation);
    const aucs = run.fitted
      .filter((f) => f.role === "model")
      .map((f) => ({ name: f.name, auc: rocAuc(yValidation, f.validationP) }))
      .sort((a, b) => b.auc - a.auc);
    expect(aucs.map((a) => a.name).sort()).toEqual(["gbdt", "logistic"]);
    expect(aucs[0].auc).toBeGreaterThan(aucs[1].auc);
    expect(run.best).toBe(aucs[0].name);
  });
});

// A training window bounds the rows (and so the memory and fit time) by --max-training-rows, not by the
// delivery: the models see only the most recent training listens, everything else is unchanged.
describe("trainModels with a training window (2023L-v2)", async () => {
  const { catalog, events } = await loadDelivery(sharedDelivery("2023L-v2"));
  const listens = buildListens(events, catalog);
  let released = 0;
  const windowed = trainModels(listens, catalog, {
    events,
    models: ["logistic"],
    maxTrainingRows: 2_000,
    onFeaturesBuilt: () => released++,
  });
  const whole = trainModels(listens, catalog, { events, models: ["logistic"] });
  const full = buildDataset(listens, catalog, { events });

  it("fits on the most recent rows of the training part; validation and test are the same listens", () => {
    expect(whole.trainingWindow).toBeNull();
    expect(windowed.trainingWindow).toEqual({
      listens: whole.split.train.length,
      used: 2_000,
      fromMs: whole.dataset.startMs[whole.split.train.length - 2_000],
    });
    expect(windowed.split.train.length).toBe(2_000);
    const first = windowed.dataset.firstListen;
    expect(first).toBe(whole.split.train.length - 2_000);
    expect(windowed.dataset.X.rows).toBe(listens.length - first);
    for (const part of ["validation", "test"] as const) {
      expect([...windowed.split[part]].map((r) => r + first)).toEqual([...whole.split[part]]);
      expect([...windowed.fitted[0].testP]).toHaveLength(whole.split.test.length);
    }
    expect(windowed.split.testStartMs).toBe(whole.split.testStartMs);
  });

  it("the rows it keeps are the full build's, bit for bit, and so is the served state", () => {
    const first = windowed.dataset.firstListen;
    const cols = full.X.cols;
    const kept = full.X.data.subarray(first * cols);
    expect(
      Buffer.compare(
        Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength),
        Buffer.from(windowed.dataset.X.data.buffer),
      ),
    ).toBe(0);
    expect([...windowed.dataset.y]).toEqual([...full.y.subarray(first)]);
    expect(windowed.snapshotAtTestStart.equals(whole.snapshotAtTestStart)).toBe(true);
  });

  it("tells the caller once when the events may be freed, and keeps their count", () => {
    expect(released).toBe(1);
    expect(windowed.dataset.eventCount).toBe(events.length);
  });

  it("refuses a negative or fractional window", () => {
    expect(() => trainModels(listens, catalog, { events, models: ["naive"], maxTrainingRows: -1 })).toThrow(
      /maxTrainingRows must be a whole number/,
    );
    expect(() => trainModels(listens, catalog, { events, models: ["naive"], maxTrainingRows: 1.5 })).toThrow(
      /maxTrainingRows/,
    );
  });
});

describe("parseModelNames", () => {
  it("accepts a subset and rejects unknown names with the list of known ones", () => {
    expect(parseModelNames("gbdt, logistic")).toEqual(["gbdt", "logistic"]);
    expect(() => parseModelNames("gbdt,forest")).toThrow(/unknown model "forest" \(known: naive, majority/);
  });
});

describe("trainModels on bad input", () => {
  it("refuses an empty listen table with a clear message", async () => {
    const { catalog, events } = await loadDelivery(sharedDelivery("2023L-v2"));
    const listens = buildListens(events, catalog);
    const empty = { ...listens, length: 0 };
    expect(() => trainModels(empty, catalog)).toThrow(/no listens to train on/);
  });
});
