import { describe, expect, it } from "vitest";
import {
  FEATURE_COUNT,
  FEATURE_DESCRIPTIONS,
  FEATURE_SCHEMA,
  FeatureState,
  type ObservedListen,
} from "../../src/features/index.ts";
import { makeCatalog, smallCatalog, track, user } from "../listens/fixtures.ts";

const t0 = Date.parse("2023-01-03T10:00:00Z"); // a Tuesday
const sec = (s: number) => t0 + s * 1000;
const col = (name: string) => {
  const i = FEATURE_SCHEMA.names.indexOf(name);
  if (i < 0) throw new Error(`no feature ${name}`);
  return i;
};
const named = (values: Float32Array) =>
  Object.fromEntries(FEATURE_SCHEMA.names.map((name, i) => [name, values[i]])) as Record<string, number>;

describe("FEATURE_SCHEMA", () => {
  it("is versioned, unique, 50–70 features, with the columns other modules read by name", () => {
    expect(FEATURE_SCHEMA.version).toMatch(/^skipwise-features\/\d+$/);
    expect(new Set(FEATURE_SCHEMA.names).size).toBe(FEATURE_SCHEMA.names.length);
    expect(FEATURE_COUNT).toBeGreaterThanOrEqual(50);
    expect(FEATURE_COUNT).toBeLessThanOrEqual(70);
    for (const name of [
      "genre_match",
      "session_prev_skipped",
      "user_skip_rate",
      "track_skip_rate",
      "fav_genre_15",
    ]) {
      expect(FEATURE_SCHEMA.names).toContain(name);
    }
    expect(Object.isFrozen(FEATURE_SCHEMA.names)).toBe(true);
  });

  it("describes every feature, and nothing else", () => {
    expect(Object.keys(FEATURE_DESCRIPTIONS).sort()).toEqual([...FEATURE_SCHEMA.names].sort());
    for (const text of Object.values(FEATURE_DESCRIPTIONS)) expect(text.length).toBeGreaterThan(5);
  });
});

