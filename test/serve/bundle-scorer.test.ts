import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf } from "../../src/data/fingerprint.ts";
import { readTrainedOn } from "../../src/models/bundle.ts";
import { BundleScorer, bundleLoader, scorerFromBundle } from "../../src/serve/bundle-scorer.ts";
import { REFERENCE_TRACK, type SavedWorld, savedWorld, tinyCatalog } from "./fixture.ts";

describe("BundleScorer over a saved bundle", () => {
  let saved: SavedWorld;
  beforeAll(() => {
    saved = savedWorld();
  });
  afterAll(() => rmSync(dirname(saved.bundleDir), { recursive: true, force: true }));

  it("takes model names, default model and thresholds from the manifest", () => {
    expect(saved.scorer.modelNames).toEqual(["naive", "logistic", "gbdt"]);
    expect(saved.scorer.defaultModel).toBe("gbdt");
    expect(saved.scorer.threshold("gbdt")).toBe(0.5);
    expect(saved.scorer.threshold("logistic")).toBe(0.45);
    expect(() => saved.scorer.threshold("svm")).toThrow(/unknown model "svm"/);
  });

  it("scores a batch exactly as one request at a time", async () => {
    const at = saved.world.endMs + 60_000;
    const requests = [101, 102, 103, 999_999].flatMap((userId) =>
      [REFERENCE_TRACK, "T5", "unknown-track"].map((trackId, k) => ({
        userId,
        trackId,
        atMs: at,
        session: k === 1 ? { sessionId: 77_000 + userId, position: 2, previousSkipped: true } : undefined,
      })),
    );
    for (const model of saved.scorer.modelNames) {
      const batch = await saved.scorer.scoreBatch(model, requests);
      // Copies: a request object already scored reads its vector again instead of asking the state.
      const single = await Promise.all(requests.map((r) => saved.scorer.score(model, { ...r })));
      expect(batch.map((s) => s.coldStart)).toEqual(single.map((s) => s.coldStart));
      for (const [i, s] of batch.entries()) expect(s.probSkip).toBeCloseTo(single[i].probSkip, 12);
    }
    const cold = await saved.scorer.score("gbdt", { userId: 999_999, trackId: "unknown-track", atMs: at });
    expect(cold.coldStart).toEqual({ user: true, track: true });
  });

  it("knows track durations from the catalogue", () => {
    expect(saved.scorer.trackDurationMs(REFERENCE_TRACK)).toBe(saved.world.catalog.tracks[0].durationMs);
    expect(saved.scorer.trackDurationMs("unknown-track")).toBeNaN();
  });

  it("refuses a feature-state snapshot taken on another catalogue, naming the bundle", () => {
    expect(() => scorerFromBundle(saved.bundleDir, tinyCatalog(99))).toThrow(
      new RegExp(`bundle ${saved.bundleDir}: feature-state snapshot`),
    );
  });

  it("never takes a delivery path from a bundle: without --data the loader asks for it, naming the recorded fingerprint", async () => {
    const dir = saved.bundleDir;
    expect(readTrainedOn(dir)).toBeNull();
    await expect(bundleLoader()(dir)).rejects.toThrow(
      `bundle ${dir}: bundles record no delivery path; pass the delivery it was trained on with --data <dir> (or SKIPWISE_DATA)`,
    );
    const manifestPath = join(dir, "manifest.json");
    const text = readFileSync(manifestPath, "utf8");
    const files = [{ name: "sessions.jsonl", bytes: 12, sha256: "a".repeat(64) }];
    const trainedOn = {
      fingerprint: fingerprintOf(files),
      files,
      events: 1234,
      listens: 600,
      from: "2023-01-01T00:00:00.000Z",
      to: "2023-02-01T00:00:00.000Z",
    };
    // Old bundles' free-text provenance is not followed either.
    const legacy = { notes: ["delivery /data/x"], metrics: { delivery: "/data/x" } };
    writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(text), ...legacy, trainedOn }));
    try {
      expect(readTrainedOn(dir)).toEqual(trainedOn);
      await expect(bundleLoader()(dir)).rejects.toThrow(
        `bundle ${dir}: bundles record no delivery path; pass the delivery it was trained on (fingerprint ${trainedOn.fingerprint}, 1,234 events from 2023-01-01T00:00:00.000Z to 2023-02-01T00:00:00.000Z) with --data <dir> (or SKIPWISE_DATA)`,
      );
    } finally {
      writeFileSync(manifestPath, text);
    }
  });

  it("refuses a threshold outside [0, 1] and a default model it does not hold", () => {
    const parts = {
      version: "v",
      catalog: saved.world.catalog,
      state: saved.scorer.state,
      models: [{ name: "gbdt", model: saved.models.gbdt, threshold: 1.5 }],
      defaultModel: "gbdt",
    };
    expect(() => new BundleScorer(parts)).toThrow(/threshold 1.5/);
    expect(
      () =>
        new BundleScorer({ ...parts, models: [{ ...parts.models[0], threshold: 0.5 }], defaultModel: "svm" }),
    ).toThrow(/default model "svm"/);
  });
});
