// The bundle's prefetch policy decides every served answer: under "cache-all" every route and every A/B
// variant answers PLAY (prefetch) whatever the model scores, while P(skip) is still computed and logged.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FEATURE_SCHEMA } from "../../src/features/index.ts";
import { DEFAULT_COST_MODEL } from "../../src/listens/cost-model.ts";
import { type BundlePolicy, saveBundle } from "../../src/models/bundle.ts";
import { BundleScorer, scorerFromBundle } from "../../src/serve/bundle-scorer.ts";
import { readDecisionRecords } from "../../src/serve/log-export.ts";
import { decide, type ServedPolicy } from "../../src/serve/scorer.ts";
import { fitModels, REFERENCE_TRACK, simulateWorld } from "./fixture.ts";
import { postJson, startApp, tempDir } from "./helpers.ts";

const world = simulateWorld();
const models = fitModels(world);

function scorerWith(policy: ServedPolicy | undefined): BundleScorer {
  return new BundleScorer({
    version: `policy-${policy?.kind ?? "none"}`,
    catalog: world.catalog,
    state: world.state,
    models: [
      { name: "naive", model: models.naive, threshold: 0.5 },
      { name: "logistic", model: models.logistic, threshold: 0.45 },
      { name: "gbdt", model: models.gbdt, threshold: 0.5 },
    ],
    defaultModel: "gbdt",
    policy,
  });
}

const USERS = Array.from({ length: 30 }, (_, i) => 101 + i);
const TRACKS = [REFERENCE_TRACK, "T3", "T7", "T12", "T25"];

/** Every route, every variant (shadow scoring on), many users: the answers and the logged rows. */
async function everyDecision(scorer: BundleScorer, decisions?: "policy" | "models") {
  const s = await startApp({
    scorer,
    decisions,
    experiment: {
      name: "policy",
      salt: "p1",
      variants: [
        { name: "control", model: "naive", weight: 0.5 },
        { name: "treatment", model: "gbdt", weight: 0.3 },
        { name: "linear", model: "logistic", weight: 0.2 },
      ],
      shadow: true,
    },
  });
  try {
    const answers: string[] = [];
    const probabilities: number[] = [];
    for (const user of USERS) {
      for (const track of TRACKS) {
        const body = { user_id: user, track_id: track };
        answers.push((await postJson(`${s.url}/naive`, body)).body.prediction);
        answers.push((await postJson(`${s.url}/recommend`, body)).body.prediction);
        answers.push((await postJson(`${s.url}/abtest`, body)).body.prediction);
        const v1 = await postJson(`${s.url}/v1/predict`, { ...body, timestamp_ms: world.endMs });
        answers.push(v1.body.decision);
        probabilities.push(v1.body.prob_skip);
        for (const model of ["naive", "logistic", "gbdt"]) {
          answers.push((await postJson(`${s.url}/v1/predict`, { ...body, model })).body.decision);
        }
      }
      const batch = await postJson(`${s.url}/v1/predict/batch`, {
        items: TRACKS.map((track_id) => ({ user_id: user, track_id })),
      });
      for (const p of batch.body.predictions) answers.push(p.decision);
    }
    const logged = readDecisionRecords(s.dbPath, { includeShadow: true });
    const ready = (await (await fetch(`${s.url}/ready`)).json()) as { policy: unknown };
    return { answers, probabilities, logged, ready };
  } finally {
    await s.close();
  }
}