describe("FeatureState smoothing on a hand-made history", () => {
  // Defaults: global prior 0.3 with strength 10; entities strength 10 toward the global rate;
  // pairs and sessions strength 3 toward the user's rate.
  const catalog = smallCatalog(); // A, B by ar1 (rock, pop); C by ar2 (jazz); user 1 likes rock, user 2 jazz+blues
  const state = new FeatureState(catalog);
  const listens: ObservedListen[] = [
    // user 1, session 100 (started at -5 s): A skipped after 45 s of 180 s, then B played out and liked
    {
      userId: 1,
      trackIndex: 0,
      sessionId: 100,
      startMs: sec(0),
      sessionStartMs: sec(-5),
      skipped: true,
      heardMs: 45_000,
    },
    {
      userId: 2,
      trackIndex: 2,
      sessionId: 200,
      startMs: sec(30),
      sessionStartMs: sec(30),
      skipped: false,
      heardMs: 300_000,
    },
    {
      userId: 1,
      trackIndex: 1,
      sessionId: 100,
      startMs: sec(60),
      sessionStartMs: sec(-5),
      skipped: false,
      heardMs: 240_000,
      liked: true,
    },
  ];
  for (const l of listens) state.observe(l);
  const v = named(state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(300), sessionId: 100 }).values);

  const global = (1 + 0.3 * 10) / (3 + 10);
  const globalHeard = (0.25 + 1 + 1 + 0.7 * 10) / (3 + 10);
  const globalLike = 1 / 13;
  const userRate = (1 + 10 * global) / (2 + 10);

  it("computes the global, user, track and artist rates exactly", () => {
    expect(v.global_skip_rate).toBeCloseTo(4 / 13, 6);
    expect(v.user_skip_rate).toBeCloseTo(userRate, 6);
    expect(v.user_listens).toBe(2);
    expect(v.user_heard_fraction).toBeCloseTo((1.25 + 10 * globalHeard) / 12, 6);
    expect(v.user_like_rate).toBeCloseTo((1 + 10 * globalLike) / 12, 6);
    expect(v.hours_since_user_last_listen).toBeCloseTo(240 / 3600, 6);
    expect(v.track_skip_rate).toBeCloseTo((1 + 10 * global) / 11, 6);
    expect(v.track_listens).toBe(1);
    expect(v.track_heard_fraction).toBeCloseTo((0.25 + 10 * globalHeard) / 11, 6);
    expect(v.artist_skip_rate).toBeCloseTo((1 + 10 * global) / 12, 6);
    expect(v.artist_listens).toBe(2);
  });

  it("smooths the user's pairs toward the user's rate", () => {
    expect(v.user_artist_skip_rate).toBeCloseTo((1 + 3 * userRate) / (2 + 3), 6);
    expect(v.user_artist_listens).toBe(2);
    // rock and pop each saw 2 listens (1 skip): summed over the track's genres
    expect(v.user_genre_skip_rate).toBeCloseTo((2 + 3 * userRate) / (4 + 3), 6);
    expect(v.user_genre_listens).toBe(4);
    const logit = (p: number) => Math.log(p / (1 - p));
    const perGenre = logit((1 + 3 * userRate) / (2 + 3)) - logit(userRate);
    expect(v.user_genre_logit_sum).toBeCloseTo(2 * perGenre, 5);
    expect(v.user_track_skip_rate).toBeCloseTo((1 + 3 * userRate) / (1 + 3), 6);
    expect(v.user_track_listens).toBe(1);
    expect(v.liked_before).toBe(0);
    const b = named(state.vector({ userId: 1, trackIndex: 1, timestampMs: sec(300) }).values);
    expect(b.liked_before).toBe(1);
    expect(b.user_track_skip_rate).toBeCloseTo((0 + 3 * userRate) / (1 + 3), 6);
  });

  it("writes genre, favourite, content, premium and clock features", () => {
    expect(state.favouriteGenres).toEqual(["blues", "jazz", "rock"]);
    expect(v.genre_match).toBe(1);
    expect(v.genre_match_count).toBe(1);
    expect(v.track_genre_count).toBe(2);
    expect([v.fav_genre_0, v.fav_genre_1, v.fav_genre_2, v.fav_genre_3, v.fav_genre_15]).toEqual([
      0, 0, 1, 0, 0,
    ]);
    expect(v.premium).toBe(1);
    expect(v.duration_ms).toBe(180_000);
    expect(v.popularity).toBe(50);
    expect(v.explicit).toBe(0);
    expect(v.release_year).toBe(2010);
    expect(v.tempo).toBe(120);
    expect(v.loudness).toBe(-7);
    expect(v.hour).toBe(10);
    expect(v.weekday).toBe(2);
    const c = named(state.vector({ userId: 1, trackId: "C", timestampMs: sec(300) }).values);
    expect([c.genre_match, c.genre_match_count, c.track_genre_count]).toEqual([0, 0, 1]);
  });

  it("reads the session context from its own record of the session", () => {
    expect(v.session_position).toBe(2);
    expect(v.session_skips).toBe(1);
    expect(v.session_plays).toBe(1);
    expect(v.session_prev_skipped).toBe(0);
    expect(v.session_prev_heard_fraction).toBe(1);
    expect(v.session_skip_rate).toBeCloseTo((1 + 3 * userRate) / (2 + 3), 6);
    expect(v.session_elapsed_ms).toBe(305_000);
  });

  it("does not change when asked twice (vector has no side effect)", () => {
    const again = state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(300), sessionId: 100 }).values;
    expect(named(again)).toEqual(v);
    expect(state.observed).toBe(3);
  });
});

