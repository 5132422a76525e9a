import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultExperiment, readExperimentConfig } from "../../src/serve/experiment.ts";
import { tempDir } from "./helpers.ts";

const dir = tempDir("experiment");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("experiment config files", () => {
  it("reads a valid config, shadow off by default", () => {
    const path = join(dir, "ok.json");
    writeFileSync(path, JSON.stringify({ name: "x", variants: [{ name: "a", model: "gbdt", weight: 2 }] }));
    expect(readExperimentConfig(path)).toEqual({
      name: "x",
      variants: [{ name: "a", model: "gbdt", weight: 2 }],
      shadow: false,
    });
  });

  it("names the file and the problem", () => {
    expect(() => readExperimentConfig(join(dir, "missing.json"))).toThrow(/missing\.json: ENOENT/);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{name:");
    expect(() => readExperimentConfig(broken)).toThrow(/broken\.json: not valid JSON/);
    const noVariants = join(dir, "empty.json");
    writeFileSync(noVariants, JSON.stringify({ name: "x", variants: [] }));
    expect(() => readExperimentConfig(noVariants)).toThrow(/empty\.json: experiment config field "variants"/);
  });
});

describe("defaultExperiment", () => {
  it("is the naive rule against the default model, 50/50, when the bundle has both", () => {
    expect(defaultExperiment(["naive", "svm", "gbdt"], "svm").variants).toEqual([
      { name: "naive", model: "naive", weight: 0.5 },
      { name: "svm", model: "svm", weight: 0.5 },
    ]);
  });

  it("is the default model alone otherwise", () => {
    expect(defaultExperiment(["gbdt"], "gbdt").variants).toEqual([
      { name: "gbdt", model: "gbdt", weight: 1 },
    ]);
    expect(defaultExperiment(["naive"], "naive").variants).toEqual([
      { name: "naive", model: "naive", weight: 1 },
    ]);
  });
});