describe("the served decision follows the bundle's policy", () => {
  it("cache-all: PLAY on every route, for every model and variant; P(skip) still scored and logged", async () => {
    const { answers, probabilities, logged, ready } = await everyDecision(
      scorerWith({ kind: "cache-all", model: null, threshold: null }),
    );
    expect(ready.policy).toEqual({ kind: "cache-all", model: null, threshold: null, decisions: "policy" });
    expect(answers.length).toBe(USERS.length * (TRACKS.length * 7 + TRACKS.length));
    expect(new Set(answers)).toEqual(new Set(["PLAY"]));
    expect(logged.length).toBeGreaterThan(USERS.length * TRACKS.length * 4);
    expect(logged.every((d) => d.decision === "PLAY")).toBe(true);
    expect(new Set(logged.map((d) => d.variant)).size).toBeGreaterThan(2); // shadow rows of every variant
    // The models did want to skip some of these listens: the policy, not the scores, made them PLAY.
    expect(probabilities.some((p) => p >= 0.5)).toBe(true);
    expect(logged.some((d) => d.probSkip >= d.threshold)).toBe(true);
  });

  it("--decisions models: a cache-all bundle's models decide at their thresholds; /ready says so", async () => {
    const { logged, ready } = await everyDecision(
      scorerWith({ kind: "cache-all", model: null, threshold: null }),
      "models",
    );
    expect(new Set(logged.map((d) => d.decision))).toEqual(new Set(["PLAY", "SKIP"]));
    for (const d of logged) expect(d.decision).toBe(decide(d.probSkip, d.threshold));
    expect(ready.policy).toEqual({ kind: "cache-all", model: null, threshold: null, decisions: "models" });
  });

  it("cache-nothing: SKIP everywhere", async () => {
    const { answers } = await everyDecision(
      scorerWith({ kind: "cache-nothing", model: null, threshold: null }),
    );
    expect(new Set(answers)).toEqual(new Set(["SKIP"]));
  });

  it("model (and a bundle without a policy): each model's own threshold rule", async () => {
    const { logged } = await everyDecision(scorerWith({ kind: "model", model: "gbdt", threshold: 0.5 }));
    expect(new Set(logged.map((d) => d.decision))).toEqual(new Set(["PLAY", "SKIP"]));
    for (const d of logged) expect(d.decision).toBe(decide(d.probSkip, d.threshold));
    expect(scorerWith(undefined).policy).toEqual({ kind: "model", model: "gbdt", threshold: 0.5 });
    expect(() => scorerWith({ kind: "model", model: "svm", threshold: 0.5 })).toThrow(/policy model "svm"/);
  });

  it("decide: the policy overrides the threshold rule", () => {
    expect(decide(0.99, 0.5, { kind: "cache-all" })).toBe("PLAY");
    expect(decide(0.01, 0.5, { kind: "cache-nothing" })).toBe("SKIP");
    expect(decide(0.6, 0.5, { kind: "model" })).toBe("SKIP");
    expect(decide(0.4, 0.5)).toBe("PLAY");
  });
});

describe("the policy travels in the bundle manifest", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function save(policy: BundlePolicy, thresholds = { naive: 0.5, logistic: 0.45 }): string {
    const dir = join(tempDir("policy-bundle"), "bundle");
    dirs.push(dirname(dir));
    saveBundle(dir, {
      featureSchema: FEATURE_SCHEMA,
      models: { naive: models.naive, logistic: models.logistic, gbdt: models.gbdt },
      defaultModel: "gbdt",
      threshold: 0.5,
      thresholds,
      policy,
      featureState: world.state.snapshot(),
    });
    return dir;
  }

  const validation = {
    listens: 10,
    users: 2,
    level: 0.95,
    replicates: 10,
    folds: 5,
    seed: 1,
    interval: "bootstrap over users",
    from: "",
    to: "",
    candidates: [],
  };

  it("a cache-all bundle serves PLAY to every request", async () => {
    const dir = save({
      kind: "cache-all",
      model: null,
      threshold: null,
      costModel: { ...DEFAULT_COST_MODEL },
      reason: "no model saves more than caching everything on the validation period: prefetch everything",
      validation,
    });
    const scorer = scorerFromBundle(dir, world.catalog);
    expect(scorer.policy).toEqual({ kind: "cache-all", model: null, threshold: null });
    const { answers } = await everyDecision(scorer);
    expect(new Set(answers)).toEqual(new Set(["PLAY"]));
  });

  it("refuses a policy that serves another threshold than the model's one, or names a missing model", () => {
    const policy: BundlePolicy = {
      kind: "model",
      model: "logistic",
      threshold: 0.45,
      costModel: { ...DEFAULT_COST_MODEL },
      reason: "",
      validation,
    };
    expect(scorerFromBundle(save(policy), world.catalog).policy).toEqual({
      kind: "model",
      model: "logistic",
      threshold: 0.45,
    });
    expect(() => save({ ...policy, threshold: 0.3 })).toThrow(
      /policy.threshold 0.3 differs from the threshold 0.45 served for "logistic": a model has one operating threshold/,
    );
    expect(() => save({ ...policy, model: "svm" })).toThrow(/policy.model "svm" is not among the models/);
    expect(() => save({ ...policy, costModel: { ...DEFAULT_COST_MODEL, stall: -1 } })).toThrow(
      /policy.costModel: cost model field "stall"/,
    );
  });
});
