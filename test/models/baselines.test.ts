import { describe, expect, it } from "vitest";
import {
  genreRuleSkip,
  MajorityModel,
  NaiveGenreModel,
  PreviousOutcomeModel,
} from "../../src/models/index.ts";
import { matrix } from "./fixtures.ts";

const names = ["popularity", "genre_match", "session_prev_skipped"];
const X = matrix([
  [0.5, 1, 0],
  [0.1, 0, 1],
  [0.9, 1, Number.NaN],
  [0.3, 0, 0],
]);
const y = Uint8Array.from([0, 1, 1, 0]);

describe("NaiveGenreModel", () => {
  it("predicts skip exactly when genre_match is 0", () => {
    const m = new NaiveGenreModel().fit(X, y, { featureNames: names });
    expect(Array.from(m.predictProba(X))).toEqual([0, 1, 0, 1]);
    expect(m.predictOne([0.2, 0, 1])).toBe(1);
    expect(m.predictOne([0.2, 1, 1])).toBe(0);
  });

  it("plays (prefetches) when the genre match is unknown (NaN), in batch and one by one", () => {
    const m = new NaiveGenreModel().fit(X, y, { featureNames: names });
    expect(m.predictOne([0.2, Number.NaN, 0])).toBe(0);
    const unknown = matrix([
      [0.2, Number.NaN, 0],
      [0.2, 0, 0],
    ]);
    expect(Array.from(m.predictProba(unknown))).toEqual([0, 1]);
  });

  it("is genreRuleSkip, the one genre rule the cache simulator also replays", () => {
    expect([0, 1, Number.NaN].map(genreRuleSkip)).toEqual([1, 0, 0]);
  });

  it("needs featureNames and the genre_match column", () => {
    expect(() => new NaiveGenreModel().fit(X, y)).toThrow(/featureNames/);
    expect(() => new NaiveGenreModel().fit(X, y, { featureNames: ["a", "b", "c"] })).toThrow(
      /"genre_match" is absent/,
    );
    expect(() => new NaiveGenreModel().fit(X, y, { featureNames: ["genre_match"] })).toThrow(
      /1 names but X has 3/,
    );
  });
});

describe("MajorityModel", () => {
  it("predicts the training skip rate", () => {
    const m = new MajorityModel().fit(X, y);
    expect(Array.from(m.predictProba(X))).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it("weights the rate with sample weights", () => {
    const m = new MajorityModel().fit(X, y, { sampleWeight: Float64Array.from([1, 3, 3, 1]) });
    expect(m.baseRate).toBeCloseTo(0.75, 12);
  });
});

describe("PreviousOutcomeModel", () => {
  it("repeats the previous outcome and falls back to the base rate at a session start", () => {
    const m = new PreviousOutcomeModel().fit(X, y, { featureNames: names });
    expect(Array.from(m.predictProba(X))).toEqual([0, 1, 0.5, 0]);
  });

  it("needs the session_prev_skipped column", () => {
    expect(() => new PreviousOutcomeModel().fit(X, y, { featureNames: ["a", "genre_match", "c"] })).toThrow(
      /session_prev_skipped/,
    );
  });
});