describe("FeatureState session context", () => {
  const catalog = smallCatalog();
  const state = new FeatureState(catalog);
  state.observe({
    userId: 1,
    trackIndex: 0,
    sessionId: 7,
    startMs: sec(0),
    sessionStartMs: sec(-10),
    skipped: 1,
    heardMs: 9000,
  });
  const query = (extra: object) =>
    named(state.vector({ userId: 1, trackIndex: 1, timestampMs: sec(20), ...extra }).values);

  it("opens a new session when it knows neither the session nor a position", () => {
    const s = query({ sessionId: 8 });
    expect([s.session_position, s.session_skips, s.session_plays, s.session_elapsed_ms]).toEqual([
      0, 0, 0, 0,
    ]);
    expect(Number.isNaN(s.session_prev_skipped)).toBe(true);
    expect(s.session_skip_rate).toBeCloseTo(s.user_skip_rate, 6);
  });

  it("uses the previous outcome of a known session and its recorded start", () => {
    const s = query({ sessionId: 7 });
    expect([s.session_position, s.session_skips, s.session_plays, s.session_prev_skipped]).toEqual([
      1, 1, 0, 1,
    ]);
    expect(s.session_prev_heard_fraction).toBeCloseTo(9000 / 180_000, 6);
    expect(s.session_elapsed_ms).toBe(30_000);
  });

  it("lets a request override position, previous outcome and start", () => {
    const unknown = query({
      sessionId: 99,
      context: { position: 3, previousSkipped: false, sessionStartMs: sec(5) },
    });
    expect(unknown.session_position).toBe(3);
    expect(unknown.session_prev_skipped).toBe(0);
    expect(Number.isNaN(unknown.session_skips)).toBe(true);
    expect(Number.isNaN(unknown.session_plays)).toBe(true);
    expect(unknown.session_elapsed_ms).toBe(15_000);
    const known = query({ sessionId: 7, context: { previousSkipped: null } });
    expect(Number.isNaN(known.session_prev_skipped)).toBe(true);
    expect(Number.isNaN(known.session_prev_heard_fraction)).toBe(true);
    expect(known.session_skips).toBe(1);
    const noSession = query({ context: { position: 0 } });
    expect(noSession.session_position).toBe(0);
    expect(noSession.session_skips).toBe(0);
  });
});

describe("FeatureState cold start", () => {
  const catalog = smallCatalog();
  const state = new FeatureState(catalog);
  state.observe({ userId: 1, trackIndex: 0, sessionId: 1, startMs: sec(0), skipped: 1, heardMs: 1000 });

  it("gives priors and NaN facts for a user and track nobody knows", () => {
    const { values, coldStart } = state.vector({ userId: 999, trackId: "nope", timestampMs: sec(10) });
    expect(coldStart).toEqual({ user: true, track: true });
    const v = named(values);
    const global = (1 + 3) / 11;
    expect(v.global_skip_rate).toBeCloseTo(global, 6);
    expect(v.user_skip_rate).toBeCloseTo(global, 6);
    expect(v.track_skip_rate).toBeCloseTo(global, 6);
    expect(v.artist_skip_rate).toBeCloseTo(global, 6);
    expect(v.user_genre_skip_rate).toBeCloseTo(global, 6);
    expect([
      v.user_listens,
      v.track_listens,
      v.user_track_listens,
      v.liked_before,
      v.user_genre_logit_sum,
    ]).toEqual([0, 0, 0, 0, 0]);
    for (const name of [
      "premium",
      "genre_match",
      "fav_genre_0",
      "duration_ms",
      "tempo",
      "hours_since_user_last_listen",
    ]) {
      expect(Number.isNaN(v[name])).toBe(true);
    }
  });

  it("flags a catalogue user and track that have no history yet but keeps their catalogue facts", () => {
    const { values, coldStart } = state.vector({ userId: 2, trackIndex: 2, timestampMs: sec(10) });
    expect(coldStart).toEqual({ user: true, track: true });
    const v = named(values);
    expect(v.premium).toBe(0);
    expect(v.genre_match).toBe(1);
    expect(v.duration_ms).toBe(300_000);
    expect(state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(10) }).coldStart).toEqual({
      user: false,
      track: false,
    });
  });

  it("learns users and tracks it meets only through observe (not in users.jsonl)", () => {
    const s = new FeatureState(catalog);
    s.observe({ userId: 555, trackIndex: 1, startMs: sec(0), skipped: 0, heardMs: 240_000 });
    const { values, coldStart } = s.vector({ userId: 555, trackIndex: 1, timestampMs: sec(1) });
    expect(coldStart).toEqual({ user: false, track: false });
    expect(values[col("user_listens")]).toBe(1);
    expect(Number.isNaN(values[col("premium")])).toBe(true);
  });

  it("writes into a caller's matrix at an offset without touching other cells", () => {
    const out = new Float32Array(FEATURE_COUNT * 3).fill(-1);
    state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(10) }, out, FEATURE_COUNT);
    expect(out.subarray(0, FEATURE_COUNT).every((x) => x === -1)).toBe(true);
    expect(out.subarray(2 * FEATURE_COUNT).every((x) => x === -1)).toBe(true);
    expect(out[FEATURE_COUNT + col("user_listens")]).toBe(1);
  });
});

