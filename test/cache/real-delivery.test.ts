// The simulator on the real 2023L-v2 delivery, test period = last 20 % of listens by time.
import { describe, expect, it } from "vitest";
import { cacheInputsFromDataset } from "../../src/cache/inputs.ts";
import { cacheSummary } from "../../src/cache/report.ts";
import { simulateCache } from "../../src/cache/simulate.ts";
import { loadDelivery } from "../../src/data/index.ts";
import { buildListens } from "../../src/listens/index.ts";
import type { Matrix } from "../../src/models/types.ts";
import { buildDataset } from "../../src/train/dataset.ts";
import { timeSplit } from "../../src/train/split.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

describe("cache simulation on 2023L-v2", async () => {
  const delivery = await loadDelivery(sharedDelivery("2023L-v2"));
  const listens = buildListens(delivery.events, delivery.catalog);
  const dataset = buildDataset(listens, delivery.catalog);
  const split = timeSplit(dataset.startMs);
  const genre = dataset.featureNames.indexOf("genre_match");
  // A stand-in model that scores by the genre rule, so its decisions must equal the rule's at 0.5.
  const genreModel = {
    predictProba(X: Matrix): Float64Array {
      return Float64Array.from({ length: X.rows }, (_, r) => (X.data[r * X.cols + genre] === 0 ? 0.9 : 0.1));
    },
  };
  const inputs = cacheInputsFromDataset(dataset, delivery.catalog, split.test, [
    { name: "genre-as-model", model: genreModel, threshold: 0.5 },
  ]);
  const sim = simulateCache(inputs.listens, { models: inputs.models, genreRuleSkip: inputs.genreRuleSkip });

  it("replays the test period's listens with their outcomes", () => {
    expect(inputs.listens).toHaveLength(split.test.length);
    expect(inputs.listens.filter((l) => l.skipped).length).toBe(
      split.test.reduce((n, r) => n + dataset.y[r], 0),
    );
    for (let k = 1; k < inputs.listens.length; k++) {
      expect(inputs.listens[k].startMs).toBeGreaterThanOrEqual(inputs.listens[k - 1].startMs);
    }
  });

  it("finds cache-everything wasting about 15 % of the audio and the oracle none", () => {
    const all = sim.policies.find((p) => p.kind === "cache-all");
    expect(all?.wastedShare).toBeGreaterThan(0.13);
    expect(all?.wastedShare).toBeLessThan(0.17);
    expect(all?.stalls).toBe(0);
    const oracle = sim.policies.find((p) => p.kind === "oracle");
    expect(oracle?.wastedBytes).toBe(0);
    expect(oracle?.stalls).toBe(0);
    for (const p of sim.policies) {
      expect(Math.abs(p.playedBytes + p.wastedBytes + p.neverFetchedBytes - p.totalBytes)).toBeLessThan(
        1e-6 * p.totalBytes,
      );
    }
    expect(cacheSummary(sim)[1]).toMatch(/^cache everything wastes 1[3-6]\.\d %/);
  });

  it("scores a model and the genre rule identically when the model is the rule", () => {
    const rule = sim.policies.find((p) => p.kind === "genre-rule");
    const model = sim.policies.find((p) => p.kind === "model");
    expect(model?.wastedBytes).toBe(rule?.wastedBytes);
    expect(model?.stalls).toBe(rule?.stalls);
    expect(model?.saving).toBe(rule?.saving);
    // Without a policy chosen beforehand the simulator recommends nothing.
    expect(sim.recommended).toBeUndefined();
    expect(sim.bestPerModel[0].model).toBe("genre-as-model");
  });
});
