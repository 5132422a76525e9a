// The one model registry: one name per model everywhere, each entry creating, fitting, serialising and
// restoring its model, and the capabilities the training protocol reads from it.
import { describe, expect, it } from "vitest";
import {
  GENRE_RULE_MODEL,
  GradientBoostedTrees,
  type LinearSVM,
  LogisticRegression,
  MajorityModel,
  MODEL_KINDS,
  MODEL_NAMES,
  MODEL_REGISTRY,
  modelEntry,
  modelFromJSON,
  parseModelNames,
} from "../../src/models/index.ts";
import { entryOfKind, findModelEntry } from "../../src/models/registry.ts";
import { RULE_COLUMN_NAMES, ruleColumnsData } from "./fixtures.ts";

const names = RULE_COLUMN_NAMES;
const dataset = () => ruleColumnsData(5);

describe("the model registry", () => {
  it("names the models as users type them, once each, in training order", () => {
    expect(MODEL_NAMES).toEqual(["naive", "majority", "previous", "logistic", "svm", "gbdt"]);
    expect(MODEL_REGISTRY.map((e) => e.name)).toEqual(MODEL_NAMES);
    expect(new Set(MODEL_NAMES).size).toBe(MODEL_NAMES.length);
    expect(new Set(MODEL_KINDS).size).toBe(MODEL_KINDS.length);
    // The JSON tags bundles already store stay as they were, so every bundle written so far loads.
    expect(Object.fromEntries(MODEL_REGISTRY.map((e) => [e.name, e.kind]))).toEqual({
      naive: "naive-genre",
      majority: "majority",
      previous: "previous-outcome",
      logistic: "logistic",
      svm: "linear-svm",
      gbdt: "gbdt",
    });
    for (const entry of MODEL_REGISTRY) {
      expect(modelEntry(entry.name)).toBe(entry);
      expect(findModelEntry(entry.name)).toBe(entry);
      expect(entryOfKind(entry.kind)).toBe(entry);
    }
  });

  it("gives each model one role and the genre rule one name", () => {
    expect(Object.fromEntries(MODEL_REGISTRY.map((e) => [e.name, e.role]))).toEqual({
      naive: "baseline",
      majority: "majority",
      previous: "baseline",
      logistic: "model",
      svm: "model",
      gbdt: "model",
    });
    expect(GENRE_RULE_MODEL).toBe("naive");
    expect(MODEL_REGISTRY.filter((e) => e.capabilities.genreRule).map((e) => e.name)).toEqual(["naive"]);
  });

  for (const entry of MODEL_REGISTRY) {
    it(`${entry.name}: create → fit → toJSON → registry load gives identical predictions`, () => {
      const { X, y } = dataset();
      const model = entry.create();
      expect(model.kind).toBe(entry.kind);
      model.fit(X, y, { featureNames: names });
      const json = JSON.parse(JSON.stringify(model.toJSON()));
      expect(json.kind).toBe(entry.kind);
      for (const restored of [modelFromJSON(json), entry.fromJSON(json)]) {
        expect(restored.kind).toBe(entry.kind);
        expect(Array.from(restored.predictProba(X))).toEqual(Array.from(model.predictProba(X)));
        expect(restored.predictOne([Number.NaN, 0, Number.NaN, 2])).toBe(
          model.predictOne([Number.NaN, 0, Number.NaN, 2]),
        );
      }
    });
  }

  it("creates with the given parameters over the registry's defaults", () => {
    const svm = modelEntry("svm").create({ C: 0.5 }) as LinearSVM;
    const { X, y } = dataset();
    svm.fit(X, y);
    expect(svm.toJSON().params).toMatchObject({ C: 0.5, classWeight: "balanced" });
    const trees = modelEntry("gbdt").create({ nEstimators: 7, earlyStoppingRounds: 0 }).fit(X, y);
    expect((trees as GradientBoostedTrees).treeCount).toBe(7);
  });

  it("states capabilities: validation for early stopping, warm starts, the refit's tree count", () => {
    const usesValidation = MODEL_REGISTRY.filter((e) => e.capabilities.usesValidation).map((e) => e.name);
    expect(usesValidation).toEqual(["gbdt"]);
    const warm = MODEL_REGISTRY.filter((e) => e.capabilities.warmStart).map((e) => e.name);
    expect(warm).toEqual(["logistic", "svm"]);
    const { X, y } = dataset();
    const logistic = new LogisticRegression().fit(X, y);
    expect(Array.from(modelEntry("logistic").capabilities.warmStart?.(logistic) ?? [])).toEqual(
      Array.from(logistic.standardizedCoefficients()),
    );
    expect(modelEntry("logistic").capabilities.warmStart?.(logistic)).toHaveLength(X.cols + 1);
    const half = Math.floor(X.rows / 2);
    const part = (from: number, to: number) => ({
      X: { rows: to - from, cols: X.cols, data: X.data.subarray(from * X.cols, to * X.cols) },
      y: y.subarray(from, to),
    });
    const train = part(0, half);
    const trees = new GradientBoostedTrees({ nEstimators: 200, earlyStoppingRounds: 5, learningRate: 0.3 });
    trees.fit(train.X, train.y, { validation: part(half, X.rows) });
    expect(trees.treeCount).toBeLessThan(200);
    expect(modelEntry("gbdt").capabilities.refitParams?.(trees)).toEqual({
      nEstimators: Math.max(1, trees.treeCount),
      earlyStoppingRounds: 0,
    });
    // A capability given another entry's model refuses it rather than reading it as its own.
    expect(() => modelEntry("gbdt").capabilities.refitParams?.(new MajorityModel().fit(X, y))).toThrow(
      /model "gbdt": refitParams was given a majority model/,
    );
    expect(() => modelEntry("svm").capabilities.warmStart?.(logistic)).toThrow(
      /model "svm": warmStart was given a logistic model/,
    );
  });

  it("parses --models lists against the registry", () => {
    expect(parseModelNames(" gbdt, naive ,,svm")).toEqual(["gbdt", "naive", "svm"]);
    expect(() => parseModelNames("gbdt,linear-svm")).toThrow(
      'unknown model "linear-svm" (known: naive, majority, previous, logistic, svm, gbdt)',
    );
    expect(() => modelEntry("forest" as never)).toThrow(/unknown model "forest"/);
    expect(findModelEntry("only")).toBeUndefined();
    expect(() => modelFromJSON({ kind: "svm", version: 1, params: {}, state: {} })).toThrow(
      /unknown model kind "svm"/,
    );
  });
});
