import { describe, expect, it } from "vitest";
import {
  GradientBoostedTrees,
  LinearSVM,
  LogisticRegression,
  MajorityModel,
  type Matrix,
  MODEL_KINDS,
  modelFromJSON,
  NaiveGenreModel,
  PreviousOutcomeModel,
  type SkipModel,
} from "../../src/models/index.ts";
import { RULE_COLUMN_NAMES, ruleColumnsData } from "./fixtures.ts";

const names = RULE_COLUMN_NAMES;
const dataset = () => ruleColumnsData(1);

function allModels(): SkipModel[] {
  return [
    new NaiveGenreModel(),
    new MajorityModel(),
    new PreviousOutcomeModel(),
    new LogisticRegression(),
    new LinearSVM(),
    new GradientBoostedTrees({ nEstimators: 20 }),
  ];
}

describe("modelFromJSON", () => {
  it("covers every model kind", () => {
    expect(
      allModels()
        .map((m) => m.kind)
        .sort(),
    ).toEqual([...MODEL_KINDS].sort());
  });

  for (const model of allModels()) {
    it(`restores ${model.kind} with identical predictions after a JSON text round trip`, () => {
      const { X, y } = dataset();
      model.fit(X, y, { featureNames: names });
      const restored = modelFromJSON(JSON.parse(JSON.stringify(model.toJSON())));
      expect(restored.kind).toBe(model.kind);
      expect(Array.from(restored.predictProba(X))).toEqual(Array.from(model.predictProba(X)));
      expect(restored.predictOne([Number.NaN, 0, Number.NaN, 2])).toBe(
        model.predictOne([Number.NaN, 0, Number.NaN, 2]),
      );
    });
  }

  it("rejects an unknown kind or a wrong version", () => {
    expect(() => modelFromJSON({ kind: "forest", version: 1, params: {}, state: {} })).toThrow(
      /unknown model kind "forest"/,
    );
    expect(() => modelFromJSON({ kind: "majority", version: 7, params: {}, state: {} })).toThrow(/version 7/);
  });
});

describe("bad inputs give clear errors", () => {
  const { X, y } = dataset();
  for (const model of allModels()) {
    it(`${model.kind}`, () => {
      const opts = { featureNames: names };
      expect(() => model.fit(X, y.subarray(0, 10), opts)).toThrow(/y has 10 labels but X has 600 rows/);
      expect(() =>
        model.fit({ rows: 0, cols: 4, data: new Float32Array(0) }, new Uint8Array(0), opts),
      ).toThrow(/empty matrix/);
      const nanLabels = Float64Array.from(y) as unknown as Uint8Array;
      nanLabels[5] = Number.NaN;
      expect(() => model.fit(X, nanLabels, opts)).toThrow(/y\[5\] is NaN/);
      const bad: Matrix = { rows: 3, cols: 4, data: new Float32Array(5) };
      expect(() => model.fit(bad, new Uint8Array(3), opts)).toThrow(/has 5 values but rows×cols/);
      expect(() => model.predictProba(X)).toThrow(/before fit/);
      model.fit(X, y, opts);
      expect(() => model.predictProba({ rows: 1, cols: 3, data: new Float32Array(3) })).toThrow(
        /3 columns but the model was fitted on 4/,
      );
      expect(() => model.fit(X, y, { ...opts, sampleWeight: new Float64Array(600).fill(-1) })).toThrow(
        /sampleWeight\[0\] is -1/,
      );
      expect(() => model.fit(X, y, { ...opts, sampleWeight: new Float64Array(600) })).toThrow(/sums to 0/);
    });
  }

  it("learners that need both classes say so", () => {
    const { X } = dataset();
    const ones = new Uint8Array(600).fill(1);
    expect(() => new LogisticRegression().fit(X, ones)).toThrow(/only class 1/);
    expect(() => new LinearSVM().fit(X, ones)).toThrow(/only class 1/);
    expect(() => new GradientBoostedTrees().fit(X, ones)).toThrow(/only class 1/);
    expect(new MajorityModel().fit(X, ones).predictOne()).toBe(1);
  });
});
