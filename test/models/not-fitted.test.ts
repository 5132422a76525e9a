// Every model used before fit throws NotFittedError (scikit-learn's name), one test per model kind.
import { describe, expect, it } from "vitest";
import {
  GradientBoostedTrees,
  LinearSVM,
  LogisticRegression,
  MajorityModel,
  MODEL_KINDS,
  NaiveGenreModel,
  NotFittedError,
  PreviousOutcomeModel,
  type SkipModel,
} from "../../src/models/index.ts";
import { matrix } from "./fixtures.ts";

const names = ["genre_match", "session_prev_skipped", "popularity"];
const X = matrix([
  [1, 0, 0.5],
  [0, 1, 0.1],
  [1, Number.NaN, 0.9],
  [0, 0, 0.3],
  [1, 1, 0.7],
  [0, 0, 0.2],
]);
const y = Uint8Array.from([0, 1, 1, 0, 1, 0]);

type Call = [method: string, call: (model: SkipModel) => unknown];

/** What a fitted model offers, per kind: predictions, scores, its JSON and what it learned. */
const CALLS: Record<string, Call[]> = {
  "naive-genre": [],
  majority: [["baseRate", (m) => (m as MajorityModel).baseRate]],
  "previous-outcome": [],
  logistic: [
    ["decisionFunction", (m) => (m as LogisticRegression).decisionFunction(X)],
    ["coefficients", (m) => (m as LogisticRegression).coefficients()],
    ["standardizedCoefficients", (m) => (m as LogisticRegression).standardizedCoefficients()],
  ],
  "linear-svm": [
    ["decisionFunction", (m) => (m as LinearSVM).decisionFunction(X)],
    ["plattParams", (m) => (m as LinearSVM).plattParams],
    ["standardizedCoefficients", (m) => (m as LinearSVM).standardizedCoefficients()],
  ],
  gbdt: [["decisionFunction", (m) => (m as GradientBoostedTrees).decisionFunction(X)]],
};

const COMMON: Call[] = [
  ["predictProba", (m) => m.predictProba(X)],
  ["predictOne", (m) => m.predictOne?.([1, 0, 0.5])],
  ["toJSON", (m) => m.toJSON()],
];

function models(): SkipModel[] {
  return [
    new NaiveGenreModel(),
    new MajorityModel(),
    new PreviousOutcomeModel(),
    new LogisticRegression(),
    new LinearSVM(),
    new GradientBoostedTrees({ nEstimators: 5, minSamplesLeaf: 1 }),
  ];
}

describe("NotFittedError", () => {
  it("is an Error named NotFittedError that names the model and the call", () => {
    const error = new NotFittedError("logistic", "toJSON");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("NotFittedError");
    expect(error.message).toBe("logistic: toJSON called before fit");
  });

  it("covers every model kind", () => {
    expect(
      models()
        .map((m) => m.kind)
        .sort(),
    ).toEqual([...MODEL_KINDS].sort());
  });

  for (const template of models()) {
    const kind = template.kind;
    const calls = [...COMMON, ...CALLS[kind]];
    it(`${kind}: ${calls.map(([method]) => method).join(", ")} throw it before fit, and work after`, () => {
      const unfitted = models().find((m) => m.kind === kind) as SkipModel;
      for (const [method, call] of calls) {
        let thrown: unknown;
        try {
          call(unfitted);
        } catch (error) {
          thrown = error;
        }
        expect(thrown, `${kind}.${method}`).toBeInstanceOf(NotFittedError);
        expect((thrown as Error).name).toBe("NotFittedError");
        // The batch paths share one input check, whose message says "predict".
        const named = method === "predictProba" || method === "decisionFunction" ? "predict" : method;
        expect((thrown as Error).message).toBe(`${kind}: ${named} called before fit`);
      }
      const fitted = models().find((m) => m.kind === kind) as SkipModel;
      fitted.fit(X, y, { featureNames: names });
      for (const [method, call] of calls) expect(() => call(fitted), `${kind}.${method}`).not.toThrow();
    });
  }
});
