import { describe, expect, it } from "vitest";
import { bucketRanges, chooseVariant, fnv1a32, growthbookHash } from "../../src/serve/bucketing.ts";
import { Assigner, parseExperimentConfig } from "../../src/serve/experiment.ts";

// GrowthBook's published test vectors (packages/sdk-js/test/cases.json, "hash" and "getBucketRange").
const HASH_CASES: [seed: string, value: string, version: 1 | 2, expected: number][] = [
  ["", "a", 1, 0.22],
  ["", "b", 1, 0.077],
  ["b", "a", 1, 0.946],
  ["ef", "d", 1, 0.652],
  ["asdf", "8952klfjas09ujk", 1, 0.549],
  ["", "123", 1, 0.011],
  ["", '___)((*":&', 1, 0.563],
  ["seed", "a", 2, 0.0505],
  ["seed", "b", 2, 0.2696],
  ["foo", "ab", 2, 0.2575],
  ["foo", "def", 2, 0.2019],
  ["89123klj", "8952klfjas09ujkasdf", 2, 0.124],
  ["90850943850283058242805", "123", 2, 0.7516],
  ["()**(%$##$%#$#", '___)((*":&', 2, 0.0128],
];

describe("fnv1a32", () => {
  it("matches the FNV reference values", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });
});

describe("growthbookHash", () => {
  it.each(HASH_CASES)("hash(%j, %j, v%i) = %f", (seed, value, version, expected) => {
    expect(growthbookHash(seed, value, version)).toBeCloseTo(expected, 10);
  });
});

describe("bucketRanges", () => {
  it("splits [0,1) by weights like GrowthBook's getBucketRanges", () => {
    expect(bucketRanges([0.5, 0.5])).toEqual([
      [0, 0.5],
      [0.5, 1],
    ]);
    expect(bucketRanges([0.5, 0.5], 0.5)).toEqual([
      [0, 0.25],
      [0.5, 0.75],
    ]);
    const three = bucketRanges([0.2, 0.3, 0.5], 0.2);
    expect(three.map(([a, b]) => [a, b].map((x) => Math.round(x * 1e6) / 1e6))).toEqual([
      [0, 0.04],
      [0.2, 0.26],
      [0.5, 0.6],
    ]);
  });

  it("normalises weights that do not sum to 1 and rejects non-positive sums", () => {
    expect(bucketRanges([1, 3])).toEqual([
      [0, 0.25],
      [0.25, 1],
    ]);
    expect(() => bucketRanges([0, 0])).toThrow(/positive/);
  });

  it("chooses the range holding n, -1 outside coverage", () => {
    const ranges = bucketRanges([0.5, 0.5], 0.5);
    expect(chooseVariant(0.2, ranges)).toBe(0);
    expect(chooseVariant(0.6, ranges)).toBe(1);
    expect(chooseVariant(0.4, ranges)).toBe(-1);
    expect(chooseVariant(0.5, bucketRanges([0.5, 0.5]))).toBe(1);
  });
});

describe("Assigner", () => {
  const config = parseExperimentConfig(
    {
      name: "exp",
      salt: "pepper",
      variants: [
        { name: "a", model: "naive", weight: 0.2 },
        { name: "b", model: "gbdt", weight: 0.8 },
      ],
    },
    "test",
  );

  it("is sticky: the same user always gets the same variant, across instances", () => {
    const first = new Assigner(config);
    const second = new Assigner(config);
    for (let user = 0; user < 500; user++) {
      expect(second.assign(user).name).toBe(first.assign(user).name);
      expect(first.assign(user).name).toBe(first.assign(user).name);
    }
  });

  it("uses GrowthBook's v2 hash of the user id with the salt as seed", () => {
    const assigner = new Assigner(config);
    for (const user of [1, 101, 4242]) {
      const n = growthbookHash("pepper", String(user), 2);
      expect(assigner.bucket(user)).toBe(n);
      expect(assigner.assign(user).name).toBe(n < 0.2 ? "a" : "b");
    }
  });

  it("distributes users by the weights", () => {
    const assigner = new Assigner(config);
    const users = 20_000;
    let inA = 0;
    for (let user = 0; user < users; user++) if (assigner.assign(user).name === "a") inA++;
    // Binomial(20000, 0.2): sd = 57, so ±4 sd = ±0.0113.
    expect(Math.abs(inA / users - 0.2)).toBeLessThan(0.0113);
  });

  it("changes assignments when the salt changes", () => {
    const other = new Assigner({ ...config, salt: "salt2" });
    const assigner = new Assigner(config);
    let differ = 0;
    for (let user = 0; user < 1000; user++)
      if (other.assign(user).name !== assigner.assign(user).name) differ++;
    expect(differ).toBeGreaterThan(100);
  });

  it("defaults the seed to the experiment name", () => {
    const { salt: _salt, ...unsalted } = config;
    expect(new Assigner(unsalted).seed).toBe("exp");
  });

  it("rejects bad configs naming the field", () => {
    expect(() =>
      parseExperimentConfig({ name: "x", variants: [{ name: "a", model: "m", weight: -1 }] }, "cfg.json"),
    ).toThrow(/cfg\.json.*variants\.0\.weight/);
    expect(() =>
      parseExperimentConfig(
        {
          name: "x",
          variants: [
            { name: "a", model: "m", weight: 1 },
            { name: "a", model: "n", weight: 1 },
          ],
        },
        "cfg.json",
      ),
    ).toThrow(/duplicate variant name "a"/);
  });
});
