// Bundle integrity (issue 10): every file's sha256 is in the manifest and checked before parsing, the
// version covers every file, manifest paths stay inside the bundle, and only bounded regular files are read.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type BundleContents,
  bundleVersionOf,
  loadBundle,
  MAX_FEATURE_STATE_BYTES,
  MAX_MODEL_FILE_BYTES,
  saveBundle,
} from "../../src/models/bundle.ts";
import {
  GradientBoostedTrees,
  LinearSVM,
  LogisticRegression,
  MajorityModel,
  type Model,
  modelFromJSON,
} from "../../src/models/index.ts";
import { logisticData } from "./fixtures.ts";

const schema = { version: "test-1", names: ["x0", "x1", "x2"] };
const SECRET = "SECRET-CONTENT-root:x:0:0";
const hasMkfifo = spawnSync("sh", ["-c", "command -v mkfifo"]).status === 0;
let root: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "skipwise-integrity-"));
  dir = join(root, "bundle");
  // A file outside the bundle that must never be read into a message.
  writeFileSync(join(root, "secret.json"), `${SECRET}\n`);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function contents(): BundleContents {
  const { X, y } = logisticData(400, 3, 0, [1, -1, 0.5], [1, 1, 1], [0, 0, 0]);
  return {
    featureSchema: schema,
    models: {
      gbdt: new GradientBoostedTrees({ nEstimators: 5 }).fit(X, y),
      logistic: new LogisticRegression().fit(X, y),
      majority: new MajorityModel().fit(X, y),
    },
    defaultModel: "gbdt",
    threshold: 0.4,
    thresholds: { logistic: 0.5, majority: 0.5 },
    featureState: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]),
    createdAt: new Date("2024-05-01T12:00:00.000Z"),
  };
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const manifestPath = () => join(dir, "manifest.json");
const readManifest = () => JSON.parse(readFileSync(manifestPath(), "utf8"));
const writeManifest = (m: unknown) => writeFileSync(manifestPath(), JSON.stringify(m, null, 2));

/** Message of the BundleError loadBundle throws (fails the test when it loads). */
function refusal(bundle = dir): string {
  try {
    loadBundle(bundle);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`bundle ${bundle} loaded`);
}

