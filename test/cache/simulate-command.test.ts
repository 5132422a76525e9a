// `skipwise cache simulate` end to end: on the real 2023L-v2 delivery (models trained by the honest
// pipeline) and from a bundle written by the real training path.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { saveTrainingBundle } from "../../src/train/training-bundle.ts";
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

  it("recommends the policy chosen on the validation period and reports every policy's net saving", () => {
    const sim = result.simulation;
    // With these three models only logistic could beat caching everything, and on the validation period its
    // cross-fitted saving's interval includes 0: the recommendation is caching everything.
    expect(sim.recommendation?.kind).toBe("cache-all");
    expect(sim.recommended?.kind).toBe("cache-all");
    expect(sim.recommendation?.reason).toMatch(
      /^no model saves more than caching everything on the validation period/,
    );
    for (const p of sim.policies) {
      expect(Number.isFinite(p.saving)).toBe(true);
      expect(p.users).toBe(sim.users);
      if (p.kind !== "cache-all") expect(p.savingCi.lower).toBeLessThanOrEqual(p.savingCi.upper);
    }
    const all = policy(sim.policies, "cache-all");
    expect(all.saving).toBe(0);
    // The naive genre rule breaks most full plays: it costs far more than caching everything.
    expect(policy(sim.policies, "genre-rule").share).toBeLessThan(0);
    expect(policy(sim.policies, "oracle").share).toBeCloseTo(1, 12);
    expect(stdout.text).toMatch(/^cache simulation of 2,046 listens/);
    expect(stdout.text).toContain(
      "recommended (chosen on the validation period, before this period): cache everything (prefetch every track)",
    );
    expect(stdout.text).toContain("cache everything wastes 14.9 % of 9502 MB");
    expect(stdout.text).toMatch(/\n \* cache everything +0\.0 +share +0\.0 %/);
    expect(stdout.text).toContain("bootstrap over users");
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
  let policyKind = "";

  beforeAll(async () => {
    await generateDelivery({
      out: data,
      size: { users: 20, artists: 100, tracks: 300, sessions: 150, days: 30 },
      seed: 3,
    });
    const delivery = await loadDelivery(data);
    const listens = buildListens(delivery.events, delivery.catalog);
    const run = trainModels(listens, delivery.catalog, {
      events: delivery.events,
      models: ["naive", "majority", "logistic"],
    });
    saveTrainingBundle(bundle, run, delivery);
    policyKind = run.policy.kind;
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
    // The recommendation is the manifest's policy, under the manifest's cost model.
    expect(simulation.recommendation?.kind).toBe(manifest.policy.kind);
    expect(simulation.recommendation?.kind).toBe(policyKind);
    expect(simulation.recommendation?.reason).toBe(manifest.policy.reason);
    expect(simulation.costModel).toEqual(manifest.policy.costModel);
  });

  it("refuses cost flags that differ from the bundle's cost model, accepts equal ones", async () => {
    const stdout = new Collector();
    await expect(
      runCacheSimulateCommand({ data, bundle, costStall: 2, capacityMb: [], stdout, progress: false }),
    ).rejects.toThrow(
      /bundle chose its operating point for wastePerMb=1, stall=4, bitrateKbps=160 \(--cost-stall 2 given\): retrain with these costs or leave the flags out/,
    );
    const same = await runCacheSimulateCommand({
      data,
      bundle,
      out: join(dir, "same"),
      costWastePerMb: 1,
      costStall: 4,
      bitrateKbps: 160,
      capacityMb: [],
      stdout,
      progress: false,
    });
    expect(same.simulation.costModel).toEqual({ wastePerMb: 1, stall: 4, bitrateKbps: 160 });
  });

  it("refuses a bundle that records no policy", async () => {
    const old = join(dir, "old-bundle");
    cpSync(bundle, old, { recursive: true });
    const manifestPath = join(old, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    delete manifest.policy;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    await expect(
      runCacheSimulateCommand({
        data,
        bundle: old,
        capacityMb: [],
        stdout: new Collector(),
        progress: false,
      }),
    ).rejects.toThrow(/records no prefetch policy .*retrain it/);
  });

  it("knows its delivery by content: a copy elsewhere is the same delivery, no warning", async () => {
    const copy = join(dir, "elsewhere", "delivery-copy");
    cpSync(data, copy, { recursive: true });
    const stdout = new Collector();
    const { simulation } = await runCacheSimulateCommand({
      data: copy,
      bundle,
      out: join(dir, "copy-out"),
      capacityMb: [],
      stdout,
      progress: false,
    });
    expect(simulation.listens).toBe(testRows);
    expect(stdout.text).not.toMatch(/warning|note:/);
  });

  it("reads a bundle written before trainedOn: provenance unknown, said so, simulated as before", async () => {
    const old = join(dir, "pre-trained-on-bundle");
    cpSync(bundle, old, { recursive: true });
    const manifestPath = join(old, "manifest.json");
    const { trainedOn: _trainedOn, ...manifest } = JSON.parse(readFileSync(manifestPath, "utf8"));
    const legacy = { dataFingerprint: `sha256:${"0".repeat(64)}`, notes: [`delivery ${data}`] };
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, ...legacy }));
    const stdout = new Collector();
    const { simulation } = await runCacheSimulateCommand({
      data,
      bundle: old,
      out: join(dir, "old-out"),
      capacityMb: [],
      stdout,
      progress: false,
    });
    expect(simulation.listens).toBe(testRows);
    expect(stdout.text).toContain(
      `note: bundle ${old} does not record the delivery it was trained on (written before manifest.trainedOn)`,
    );
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
