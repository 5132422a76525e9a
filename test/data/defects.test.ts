// Every defect kind and both session repair rules, in one small hand-written delivery whose expected
// outcome is worked out line by line in the comments.
import { beforeAll, describe, expect, it } from "vitest";
import { DEFECT_KINDS, type Delivery, loadDelivery } from "../../src/data/index.ts";
import { EventCode } from "../../src/data/types.ts";
import { ARTISTS, ev, track, writeDelivery } from "./fixture.ts";

const T = Date.UTC(2023, 4, 6, 7, 8, 9);
const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "");

const SESSIONS = [
  /* 1 */ ev(1, iso(T), 101, "play", "t1"), // kept
  /* 2 */ ev(1, iso(T + 1000), null, "play", "t2"), // null user; session 1 names only 101 → repaired
  /* 3 */ ev(1, iso(T + 2000), 101, "skip", null), // null track right after play t2 → repaired
  /* 4 */ ev(1, iso(T + 3000), 101, "play", "t3"), // kept
  /* 5 */ ev(1, iso(T + 4000), null, "like", ""), // both rules: user 101, track t3
  /* 6 */ ev(1, iso(T + 5000), 101, "advertisement", null), // kept
  /* 7 */ ev(1, iso(T + 6000), 101, "skip", null), // previous event is an ad → null_track_id quarantined
  /* 8 */ ev(1, iso(T), 101, "play", "t1"), // byte-identical to line 1 → duplicate_row
  /* 9 */ ev(2, iso(T + 10_000), 101, "play", "t1"), // kept
  /* 10 */ ev(2, iso(T + 11_000), 102, "play", "t2"), // kept
  /* 11 */ ev(2, iso(T + 12_000), null, "play", "t3"), // session names two users → null_user_id quarantined
  /* 12 */ ev(3, iso(T + 20_000), null, "play", "t1"), // session names nobody → null_user_id quarantined
  /* 13 */ ev(3, iso(T + 21_000), null, null, "t1"), // null user + null type → quarantined as null_event_type
  /* 14 */ ev(4, iso(T + 30_000), 102, "play", null), // play without track → null_track_id quarantined
  /* 15 */ ev(4, iso(T + 31_000), 102, "skip", null), // previous play has no track → null_track_id quarantined
  /* 16 */ { timestamp: iso(T + 32_000), user_id: 102, track_id: "t1", session_id: 4 }, // no event_type key
  /* 17 */ ev(4, iso(T + 33_000), 102, "", "t1"), // empty event type → null_event_type
  /* 18 */ ev(4, iso(T + 34_000), 102, "pause", "t1"), // unknown_event_type
  /* 19 */ ev(4, iso(T + 35_000), 102, 5, "t1"), // unknown_event_type
  /* 20 */ ev(4, "yesterday", 102, "play", "t1"), // bad_timestamp
  /* 21 */ ev(4, "2023-13-01T00:00:00", 102, "play", "t1"), // bad_timestamp (month 13)
  /* 22 */ ev(4, 1672531200, 102, "play", "t1"), // epoch seconds read as ms = 1970 → bad_timestamp
  /* 23 */ ev(4, null, 102, "play", "t1"), // bad_timestamp
  /* 24 */ ev(4, iso(T + 40_000), 999, "play", "t1"), // unknown_user
  /* 25 */ ev(4, iso(T + 41_000), 102, "play", "nope"), // unknown_track
  /* 26 */ ev(null as unknown as number, iso(T + 42_000), 102, "play", "t1"), // null_session_id
  /* 27 */ ev("abc" as unknown as number, iso(T + 43_000), 102, "play", "t1"), // null_session_id
  /* 28 */ '{"timestamp": "2023-05-06T07:08:09", "user_id": 101', // malformed_json
  /* 29 */ "[1, 2, 3]", // malformed_json
  /* 30 */ "not json at all", // malformed_json
  /* 31 */ ev(4, iso(T + 44_000), 102, "skip", "t1"), // kept
];

const USERS = [
  { user_id: 101, name: "A", city: "C", street: "S", favourite_genres: null, premium_user: false },
  { user_id: 102, name: "B", city: "C", street: "S", favourite_genres: ["pop"], premium_user: null },
  { user_id: "x", name: "Bad", city: "C", street: "S", favourite_genres: [], premium_user: true },
  { user_id: 101, name: "Other", city: "C", street: "S", favourite_genres: [], premium_user: true },
];

