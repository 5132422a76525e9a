import { describe, expect, it } from "vitest";
import { AucAccumulator } from "../../src/synth/auc.ts";
import { jsonString, pyFloat, sessionLineWriter, timestampToken } from "../../src/synth/format.ts";
import { Random, randomId, WeightedSampler } from "../../src/synth/random.ts";
import { SKIP_MODEL, sigmoid, skipLogit } from "../../src/synth/skip-model.ts";
import { GENRE_FAMILIES, GENRES } from "../../src/synth/vocabulary.ts";

describe("Random", () => {
  it("repeats its sequence for a seed and stream, and differs across seeds and streams", () => {
    const draw = (seed: number, stream: string) => {
      const r = new Random(seed, stream);
      return Array.from({ length: 8 }, () => r.nextUint32());
    };
    expect(draw(7, "a")).toEqual(draw(7, "a"));
    expect(draw(7, "a")).not.toEqual(draw(8, "a"));
    expect(draw(7, "a")).not.toEqual(draw(7, "b"));
  });

  it("draws uniforms, normals and gammas with the right moments", () => {
    const r = new Random(1);
    const n = 50_000;
    let u = 0;
    let z = 0;
    let z2 = 0;
    let g = 0;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      u += x;
      const y = r.normal();
      z += y;
      z2 += y * y;
      g += r.gamma(1.5);
    }
    expect(u / n).toBeCloseTo(0.5, 2);
    expect(z / n).toBeCloseTo(0, 1);
    expect(z2 / n).toBeCloseTo(1, 1);
    expect(g / n).toBeCloseTo(1.5, 1);
  });

  it("samples indices in proportion to their weights", () => {
    const sampler = new WeightedSampler([1, 0, 3]);
    const r = new Random(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[sampler.sample(r)]++;
    expect(counts[1]).toBe(0);
    expect(counts[2] / counts[0]).toBeGreaterThan(2.8);
    expect(counts[2] / counts[0]).toBeLessThan(3.2);
  });

  it("makes 22-character base-62 ids", () => {
    expect(randomId(new Random(1))).toMatch(/^[0-9A-Za-z]{22}$/);
  });
});

describe("format", () => {
  it("writes floats as Python's repr does", () => {
    expect(pyFloat(0)).toBe("0.0");
    expect(pyFloat(12)).toBe("12.0");
    expect(pyFloat(0.554)).toBe("0.554");
    expect(pyFloat(1.52e-6)).toBe("1.52e-06");
    expect(pyFloat(-7.237)).toBe("-7.237");
  });

  it("escapes non-ASCII characters like Python's json.dumps", () => {
    expect(jsonString("Kraków")).toBe('"Krak\\u00f3w"');
    expect(JSON.parse(jsonString('Łukasz "x"'))).toBe('Łukasz "x"');
  });

  it("writes ISO timestamps without a fraction on whole seconds and with six digits otherwise", () => {
    const ms = Date.UTC(2023, 1, 15, 9, 1, 59);
    expect(timestampToken("2023L", ms)).toBe('"2023-02-15T09:01:59"');
    expect(timestampToken("2023Z", ms + 734)).toBe('"2023-02-15T09:01:59.734000"');
    expect(timestampToken("epoch", ms + 734)).toBe(String(ms + 734));
  });

  it("formats by hand exactly what Date.toISOString gives, across days and years", () => {
    const r = new Random(9);
    for (let i = 0; i < 20_000; i++) {
      const ms = Date.UTC(2019, 0, 1) + Math.floor(r.next() * 2e11) * (i % 4 === 0 ? 1000 : 1);
      const iso = new Date(ms).toISOString();
      const want = ms % 1000 === 0 ? `"${iso.slice(0, 19)}"` : `"${iso.slice(0, 23)}000"`;
      expect(timestampToken("2023L", ms)).toBe(want);
    }
  });

  it("orders keys per dialect and leaves out keys given as null", () => {
    const keys = (line: string) => Object.keys(JSON.parse(line));
    expect(keys(sessionLineWriter("2023L")('"t"', "1", '"x"', '"PLAY"', "2"))).toEqual([
      "timestamp",
      "user_id",
      "track_id",
      "event_type",
      "session_id",
    ]);
    expect(keys(sessionLineWriter("2023Z")('"t"', "1", '"x"', '"play"', "2"))[0]).toBe("session_id");
    expect(keys(sessionLineWriter("epoch")("5", null, '"x"', '"play"', "2"))).toEqual([
      "session_id",
      "event_type",
      "track_id",
      "timestamp",
    ]);
  });
});

describe("skip model", () => {
  const base = {
    propensity: 0,
    appeal: 0,
    genreMatch: false,
    hiddenTaste: 0,
    position: 0,
    premium: false,
    hour: 15,
    likedBefore: false,
  };
  it("moves the logit in the documented direction for every effect", () => {
    const l0 = skipLogit(base);
    expect(skipLogit({ ...base, genreMatch: true })).toBeCloseTo(l0 + SKIP_MODEL.genreMatch, 10);
    expect(skipLogit({ ...base, premium: true })).toBeLessThan(l0);
    expect(skipLogit({ ...base, likedBefore: true })).toBeLessThan(l0);
    expect(skipLogit({ ...base, position: 30 })).toBeGreaterThan(l0);
    expect(skipLogit({ ...base, hour: 3 })).toBeGreaterThan(skipLogit({ ...base, hour: 15 }));
    expect(skipLogit({ ...base, hiddenTaste: 99 })).toBeCloseTo(l0 + SKIP_MODEL.hiddenTasteClip, 10);
    expect(sigmoid(0)).toBe(0.5);
  });
});

describe("AucAccumulator", () => {
  it("matches the exact pairwise AUC", () => {
    const r = new Random(5);
    const acc = new AucAccumulator();
    const p: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 400; i++) {
      const q = r.next();
      const outcome = r.next() < q ? 1 : 0;
      p.push(q);
      y.push(outcome);
      acc.add(q, outcome);
    }
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < p.length; i++) {
      for (let j = 0; j < p.length; j++) {
        if (y[i] === 1 && y[j] === 0) {
          pairs++;
          wins += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
        }
      }
    }
    expect(acc.value()).toBeCloseTo(wins / pairs, 4);
    expect(new AucAccumulator().value()).toBeNaN();
  });
});

describe("vocabulary", () => {
  it("has more than 100 distinct genres in families", () => {
    expect(GENRES.length).toBeGreaterThan(100);
    expect(new Set(GENRES).size).toBe(GENRES.length);
    expect(GENRE_FAMILIES.length).toBeGreaterThan(10);
  });
});
