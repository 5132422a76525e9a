import { describe, expect, it } from "vitest";
import { FEATURE_SCHEMA, FeatureState } from "../../src/features/index.ts";
import { makeCatalog, track, user } from "../listens/fixtures.ts";

// Two tracks alike in every audio feature but danceability (0.2 vs 0.8): standardised over the
// catalogue that dimension is −1 / +1 and every other dimension is 0 (no spread), out of 10.
const catalog = makeCatalog({
  tracks: [track("X", "a", { danceability: 0.2 }), track("Y", "a", { danceability: 0.8 })],
  artists: [{ id: "a", name: "A", genres: ["pop"] }],
  users: [user(1, ["pop"]), user(2, ["pop"])],
});
const taste = (state: FeatureState, userId: number, trackIndex: number) => {
  const v = state.vector({ userId, trackIndex, timestampMs: 1e12 }).values;
  const at = (n: string) => v[FEATURE_SCHEMA.names.indexOf(n)];
  return [at("taste_distance_played"), at("taste_distance_skipped"), at("taste_score")];
};

describe("taste features", () => {
  it("start at the catalogue mean: both distances equal before any outcome", () => {
    const state = new FeatureState(catalog);
    const [p, s, score] = taste(state, 1, 0);
    expect(p).toBeCloseTo(0.1, 6);
    expect(s).toBeCloseTo(0.1, 6);
    expect(score).toBe(0);
  });

  it("measure the track against what the user played out and what they skipped", () => {
    const state = new FeatureState(catalog);
    state.observe({ userId: 1, trackIndex: 0, startMs: 0, skipped: false, heardMs: 200_000 });
    state.observe({ userId: 1, trackIndex: 1, startMs: 1, skipped: true, heardMs: 1_000 });
    // played mean = −1 (own −1, prior −1), skipped mean = +1 → X is at distance 0 / 4, Y at 4 / 0, over 10 dims
    expect(taste(state, 1, 0).map((x) => Number(x.toFixed(6)))).toEqual([0, 0.4, -0.4]);
    expect(taste(state, 1, 1).map((x) => Number(x.toFixed(6)))).toEqual([0.4, 0, 0.4]);
    // a user with no history, and a stranger, get the same numbers from the global means
    expect(taste(state, 2, 1)).toEqual(taste(state, 1, 1));
    expect(taste(state, 999, 1)).toEqual(taste(state, 1, 1));
  });

  it("is NaN for a track outside the catalogue", () => {
    const state = new FeatureState(catalog);
    expect(taste(state, 1, -1).every(Number.isNaN)).toBe(true);
  });
});