const ARTIST_LINES = [
  { id: "a1", name: "Artist One", genres: null },
  ARTISTS[1],
  { id: -1, name: "Minus", genres: ["x"] },
  { id: "", name: "Empty", genres: ["x"] },
  { id: "a2", name: "Again", genres: [] },
];

const TRACK_LINES = [
  track("t1", "a1"),
  track("t2", "a2"),
  track("t3", "a1"),
  track("t4", "zz"), // unknown_artist: kept
  track("t5", "a1", { duration_ms: "long" }), // bad_track_field
  (() => {
    const t = track("t6", "a1");
    delete t.tempo;
    return t;
  })(), // bad_track_field (missing)
  track("t7", "a1", { release_date: "soon" }), // bad_track_field
  track("t1", "a1", { popularity: 99 }), // duplicate_id
];

const STORAGE_LINES = [
  { track_id: "t1", storage_class: "SLOW", daily_cost: 0.01 },
  { track_id: "t2", storage_class: "warm", daily_cost: 0.01 }, // bad_storage_field
  { track_id: "gone", storage_class: "fast", daily_cost: 0.02 }, // kept, no such track
  { track_id: "t3", storage_class: "medium", daily_cost: 0.03 },
  { track_id: "t3", storage_class: "medium", daily_cost: 0.04 }, // duplicate_id
  { track_id: "t4", storage_class: "medium", daily_cost: -1 }, // bad_storage_field
];

const EXPECTED: Record<string, [number, number, number]> = {
  malformed_json: [3, 0, 3],
  duplicate_row: [1, 0, 1],
  null_user_id: [5, 2, 2],
  null_event_type: [3, 0, 3],
  unknown_event_type: [2, 0, 2],
  null_track_id: [5, 2, 3],
  bad_timestamp: [4, 0, 4],
  unknown_user: [1, 0, 1],
  unknown_track: [1, 0, 1],
  null_session_id: [2, 0, 2],
  null_favourite_genres: [1, 1, 0],
  null_premium_user: [1, 1, 0],
  null_artist_genres: [1, 1, 0],
  bad_artist_id: [2, 0, 2],
  unknown_artist: [1, 0, 0],
  bad_track_field: [3, 0, 3],
  bad_user_id: [1, 0, 1],
  bad_storage_field: [2, 0, 2],
  duplicate_id: [4, 0, 4],
};

