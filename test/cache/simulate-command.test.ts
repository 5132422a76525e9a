// `skipwise cache simulate` end to end: on the real 2023L-v2 delivery (models trained by the honest
// pipeline) and from a bundle written by the real training path.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCacheSimulateCommand } from "../../src/cache/simulate-command.ts";
import type { PolicyResult } from "../../src/cache/types.ts";
import { loadDelivery } from "../../src/data/index.ts";
import { buildListens } from "../../src/listens/index.ts";
import { generateDelivery } from "../../src/synth/index.ts";
import { trainModels } from "../../src/train/pipeline.ts";
import { timeSplit } from "../../src/train/split.ts";
import { saveTrainingBundle } from "../../src/train/train-command.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

class Collector extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const policy = (policies: PolicyResult[], kind: PolicyResult["kind"]) =>
  policies.find((p) => p.kind === kind) as PolicyResult;

describe("cache simulate on 2023L-v2", () => {
  const dir = mkdtempSync(join(tmpdir(), "skipwise-cache-cmd-"));
  const stdout = new Collector();
  let result: Awaited<ReturnType<typeof runCacheSimulateCommand>>;

  beforeAll(async () => {
    result = await runCacheSimulateCommand({
      data: sharedDelivery("2023L-v2"),
      out: dir,
      models: "naive,previous,logistic",
      capacityMb: [100],
      stdout,
      progress: false,
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("replays the 2,046 test-period listens: cache-everything wastes 14.9 % and misses nothing, the oracle wastes nothing", () => {
    const sim = result.simulation;
    expect(sim.listens).toBe(2046);
    const all = policy(sim.policies, "cache-all");
    expect(all.totalBytes).toBe(9_502_057_580);
    expect(all.wastedBytes).toBe(1_411_708_340);
    expect(all.wastedShare).toBeCloseTo(0.148569, 5);
    expect(all.missedShare).toBe(0);
    expect(all.stalls).toBe(0);
    const oracle = policy(sim.policies, "oracle");
    expect(oracle.wastedBytes).toBe(0);
    expect(oracle.missedBytes).toBe(0);
    expect(oracle.stalls).toBe(0);
    expect(oracle.hits).toBe(oracle.fullPlays);
    expect(oracle.fullPlays).toBe(1357);
    for (const p of sim.policies) {
      expect(Math.abs(p.playedBytes + p.wastedBytes + p.neverFetchedBytes - p.totalBytes)).toBeLessThan(
        1e-6 * p.totalBytes,
      );
    }
  });

  it("runs every policy: the genre rule, each trained model at its threshold and with a prefix, and their sweeps", () => {
    const sim = result.simulation;
    const kinds = new Set(sim.policies.map((p) => p.kind));
    expect([...kinds].sort()).toEqual([
      "cache-all",
      "cache-nothing",
      "genre-rule",
      "model",
      "oracle",
      "partial",
    ]);
    const models = sim.policies.filter((p) => p.kind === "model").map((p) => p.model);
    expect(models.sort()).toEqual(["logistic", "previous"]); // naive is the genre-rule policy
    expect(new Set(sim.sweep.map((p) => p.model))).toEqual(new Set(["logistic", "previous"]));
    expect(sim.device.length).toBe(3 * (2 + 2)); // 3 eviction policies × (all, 2 models, oracle)
  });

  it("recommends an operating point between cache-everything and the oracle and prints it", () => {
    const sim = result.simulation;
    const rec = sim.recommended;
    expect(rec).toBeDefined();
    if (!rec) return;
    const all = policy(sim.policies, "cache-all");
    expect(rec.wastedShare).toBeLessThan(all.wastedShare);
    expect(rec.oracleSavingsShare).toBeGreaterThan(0);
    expect(rec.oracleSavingsShare).toBeLessThan(1);
    expect(rec.cost).toBeLessThan(all.cost);
    expect(stdout.text).toMatch(/^cache simulation of 2,046 listens/);
    expect(stdout.text).toContain("cache everything: wasted 14.9 % of 9502 MB, missed 0 %");
    expect(stdout.text).toContain("oracle: wasted 0 %, missed 0 %");
    expect(stdout.text).toMatch(
      new RegExp(
        `recommended ${rec.model} @ ${Number(rec.threshold.toFixed(3))} \\(threshold chosen on the validation period\\): wasted \\d+\\.\\d %, missed \\d+\\.\\d % .*of the oracle's savings`,
      ),
    );
    expect(sim.recommendedChosen).toBe("beforehand");
  });

  it("writes cache.html with the frontier chart and cache.json", () => {
    const html = readFileSync(result.htmlPath, "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("Wasted vs missed audio");
    const json = JSON.parse(readFileSync(result.jsonPath, "utf8"));
    expect(json.listens).toBe(2046);
    expect(json.policies[0].name).toBe("cache everything");
  });
});

describe("cache simulate from a bundle", () => {
  const dir = mkdtempSync(join(tmpdir(), "skipwise-cache-bundle-"));
  const data = join(dir, "delivery");
  const bundle = join(dir, "bundle");
  let testRows = 0;
  let testStartMs = 0;

  beforeAll(async () => {
    await generateDelivery({
      out: data,
      size: { users: 20, artists: 100, tracks: 300, sessions: 150, days: 30 },
      seed: 3,
    });
    const delivery = await loadDelivery(data);
    const listens = buildListens(delivery.events, delivery.catalog);
    const run = trainModels(listens, delivery.catalog, { models: ["naive", "majority", "logistic"] });
    saveTrainingBundle(bundle, run, delivery);
    testRows = run.split.test.length;
    testStartMs = timeSplit(run.dataset.startMs).testStartMs;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("scores the bundle's test period with its models at their thresholds", async () => {
    const stdout = new Collector();
    const { simulation, source } = await runCacheSimulateCommand({
      data,
      bundle,
      out: join(dir, "out"),
      capacityMb: [],
      stdout,
      progress: false,
    });
    expect(simulation.listens).toBe(testRows);
    expect(source).toContain(new Date(testStartMs).toISOString());
    const manifest = JSON.parse(readFileSync(join(bundle, "manifest.json"), "utf8"));
    const logistic = simulation.policies.find((p) => p.kind === "model");
    expect(logistic?.model).toBe("logistic");
    expect(logistic?.threshold).toBe(manifest.thresholds.logistic);
    expect(simulation.device).toEqual([]);
    expect(stdout.text).not.toMatch(/warning/);
  });

  it("warns when the bundle was trained on another delivery, and rejects bad options", async () => {
    const stdout = new Collector();
    await runCacheSimulateCommand({
      data: sharedDelivery("2023L-v2"),
      bundle,
      out: join(dir, "other"),
      capacityMb: [],
      stdout,
      progress: false,
    }).catch(() => undefined);
    expect(stdout.text).toMatch(/warning: bundle .* was not trained on .*2023L-v2/);
    await expect(runCacheSimulateCommand({ data, bitrateKbps: 0, stdout, progress: false })).rejects.toThrow(
      /--bitrate-kbps must be a number > 0/,
    );
    await expect(
      runCacheSimulateCommand({ data, bundle, models: "gbdt", stdout, progress: false }),
    ).rejects.toThrow(/leave it out with --bundle/);
  });
});
