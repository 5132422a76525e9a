import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fingerprintOf } from "../../src/data/fingerprint.ts";
import {
  BUNDLE_FORMAT_VERSION,
  type BundleContents,
  loadBundle,
  saveBundle,
  type TrainedOn,
} from "../../src/models/bundle.ts";
import { GradientBoostedTrees, MajorityModel } from "../../src/models/index.ts";
import { logisticData } from "./fixtures.ts";

const schema = { version: "test-1", names: ["x0", "x1", "x2"] };
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "skipwise-bundle-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function trainedOn(): TrainedOn {
  const files = [
    { name: "users.jsonl", bytes: 120, sha256: "1".repeat(64) },
    { name: "sessions.jsonl.gz", bytes: 4096, sha256: "2".repeat(64) },
  ];
  return {
    fingerprint: fingerprintOf(files),
    files,
    events: 900,
    listens: 300,
    from: "2023-01-01T00:00:00.000Z",
    to: "2023-06-30T00:00:00.000Z",
  };
}

function contents(): BundleContents {
  const { X, y } = logisticData(500, 1, 0, [1, -1, 0.5], [1, 1, 1], [0, 0, 0]);
  return {
    featureSchema: schema,
    models: {
      gbdt: new GradientBoostedTrees({ nEstimators: 10 }).fit(X, y),
      majority: new MajorityModel().fit(X, y),
    },
    defaultModel: "gbdt",
    threshold: 0.42,
    thresholds: { majority: 0.5 },
    metrics: { auc: 0.8 },
    trainedOn: trainedOn(),
    timeRange: { start: "2023-01-01T00:00:00.000Z", end: "2023-06-30T00:00:00.000Z" },
    notes: ["unit test"],
    featureState: Buffer.from([1, 2, 3, 250]),
  };
}