describe("every defect kind", () => {
  let d: Delivery;
  let slow: Delivery;
  beforeAll(async () => {
    const dir = writeDelivery({
      users: USERS,
      artists: ARTIST_LINES,
      tracks: TRACK_LINES,
      track_storage: STORAGE_LINES,
      sessions: SESSIONS,
    });
    d = await loadDelivery(dir);
    slow = await loadDelivery(dir, { fastPath: false });
  });

  it("counts found / repaired / quarantined for every kind", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...DEFECT_KINDS].sort());
    for (const kind of DEFECT_KINDS) {
      const [found, repaired, quarantined] = EXPECTED[kind];
      expect(d.quality.defects[kind], kind).toEqual({ found, repaired, quarantined });
    }
  });

  it("gives every line exactly one outcome per file", () => {
    const s = d.quality.files.sessions;
    expect(s).toMatchObject({ lines: 31, kept: 6, repaired: 3, quarantined: 22 });
    expect(s?.repairedByRule).toEqual({ user_from_session: 2, track_from_preceding_play: 2 });
    expect(s?.quarantinedByReason).toEqual({
      duplicate_row: 1,
      malformed_json: 3,
      null_user_id: 2,
      null_event_type: 3,
      unknown_event_type: 2,
      null_track_id: 3,
      bad_timestamp: 4,
      unknown_user: 1,
      unknown_track: 1,
      null_session_id: 2,
    });
    expect(d.quality.files.users).toMatchObject({ lines: 4, kept: 0, repaired: 2, quarantined: 2 });
    expect(d.quality.files.artists).toMatchObject({ lines: 5, kept: 1, repaired: 1, quarantined: 3 });
    expect(d.quality.files.tracks).toMatchObject({ lines: 8, kept: 4, repaired: 0, quarantined: 4 });
    expect(d.quality.files.track_storage).toMatchObject({ lines: 6, kept: 3, repaired: 0, quarantined: 3 });
  });

  it("applies both repair rules to the right rows and keeps nothing else that is defective", () => {
    const e = d.events;
    expect(Array.from(e.line)).toEqual([1, 2, 3, 4, 5, 6, 9, 10, 31]);
    const track = (row: number) => d.catalog.tracks[e.trackIndex[row]].id;
    expect(e.userId[1]).toBe(101); // line 2
    expect(track(2)).toBe("t2"); // line 3: skip takes the preceding play's track
    expect([e.userId[4], track(4), e.kind[4]]).toEqual([101, "t3", EventCode.like]); // line 5: both rules
    expect(Array.from(e.userId)).toEqual([101, 101, 101, 101, 101, 101, 101, 102, 102]);
  });

  it("reports join integrity", () => {
    expect(d.quality.joins).toEqual({
      eventsUnknownUser: 1,
      eventsUnknownTrack: 1,
      tracksUnknownArtist: 1,
      storageWithoutTrack: 1,
      tracksWithoutStorage: 2,
      usersWithoutEvents: 0,
    });
    expect(d.catalog.tracks.map((t) => t.id)).toEqual(["t1", "t2", "t3", "t4"]);
    expect(d.catalog.tracks[0].popularity).toBe(50); // the first t1 wins over the duplicate id
    expect(d.catalog.users.get(101)?.favouriteGenres).toEqual([]);
    expect(d.catalog.users.get(101)?.name).toBe("A");
    expect(d.catalog.users.get(102)?.premium).toBeNull();
    expect(d.catalog.artists.get("a1")?.genres).toEqual([]);
  });

  it("keeps an example with file, line, reason and excerpt for every quarantine reason", () => {
    const reasons = new Set(d.quality.examples.map((x) => x.reason));
    for (const [kind, [, , quarantined]] of Object.entries(EXPECTED)) {
      expect(reasons.has(kind as never), kind).toBe(quarantined > 0);
    }
    expect(d.quality.examples).toContainEqual({
      file: "sessions.jsonl",
      line: 30,
      reason: "malformed_json",
      excerpt: "not json at all",
    });
    expect(d.quality.examples).toContainEqual(
      expect.objectContaining({ file: "sessions.jsonl", line: 8, reason: "duplicate_row" }),
    );
    expect(d.quality.examples).toContainEqual(
      expect.objectContaining({ file: "sessions.jsonl", line: 11, reason: "null_user_id" }),
    );
  });

  it("gives identical results through the JSON.parse path", () => {
    expect(slow.events).toEqual(d.events);
    expect(slow.catalog).toEqual(d.catalog);
    const { dialect: fastDialect, ...fastRest } = d.quality;
    const { dialect: slowDialect, ...slowRest } = slow.quality;
    expect(slowRest).toEqual(fastRest);
    expect({ ...slowDialect, sessionsFastPathLines: 0 }).toEqual({
      ...fastDialect,
      sessionsFastPathLines: 0,
    });
    expect(slowDialect.sessionsFastPathLines).toBe(0);
    expect(fastDialect.sessionsFastPathLines).toBeGreaterThan(20);
  });
});

describe("repair rules need unambiguous evidence", () => {
  it("does not take a track from a play of another session or a non-adjacent play", async () => {
    const d = await loadDelivery(
      writeDelivery({
        sessions: [
          ev(1, iso(T), 101, "play", "t1"),
          ev(2, iso(T + 1000), 101, "skip", null), // first event of session 2: no preceding play
          ev(1, iso(T + 2000), 101, "like", "t1"),
          ev(1, iso(T + 3000), 101, "skip", null), // preceded (in session 1) by a like
        ],
      }),
    );
    expect(d.quality.defects.null_track_id).toEqual({ found: 2, repaired: 0, quarantined: 2 });
    expect(Array.from(d.events.line)).toEqual([1, 3]);
  });

  it("repairs a user across interleaved sessions (file order within the session)", async () => {
    const d = await loadDelivery(
      writeDelivery({
        sessions: [
          ev(1, iso(T), 101, "play", "t1"),
          ev(2, iso(T + 500), 102, "play", "t2"),
          ev(1, iso(T + 1000), null, "skip", null), // session 1: user 101, preceding session-1 event plays t1
          ev(2, iso(T + 1500), null, "like", null),
        ],
      }),
    );
    expect(Array.from(d.events.userId)).toEqual([101, 102, 101, 102]);
    expect(Array.from(d.events.trackIndex)).toEqual([0, 1, 0, 1]);
    expect(d.quality.files.sessions?.repairedByRule).toEqual({
      user_from_session: 2,
      track_from_preceding_play: 2,
    });
  });
});