describe("FeatureState premium status", () => {
  const catalog = smallCatalog(); // users.jsonl: user 1 premium, user 2 not
  const premiumOf = (state: FeatureState, query: object) =>
    state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(100), ...query }).values[col("premium")];

  it("takes the caller's word, then the latest observed status, then users.jsonl", () => {
    const state = new FeatureState(catalog);
    expect(premiumOf(state, {})).toBe(1);
    state.observe({ userId: 1, trackIndex: 0, startMs: sec(0), skipped: 1, premium: 0 });
    expect(premiumOf(state, {})).toBe(0);
    expect(premiumOf(state, { premium: true })).toBe(1);
    expect(Number.isNaN(premiumOf(state, { premium: null }))).toBe(true);
    state.observe({ userId: 1, trackIndex: 0, startMs: sec(1), skipped: 0, premium: true });
    expect(premiumOf(state, {})).toBe(1);
    expect(Number.isNaN(premiumOf(state, { userId: 31337 }))).toBe(true);
  });

  it("keeps a skip rate per premium status, smoothed toward the user's rate", () => {
    const state = new FeatureState(catalog);
    state.observe({ userId: 1, trackIndex: 0, startMs: sec(0), skipped: 0, premium: 0 });
    state.observe({ userId: 1, trackIndex: 1, startMs: sec(1), skipped: 0, premium: 0 });
    state.observe({ userId: 1, trackIndex: 2, startMs: sec(2), skipped: 1, premium: 1 });
    const global = (1 + 3) / 13;
    const userRate = (1 + 10 * global) / 13;
    const now = named(state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(3) }).values);
    expect(now.user_skip_rate).toBeCloseTo(userRate, 6);
    expect(now.user_status_skip_rate).toBeCloseTo((1 + 3 * userRate) / (1 + 3), 6);
    const asFree = named(
      state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(3), premium: false }).values,
    );
    expect(asFree.user_status_skip_rate).toBeCloseTo((0 + 3 * userRate) / (2 + 3), 6);
    const unknown = named(
      state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(3), premium: null }).values,
    );
    expect(unknown.user_status_skip_rate).toBeCloseTo(userRate, 6);
  });
});

describe("FeatureState with catalogue gaps", () => {
  it("handles a track whose artist is missing from artists.jsonl and a user with no favourites", () => {
    const catalog = makeCatalog({
      tracks: [track("X", "ghost")],
      artists: [],
      users: [user(1, [], null)],
    });
    const state = new FeatureState(catalog);
    state.observe({ userId: 1, trackIndex: 0, startMs: sec(0), skipped: 1, heardMs: 10 });
    const v = named(state.vector({ userId: 1, trackIndex: 0, timestampMs: sec(1) }).values);
    expect([v.genre_match, v.genre_match_count, v.track_genre_count, v.artist_listens]).toEqual([0, 0, 0, 1]);
    expect(Number.isNaN(v.premium)).toBe(true);
    expect(v.fav_genre_0).toBe(0);
    expect(state.favouriteGenres).toEqual([]);
  });
});