describe("bundles", () => {
  it("round-trips models, manifest and feature state", () => {
    const dir = join(root, "bundle");
    const c = contents();
    saveBundle(dir, c);
    const b = loadBundle(dir, { expectedSchema: schema });
    expect(b.manifest.formatVersion).toBe(BUNDLE_FORMAT_VERSION);
    expect(b.manifest.skipwiseVersion).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
    expect(b.manifest.models).toEqual({
      gbdt: { file: "models/gbdt.json", kind: "gbdt" },
      majority: { file: "models/majority.json", kind: "majority" },
    });
    expect(b.manifest.threshold).toBe(0.42);
    expect(b.manifest.timeRange?.end).toBe("2023-06-30T00:00:00.000Z");
    expect([...b.featureState]).toEqual([1, 2, 3, 250]);
    const { X } = logisticData(50, 2, 0, [1, -1, 0.5], [1, 1, 1], [0, 0, 0]);
    expect(Array.from(b.defaultModel.predictProba(X))).toEqual(Array.from(c.models.gbdt.predictProba(X)));
    expect(readdirSync(root)).toEqual(["bundle"]); // no temp or old directory left behind
  });

  it("replaces an existing bundle", () => {
    const dir = join(root, "bundle");
    saveBundle(dir, contents());
    const c = contents();
    c.threshold = 0.3;
    c.models = { only: c.models.majority };
    c.defaultModel = "only";
    saveBundle(dir, c);
    const b = loadBundle(dir);
    expect(b.manifest.threshold).toBe(0.3);
    expect(Object.keys(b.models)).toEqual(["only"]);
    expect(existsSync(join(dir, "models/gbdt.json"))).toBe(false);
    expect(readdirSync(root)).toEqual(["bundle"]);
  });

  it("refuses a corrupted manifest", () => {
    const dir = join(root, "bundle");
    saveBundle(dir, contents());
    writeFileSync(join(dir, "manifest.json"), `{"formatVersion": ${BUNDLE_FORMAT_VERSION}, "createdAt": `);
    expect(() => loadBundle(dir)).toThrow(new RegExp(`bundle ${dir}: manifest.json is not valid JSON`));
    const manifest = JSON.parse(JSON.stringify({ ...contents(), formatVersion: BUNDLE_FORMAT_VERSION }));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, threshold: "high" }));
    expect(() => loadBundle(dir)).toThrow(/manifest.json field/);
  });

  it("refuses another format version, naming expected and found", () => {
    const dir = join(root, "bundle");
    saveBundle(dir, contents());
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...m, formatVersion: 99 }));
    expect(() => loadBundle(dir)).toThrow(
      `bundle ${dir}: manifest.json formatVersion mismatch: expected ${BUNDLE_FORMAT_VERSION}, found 99`,
    );
  });

  it("refuses a format-1 bundle (no content hashes), telling to retrain", () => {
    const dir = join(root, "bundle");
    saveBundle(dir, contents());
    const { files: _files, ...m } = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...m, formatVersion: 1 }));
    expect(() => loadBundle(dir)).toThrow(
      new RegExp(`bundle ${dir}: manifest.json formatVersion 1 predates content hashes .*retrain it`),
    );
  });

  it("refuses a feature schema mismatch, naming the field", () => {
    const dir = join(root, "bundle");
    saveBundle(dir, contents());
    expect(() => loadBundle(dir, { expectedSchema: { version: "test-2", names: schema.names } })).toThrow(
      `bundle ${dir}: featureSchema.version mismatch: expected "test-2", found "test-1"`,
    );
    expect(() =>
      loadBundle(dir, { expectedSchema: { version: "test-1", names: ["x0", "y1", "x2"] } }),
    ).toThrow(`featureSchema.names[1] mismatch: expected "y1", found "x1"`);
    expect(() => loadBundle(dir, { expectedSchema: { version: "test-1", names: ["x0"] } })).toThrow(
      "featureSchema.names (count) mismatch: expected 1, found 3",
    );
  });

  it("refuses a missing model file or feature state", () => {
    const dir = join(root, "bundle");
    saveBundle(dir, contents());
    rmSync(join(dir, "models/majority.json"));
    expect(() => loadBundle(dir)).toThrow(
      `bundle ${dir}: model file models/majority.json (model "majority") is missing`,
    );
    saveBundle(dir, contents());
    rmSync(join(dir, "feature-state.bin"));
    expect(() => loadBundle(dir)).toThrow("feature-state.bin is missing");
    expect(() => loadBundle(join(root, "nowhere"))).toThrow("manifest.json is missing");
  });

  it("checks its inputs when saving", () => {
    const c = contents();
    expect(() => saveBundle(join(root, "b"), { ...c, defaultModel: "svm" })).toThrow(/default model "svm"/);
    expect(() => saveBundle(join(root, "b"), { ...c, models: { "../x": c.models.gbdt } })).toThrow(
      /file-name safe/,
    );
    expect(existsSync(join(root, "b"))).toBe(false);
  });

  it("records what it was trained on as a typed, content-addressed field (no host path)", () => {
    const dir = join(root, "bundle");
    saveBundle(dir, contents());
    const b = loadBundle(dir);
    expect(b.manifest.trainedOn).toEqual(trainedOn());
    expect(b.manifest.dataFingerprint).toBeUndefined();
    expect(b.manifest.notes).toEqual(["unit test"]);
    // Unknown provenance is recorded as null.
    saveBundle(dir, { ...contents(), trainedOn: undefined });
    expect(loadBundle(dir).manifest.trainedOn).toBeNull();
    // A fingerprint that is not the one of its files is refused, saving and loading.
    const forged = { ...trainedOn(), fingerprint: `sha256:${"f".repeat(64)}` };
    expect(() => saveBundle(join(root, "b"), { ...contents(), trainedOn: forged })).toThrow(
      `bundle ${join(root, "b")}: trainedOn.fingerprint is not the fingerprint of trainedOn.files`,
    );
    saveBundle(dir, contents());
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...m, trainedOn: forged }));
    expect(() => loadBundle(dir)).toThrow(
      `bundle ${dir}: trainedOn.fingerprint is not the fingerprint of trainedOn.files`,
    );
  });

  it("still loads a bundle written before trainedOn (free-text note, head fingerprint): provenance unknown", () => {
    const dir = join(root, "bundle");
    saveBundle(dir, contents());
    const { trainedOn: _trainedOn, ...m } = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const old = { ...m, dataFingerprint: `sha256:${"c".repeat(64)}`, notes: ["delivery /data/old"] };
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(old));
    const b = loadBundle(dir, { expectedSchema: schema });
    expect(b.manifest.trainedOn).toBeNull();
    expect(b.manifest.dataFingerprint).toBe(old.dataFingerprint);
    expect(Object.keys(b.models)).toEqual(["gbdt", "majority"]);
  });

  it("refuses a model saved or listed under a registry name of another kind", () => {
    const c = contents();
    expect(() =>
      saveBundle(join(root, "b"), { ...c, models: { ...c.models, svm: c.models.majority } }),
    ).toThrow(
      `bundle ${join(root, "b")}: model "svm" is of kind "majority", but the model registry's "svm" is of kind "linear-svm"`,
    );
    const dir = join(root, "bundle");
    saveBundle(dir, { ...c, models: { gbdt: c.models.gbdt, other: c.models.majority } });
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const models = { gbdt: m.models.gbdt, logistic: m.models.other };
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...m, models }));
    expect(() => loadBundle(dir)).toThrow(
      `bundle ${dir}: model "logistic" is of kind "majority", but the model registry's "logistic" is of kind "logistic"`,
    );
  });
});
