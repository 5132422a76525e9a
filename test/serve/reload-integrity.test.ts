// Reloads of tampered bundles (issue 10): a file changed after training, or a manifest naming a file out of
// the bundle, is refused with 422 and the old bundle keeps being served, predictions unchanged.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scorerFromBundle } from "../../src/serve/bundle-scorer.ts";
import { REFERENCE_TRACK, type SavedWorld, savedWorld } from "./fixture.ts";
import { getText, postJson, type Running, startApp, tempDir } from "./helpers.ts";

const KEY = "s3cret";
const SECRET = "SECRET-CONTENT-root:x:0:0";

describe("reload refuses tampered bundles", () => {
  let saved: SavedWorld;
  let s: Running;
  let dir: string;
  let version: string;

  beforeAll(async () => {
    saved = savedWorld();
    version = saved.scorer.bundleVersion;
    dir = tempDir("reload-integrity");
    writeFileSync(join(dir, "secret.json"), `${SECRET}\n`);
    s = await startApp({
      scorer: saved.scorer,
      bundleDir: saved.bundleDir,
      loadScorer: (bundle) => scorerFromBundle(bundle, saved.world.catalog),
      apiKey: KEY,
    });
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reload = (bundle: string) => postJson(`${s.url}/admin/reload`, { bundle }, { "x-api-key": KEY });
  const served = async () => JSON.parse((await getText(`${s.url}/ready`)).text).bundle_version;
  const predict = () =>
    postJson(`${s.url}/v1/predict`, {
      user_id: 101,
      track_id: REFERENCE_TRACK,
      model: "logistic",
      timestamp_ms: saved.world.endMs,
    });
  /** A copy of the served bundle, changed by `tamper`. */
  const tampered = (name: string, tamper: (bundle: string) => void): string => {
    const bundle = join(dir, name);
    cpSync(saved.bundleDir, bundle, { recursive: true });
    tamper(bundle);
    return bundle;
  };

  it("refuses a models file with every weight null: 422, old bundle_version and predictions kept", async () => {
    const before = await predict();
    expect(before.status).toBe(200);
    const bundle = tampered("null-weights", (b) => {
      const file = join(b, "models/logistic.json");
      const json = JSON.parse(readFileSync(file, "utf8"));
      json.state.weights = json.state.weights.map(() => null);
      writeFileSync(file, JSON.stringify(json));
    });
    const r = await reload(bundle);
    expect(r.status).toBe(422);
    expect(r.body.message).toContain(`bundle ${bundle} refused, still serving ${version}`);
    expect(r.body.message).toMatch(/models\/logistic\.json: size \d+ bytes does not match the manifest/);
    expect(await served()).toBe(version);
    const after = await predict();
    expect(after.body.model_version).toBe(version);
    expect(after.body.prob_skip).toBe(before.body.prob_skip);
  });

  it("refuses a flipped byte in a model file or the feature state, naming the file", async () => {
    for (const file of ["models/gbdt.json", "feature-state.bin"]) {
      const bundle = tampered(`flipped-${file.replace("/", "-")}`, (b) => {
        const bytes = readFileSync(join(b, file));
        bytes[bytes.length >> 1] ^= 0x01;
        writeFileSync(join(b, file), bytes);
      });
      const r = await reload(bundle);
      expect(r.status).toBe(422);
      expect(r.body.message).toContain(
        `${file}: content hash does not match the manifest (file changed after training?)`,
      );
      expect(await served()).toBe(version);
    }
  });

  it("refuses a manifest naming a file outside the bundle without echoing it", async () => {
    const bundle = tampered("outside", (b) => {
      const m = JSON.parse(readFileSync(join(b, "manifest.json"), "utf8"));
      m.models.logistic.file = "../secret.json";
      m.files["../secret.json"] = m.files["models/logistic.json"];
      writeFileSync(join(b, "manifest.json"), JSON.stringify(m));
    });
    const r = await reload(bundle);
    expect(r.status).toBe(422);
    expect(r.body.message).toMatch(/"\.\.\/secret\.json" is not a path inside the bundle/);
    expect(r.body.message).not.toContain("SECRET");
    expect(await served()).toBe(version);
    const metrics = (await getText(`${s.url}/metrics`)).text;
    expect(metrics).toMatch(/skipwise_bundle_reloads_total\{result="refused"\} [4-9]/);
  });

  it("accepts an untouched copy: the version is the content's, not the folder's", async () => {
    const bundle = tampered("copy", () => {});
    const r = await reload(bundle);
    expect(r.status).toBe(200);
    expect(r.body.bundle_version).toBe(version);
  });
});