describe("bundle content hashes", () => {
  it("records the sha256 and size of every file but the manifest", () => {
    saveBundle(dir, contents());
    const m = readManifest();
    expect(Object.keys(m.files).sort()).toEqual([
      "feature-state.bin",
      "models/gbdt.json",
      "models/logistic.json",
      "models/majority.json",
    ]);
    for (const [file, entry] of Object.entries(
      m.files as Record<string, { sha256: string; bytes: number }>,
    )) {
      const bytes = readFileSync(join(dir, file));
      expect(entry).toEqual({ sha256: sha256(bytes), bytes: bytes.length });
    }
    const loaded = loadBundle(dir);
    expect(loaded.version).toBe(bundleVersionOf(readFileSync(manifestPath(), "utf8"), m.createdAt));
  });

  it("refuses a flipped byte in any file, naming the file", () => {
    saveBundle(dir, contents());
    for (const file of Object.keys(readManifest().files)) {
      const path = join(dir, file);
      const original = readFileSync(path);
      const flipped = Buffer.from(original);
      flipped[flipped.length >> 1] ^= 0x01;
      writeFileSync(path, flipped);
      expect(refusal()).toBe(
        `bundle ${dir}: ${file}: content hash does not match the manifest (file changed after training?)`,
      );
      writeFileSync(path, Buffer.concat([original, Buffer.from(" ")]));
      expect(refusal()).toMatch(
        new RegExp(`^bundle ${dir}: ${file}: size ${original.length + 1} bytes does not match the manifest`),
      );
      writeFileSync(path, original);
      expect(() => loadBundle(dir)).not.toThrow();
    }
  });

  it("refuses a model whose weights are all null, with or without a matching hash", () => {
    saveBundle(dir, contents());
    const file = join(dir, "models/logistic.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    json.state.weights = json.state.weights.map(() => null);
    const tampered = Buffer.from(JSON.stringify(json));
    writeFileSync(file, tampered);
    expect(refusal()).toMatch(/models\/logistic\.json: (size|content hash) .*does not match the manifest/);
    // Even with the manifest re-hashed (a bug, or a hand edit), the model JSON itself is checked.
    const m = readManifest();
    m.files["models/logistic.json"] = { sha256: sha256(tampered), bytes: tampered.length };
    writeManifest(m);
    expect(refusal()).toBe(
      `bundle ${dir}: model file models/logistic.json cannot be restored: logistic: state.weights[0] is null, expected a finite number`,
    );
  });

  it("validates every model kind's JSON: nulls, wrong lengths and broken trees are refused", () => {
    const c = contents();
    const { X, y } = logisticData(300, 4, 0, [1, -1, 0.5], [1, 1, 1], [0, 0, 0]);
    const models: Record<string, Model> = { ...c.models, svm: new LinearSVM().fit(X, y) };
    const edit = (name: string, change: (state: Record<string, unknown>) => void) => {
      const json = JSON.parse(JSON.stringify(models[name].toJSON()));
      change(json.state);
      return () => modelFromJSON(json);
    };
    expect(edit("logistic", (s) => ((s.weights as unknown[]).length = 2))).toThrow(
      "logistic: state.weights has 2 values, expected 3",
    );
    expect(edit("logistic", (s) => (s.bias = null))).toThrow("logistic: state.bias is null");
    expect(edit("logistic", (s) => ((s.scaler as { mean: unknown[] }).mean[1] = "1"))).toThrow(
      "logistic: state.scaler.mean[1] is a string, expected a finite number",
    );
    expect(edit("svm", (s) => ((s.platt as { A: unknown }).A = null))).toThrow(
      "linear-svm: state.platt.A is null",
    );
    expect(edit("svm", (s) => (s.weights = null))).toThrow(
      "linear-svm: state.weights is null, expected an array",
    );
    expect(edit("majority", (s) => (s.rate = null))).toThrow("majority: state.rate is null");
    expect(edit("majority", (s) => (s.rate = 3))).toThrow("expected a rate in [0, 1]");
    type TreeJSON = { value: unknown[]; feature: number[]; left: number[]; depth: number };
    const tree = (s: Record<string, unknown>) => (s.trees as TreeJSON[])[0];
    expect(edit("gbdt", (s) => (tree(s).value = tree(s).value.map(() => null)))).toThrow(
      "gbdt: state.trees[0].value[0] is null, expected a finite number",
    );
    expect(edit("gbdt", (s) => (tree(s).feature[0] = 7))).toThrow(
      "gbdt: state.trees[0].feature[0] is 7, expected an integer in [-1, 2]",
    );
    expect(edit("gbdt", (s) => (tree(s).left[0] = 0))).toThrow("gbdt: state.trees[0].left[0] is 0");
    expect(edit("gbdt", (s) => (tree(s).depth += 1))).toThrow(/state\.trees\[0\]\.depth is \d+/);
    expect(edit("gbdt", (s) => (s.baseScore = null))).toThrow("gbdt: state.baseScore is null");
    // Untouched JSON still restores every kind.
    for (const name of Object.keys(models)) expect(edit(name, () => {})).not.toThrow();
  });

  it("changes bundle_version with any file, and keeps it when re-saved with identical content", () => {
    saveBundle(dir, contents());
    const v1 = loadBundle(dir).version;
    saveBundle(dir, contents());
    expect(loadBundle(dir).version).toBe(v1);

    const otherState = contents();
    otherState.featureState = Buffer.from([1, 2, 3, 4, 5, 6, 7, 9]);
    saveBundle(dir, otherState);
    const v2 = loadBundle(dir).version;
    expect(v2).not.toBe(v1);

    const otherModel = contents();
    const { X, y } = logisticData(400, 99, 0, [1, -1, 0.5], [1, 1, 1], [0, 0, 0]);
    otherModel.models.majority = new MajorityModel().fit(X, y);
    saveBundle(dir, otherModel);
    const v3 = loadBundle(dir).version;
    expect(new Set([v1, v2, v3]).size).toBe(3);

    // A file changed after training either fails its hash, or (manifest fixed up) is another version.
    saveBundle(dir, contents());
    const state = Buffer.from([8, 7, 6, 5, 4, 3, 2, 1]);
    writeFileSync(join(dir, "feature-state.bin"), state);
    expect(refusal()).toMatch(/feature-state\.bin: content hash does not match/);
    const m = readManifest();
    m.files["feature-state.bin"].sha256 = sha256(state);
    writeManifest(m);
    expect(loadBundle(dir).version).not.toBe(v1);
  });

  it("refuses a referenced file without a hash", () => {
    saveBundle(dir, contents());
    const m = readManifest();
    delete m.files["models/majority.json"];
    writeManifest(m);
    expect(refusal()).toBe(
      `bundle ${dir}: manifest.json models.majority.file "models/majority.json" has no content hash in files`,
    );
  });
});

describe("bundle paths and file kinds", () => {
  const outsidePaths = () => [
    "../secret.json",
    "../../../../../../etc/passwd",
    join(root, "secret.json"),
    "/etc/passwd",
    "models/../../secret.json",
    "models/./majority.json",
    "models//majority.json",
    "models\\majority.json",
  ];

  it("refuses manifest paths outside the bundle, absolute or not normalised, without reading them", () => {
    saveBundle(dir, contents());
    const original = readManifest();
    const entry = original.files["models/majority.json"];
    for (const path of outsidePaths()) {
      const m = structuredClone(original);
      m.models.majority.file = path;
      m.files[path] = entry;
      writeManifest(m);
      const message = refusal();
      expect(message).toContain(`bundle ${dir}: manifest.json `);
      expect(message).toContain(`${JSON.stringify(path)} is not a path inside the bundle`);
      expect(message).not.toContain("SECRET");
      expect(message).not.toContain("root:");
    }
    const m = structuredClone(original);
    m.featureStateFile = "../secret.json";
    writeManifest(m);
    expect(refusal()).toMatch(/featureStateFile "\.\.\/secret\.json" is not a path inside the bundle/);
  });

  it("refuses a symbolic link out of the bundle, and follows links that stay inside", () => {
    saveBundle(dir, contents());
    const secret = readFileSync(join(root, "secret.json"));
    const m = readManifest();
    // Even with the manifest vouching for the outside file's content, it is not read.
    m.files["models/majority.json"] = { sha256: sha256(secret), bytes: secret.length };
    writeManifest(m);
    rmSync(join(dir, "models/majority.json"));
    symlinkSync(join(root, "secret.json"), join(dir, "models/majority.json"));
    const message = refusal();
    expect(message).toBe(
      `bundle ${dir}: models/majority.json resolves outside the bundle folder (a symbolic link out of it?): refused`,
    );
    expect(message).not.toContain("SECRET");

    // A whole sub-folder linked out of the bundle.
    saveBundle(dir, contents());
    cpSync(join(dir, "models"), join(root, "elsewhere"), { recursive: true });
    rmSync(join(dir, "models"), { recursive: true });
    symlinkSync(join(root, "elsewhere"), join(dir, "models"));
    expect(refusal()).toMatch(/models\/gbdt\.json resolves outside the bundle folder/);

    // The bundle folder itself may be a link (a "current" link to the deployed bundle), and so may a file
    // linked to another file of the bundle.
    saveBundle(dir, contents());
    symlinkSync(dir, join(root, "current"));
    expect(loadBundle(join(root, "current")).version).toBe(loadBundle(dir).version);
    writeFileSync(join(dir, "state-copy.bin"), readFileSync(join(dir, "feature-state.bin")));
    rmSync(join(dir, "feature-state.bin"));
    symlinkSync("state-copy.bin", join(dir, "feature-state.bin"));
    expect(() => loadBundle(dir)).not.toThrow();
  });

  it("refuses a directory in place of a file", () => {
    saveBundle(dir, contents());
    rmSync(join(dir, "models/majority.json"));
    mkdirSync(join(dir, "models/majority.json"));
    expect(refusal()).toBe(`bundle ${dir}: models/majority.json is a directory, not a regular file`);
  });

  it("refuses files over the size limits before reading them", () => {
    saveBundle(dir, contents());
    // Sparse files: no disk space is used.
    truncateSync(join(dir, "feature-state.bin"), MAX_FEATURE_STATE_BYTES + 1);
    expect(refusal()).toBe(
      `bundle ${dir}: feature-state.bin is ${MAX_FEATURE_STATE_BYTES + 1} bytes, over the limit of ${MAX_FEATURE_STATE_BYTES} bytes`,
    );
    saveBundle(dir, contents());
    truncateSync(join(dir, "models/gbdt.json"), MAX_MODEL_FILE_BYTES + 1);
    expect(refusal()).toMatch(/models\/gbdt\.json is \d+ bytes, over the limit/);
  });

  it.skipIf(!hasMkfifo)(
    "refuses a FIFO (manifest, model or feature state) at once, never blocking",
    async () => {
      const cases = { manifest: "manifest.json", model: "models/majority.json", state: "feature-state.bin" };
      const dirs: string[] = [];
      for (const [name, file] of Object.entries(cases)) {
        const bundle = join(root, `fifo-${name}`);
        saveBundle(bundle, contents());
        rmSync(join(bundle, file));
        execFileSync("mkfifo", [join(bundle, file)]);
        dirs.push(bundle);
      }
      // In a child process: were a FIFO opened for reading, the open would block the whole thread, which no
      // test timeout can interrupt; the child is killed instead and the test fails.
      const probe = join(root, "probe.mts");
      writeFileSync(
        probe,
        `const { loadBundle, readTrainedOn } = await import(${JSON.stringify(pathToFileURL("src/models/bundle.ts").href)});
for (const dir of process.argv.slice(2)) {
  let message = "loaded";
  try { loadBundle(dir); } catch (error) { message = error.message; }
  console.log(JSON.stringify({ message, trainedOn: readTrainedOn(dir) }));
}
`,
      );
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", probe, ...dirs], {
        timeout: 30_000,
        killSignal: "SIGKILL",
      });
      const results = stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(results.map((r) => r.message)).toEqual(
        Object.values(cases).map((file, i) => `bundle ${dirs[i]}: ${file} is a FIFO, not a regular file`),
      );
      expect(results.map((r) => r.trainedOn)).toEqual([null, null, null]);
    },
    45_000,
  );
});
