import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BundleScorer, bundleLoader } from "../../src/serve/bundle-scorer.ts";
import { getText, postJson, type Running, startApp, tempDir } from "./helpers.ts";
import { REAL_DELIVERY, trainRealBundle } from "./real-bundle.ts";

const KEY = "s3cret";

describe("hot reload of real bundles", () => {
  let dir: string;
  let bundleA: string;
  let bundleB: string;
  let s: Running;
  let first: BundleScorer;

  beforeAll(async () => {
    dir = tempDir("reload");
    bundleA = join(dir, "a");
    bundleB = join(dir, "b");
    await trainRealBundle(bundleA, { trees: 20 });
    await trainRealBundle(bundleB, { trees: 8, threshold: 0.4 });
    const load = bundleLoader({ data: REAL_DELIVERY });
    first = await load(bundleA);
    s = await startApp({
      scorer: first,
      bundleDir: bundleA,
      loadScorer: load,
      apiKey: KEY,
      experiment: {
        name: "reload-exp",
        variants: [
          { name: "rule", model: "naive", weight: 1 },
          { name: "trees", model: "gbdt", weight: 1 },
        ],
        shadow: false,
      },
    });
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ready = async () => JSON.parse((await getText(`${s.url}/ready`)).text);
  const reload = (body: unknown, key = KEY) => postJson(`${s.url}/admin/reload`, body, { "x-api-key": key });

  it("serves the first bundle", async () => {
    expect((await ready()).bundle_version).toBe(first.bundleVersion);
    const r = await postJson(`${s.url}/v1/predict`, {
      user_id: 101,
      track_id: "7hXy7Oc0XfODlcR8ESR9up",
      model: "gbdt",
    });
    expect(r.body.model_version).toBe(first.bundleVersion);
  });

  it("needs the API key", async () => {
    expect((await reload({ bundle: bundleB }, "wrong")).status).toBe(401);
    const missing = await postJson(`${s.url}/admin/reload`, { bundle: bundleB });
    expect(missing.status).toBe(401);
    expect(missing.body.message).toMatch(/x-api-key/);
    expect((await ready()).bundle_version).toBe(first.bundleVersion);
  });

  it("swaps in a valid bundle: new version, threshold and predictions", async () => {
    const r = await reload({ bundle: bundleB });
    expect(r.status).toBe(200);
    expect(r.body.previous_version).toBe(first.bundleVersion);
    expect(r.body.bundle_version).not.toBe(first.bundleVersion);
    expect((await ready()).bundle_version).toBe(r.body.bundle_version);
    const p = await postJson(`${s.url}/v1/predict`, {
      user_id: 101,
      track_id: "7hXy7Oc0XfODlcR8ESR9up",
      model: "gbdt",
    });
    expect(p.body.model_version).toBe(r.body.bundle_version);
    expect(p.body.threshold).toBe(0.4);
    const metrics = (await getText(`${s.url}/metrics`)).text;
    expect(metrics).toContain(`skipwise_bundle_info{bundle_version="${r.body.bundle_version}"} 1`);
    expect(metrics).not.toContain(`skipwise_bundle_info{bundle_version="${first.bundleVersion}"}`);
    expect(metrics).toContain('skipwise_bundle_reloads_total{result="ok"} 1');
  });

  it("refuses a bundle whose feature schema does not match and keeps serving the old one", async () => {
    const before = (await ready()).bundle_version;
    const broken = join(dir, "broken-schema");
    cpSync(bundleA, broken, { recursive: true });
    const manifestPath = join(broken, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    manifest.featureSchema.version = "0-old";
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const r = await reload({ bundle: broken });
    expect(r.status).toBe(422);
    expect(r.body.message).toMatch(/refused, still serving/);
    expect(r.body.message).toMatch(/featureSchema\.version/);
    expect((await ready()).bundle_version).toBe(before);
    const p = await postJson(`${s.url}/recommend`, { user_id: 101, track_id: "7hXy7Oc0XfODlcR8ESR9up" });
    expect(p.status).toBe(200);
  });

  it("refuses a bundle with a corrupt model file, a missing directory, or lacking an experiment's model", async () => {
    const before = (await ready()).bundle_version;
    const corrupt = join(dir, "corrupt");
    cpSync(bundleA, corrupt, { recursive: true });
    writeFileSync(join(corrupt, "models", "gbdt.json"), "{not json");
    const r1 = await reload({ bundle: corrupt });
    expect(r1.status).toBe(422);
    expect(r1.body.message).toMatch(/gbdt\.json/);

    const r2 = await reload({ bundle: join(dir, "nope") });
    expect(r2.status).toBe(422);
    expect(r2.body.message).toMatch(/manifest\.json is missing/);

    const noTrees = join(dir, "no-trees");
    await trainRealBundle(noTrees, { models: ["naive", "logistic"] });
    const r3 = await reload({ bundle: noTrees });
    expect(r3.status).toBe(422);
    expect(r3.body.message).toMatch(/variant "trees" needs model "gbdt"/);

    expect((await ready()).bundle_version).toBe(before);
    const metrics = (await getText(`${s.url}/metrics`)).text;
    expect(metrics).toMatch(/skipwise_bundle_reloads_total\{result="refused"\} [4-9]/);
  });

  it("reloads the current directory when no bundle is named", async () => {
    const r = await reload(null);
    expect(r.status).toBe(200);
    expect(r.body.bundle_version).toBe(r.body.previous_version);
  });
});
