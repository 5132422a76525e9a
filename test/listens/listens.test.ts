import { describe, expect, it } from "vitest";
import { EventCode, type EventTable } from "../../src/data/types.ts";
import { buildListens, deriveListens, skipShareOfDecisions } from "../../src/listens/index.ts";
import type { ListenTable } from "../../src/listens/types.ts";
import { type EventRow, makeEvents, smallCatalog } from "./fixtures.ts";

function rows(table: ListenTable) {
  const out = [];
  for (let i = 0; i < table.length; i++) {
    out.push({
      session: table.sessionId[i],
      user: table.userId[i],
      track: table.trackIndex[i],
      start: table.startMs[i],
      sessionStart: table.sessionStartMs[i],
      skipped: table.skipped[i],
      heard: table.heardMs[i],
      position: table.position[i],
      liked: table.liked[i],
    });
  }
  return out;
}

const t0 = Date.parse("2023-01-03T10:00:00Z");
const at = (seconds: number) => t0 + seconds * 1000;

describe("buildListens, sequence rule", () => {
  const catalog = smallCatalog();

  it("pairs each play with the following skip of the same track and plays out the rest", () => {
    const events = makeEvents(catalog, [
      [10, at(0), 1, "advertisement", null],
      [10, at(1), 1, "play", "A"],
      [10, at(2), 1, "like", "A"],
      [10, at(30), 1, "skip", "A"],
      [10, at(31), 1, "play", "B"],
      [10, at(280), 1, "play", "C"],
      [10, at(300), 1, "skip", "C"],
    ]);
    expect(rows(buildListens(events, catalog))).toEqual([
      {
        session: 10,
        user: 1,
        track: 0,
        start: at(1),
        sessionStart: at(0),
        skipped: 1,
        heard: 29_000,
        position: 0,
        liked: 1,
      },
      {
        session: 10,
        user: 1,
        track: 1,
        start: at(31),
        sessionStart: at(0),
        skipped: 0,
        heard: 240_000,
        position: 1,
        liked: 0,
      },
      {
        session: 10,
        user: 1,
        track: 2,
        start: at(280),
        sessionStart: at(0),
        skipped: 1,
        heard: 20_000,
        position: 2,
        liked: 0,
      },
    ]);
  });

  it("regroups interleaved, out-of-order sessions and sorts the output by start time, then session, then position", () => {
    const events = makeEvents(catalog, [
      [20, at(50), 2, "play", "C"],
      [10, at(10), 1, "skip", "A"],
      [10, at(5), 1, "play", "A"],
      [20, at(40), 2, "buy_premium", null],
      [10, at(50), 1, "play", "B"],
      [20, at(60), 2, "skip", "C"],
      [20, at(60), 2, "play", "A"], // same time as the skip, but later in the file: comes after it
    ]);
    const { listens, anomalies } = deriveListens(events, catalog);
    expect(
      rows(listens).map((r) => [r.session, r.position, r.start, r.skipped, r.heard, r.sessionStart]),
    ).toEqual([
      [10, 0, at(5), 1, 5_000, at(5)],
      [10, 1, at(50), 0, 240_000, at(5)],
      [20, 0, at(50), 1, 10_000, at(40)],
      [20, 1, at(60), 0, 180_000, at(40)],
    ]);
    expect(Object.values(anomalies).every((v) => v === 0)).toBe(true);
  });

  it("counts every event it cannot place and never throws on them", () => {
    const events = makeEvents(catalog, [
      [1, at(0), 1, "skip", "A"], // no play yet
      [1, at(1), 1, "play", "A"],
      [1, at(2), 1, "skip", "B"], // other track
      [1, at(3), 1, "skip", "A"],
      [1, at(4), 1, "skip", "A"], // repeated
      [1, at(5), 1, "like", "C"], // not playing
      [1, at(6), 1, "play", null], // no track: no listen
      [1, at(7), 1, "skip", "A"], // nothing playing since the trackless play
      [1, at(8), 1, "play", "B"],
      [1, at(8 + 500), 1, "skip", "B"], // after the 240 s duration
    ]);
    const { listens, anomalies } = deriveListens(events, catalog);
    expect(anomalies).toEqual({
      skipWithoutPlay: 2,
      skipOfOtherTrack: 1,
      repeatedSkip: 1,
      skipAfterEnd: 1,
      likeWithoutPlay: 1,
      playWithoutTrack: 1,
      negativeDuration: 0,
    });
    expect(rows(listens).map((r) => [r.track, r.skipped, r.heard, r.position])).toEqual([
      [0, 1, 2_000, 0],
      [1, 1, 240_000, 1],
    ]);
  });

  it("marks heard time NaN for a track whose duration is not positive", () => {
    const broken = smallCatalog();
    broken.tracks[2] = { ...broken.tracks[2], durationMs: -5 };
    const events = makeEvents(broken, [
      [1, at(0), 1, "play", "C"],
      [1, at(10), 1, "skip", "C"],
    ]);
    const { listens, anomalies } = deriveListens(events, broken);
    expect(anomalies.negativeDuration).toBe(1);
    expect(listens.skipped[0]).toBe(1);
    expect(Number.isNaN(listens.heardMs[0])).toBe(true);
  });

  it("returns an empty table for no events", () => {
    const listens = buildListens(makeEvents(catalog, []), catalog);
    expect(listens.length).toBe(0);
    expect(listens.startMs.length).toBe(0);
  });
});

describe("premium status at each listen", () => {
  it("dates a purchase: 0 before the user's first buy_premium, 1 from it on; else the catalogue flag", () => {
    const catalog = smallCatalog(); // user 1 premium in users.jsonl (end of period), user 2 not
    const events = makeEvents(catalog, [
      [1, at(0), 1, "play", "A"],
      [1, at(100), 1, "buy_premium", null],
      [1, at(200), 1, "play", "B"],
      [2, at(50), 1, "play", "C"], // another session of user 1, before the purchase
      [3, at(10), 2, "play", "A"],
      [4, at(20), 9, "play", "A"], // user 9 is not in users.jsonl
    ]);
    const listens = buildListens(events, catalog);
    const byStart = rows(listens).map((r, i) => [r.user, r.start, listens.premium[i]]);
    expect(byStart).toEqual([
      [1, at(0), 0],
      [2, at(10), 0],
      [9, at(20), -1],
      [1, at(50), 0],
      [1, at(200), 1],
    ]);
    const withoutPurchase = buildListens(makeEvents(catalog, [[1, at(0), 1, "play", "A"]]), catalog);
    expect(withoutPurchase.premium[0]).toBe(1);
  });
});

describe("buildListens, reference rule", () => {
  const catalog = smallCatalog();
  it("makes one row per (session, track), skipped when any skip of the pair exists", () => {
    const events = makeEvents(catalog, [
      [1, at(0), 1, "play", "A"],
      [1, at(200), 1, "play", "B"],
      [1, at(210), 1, "skip", "B"],
      [1, at(220), 1, "play", "A"],
      [1, at(230), 1, "skip", "A"],
      [1, at(240), 1, "like", "B"],
      [2, at(0), 2, "play", "A"],
    ]);
    const sequence = buildListens(events, catalog, { rule: "sequence" });
    const { listens: reference, anomalies } = deriveListens(events, catalog, { rule: "reference" });
    expect(sequence.length).toBe(4);
    // (1, A): heard from the first play (0 s) to the skip (230 s), capped at the 180 s duration.
    expect(anomalies.skipAfterEnd).toBe(1);
    expect(rows(reference).map((r) => [r.session, r.track, r.position, r.skipped, r.heard, r.liked])).toEqual(
      [
        [1, 0, 0, 1, 180_000, 0],
        [2, 0, 0, 0, 180_000, 0],
        [1, 1, 1, 1, 10_000, 1],
      ],
    );
  });

  it("rejects an unknown rule by name", () => {
    const events = makeEvents(catalog, [[1, at(0), 1, "play", "A"]]);
    expect(() => buildListens(events, catalog, { rule: "other" as "sequence" })).toThrow(
      /unknown listen rule "other"/,
    );
  });
});

describe("skipShareOfDecisions", () => {
  it("is skips / (plays + skips) over events", () => {
    const catalog = smallCatalog();
    const events = makeEvents(catalog, [
      [1, at(0), 1, "play", "A"],
      [1, at(1), 1, "skip", "A"],
      [1, at(2), 1, "play", "B"],
      [1, at(3), 1, "like", "B"],
    ]);
    expect(skipShareOfDecisions(events)).toBeCloseTo(1 / 3, 12);
  });
});

/** Straightforward re-implementation of the sequence rule with comparator sorts, for cross-checking. */
function naiveSequence(events: EventTable, durations: number[]) {
  const idx = Array.from({ length: events.length }, (_, i) => i);
  idx.sort(
    (a, b) =>
      events.sessionId[a] - events.sessionId[b] || events.timestampMs[a] - events.timestampMs[b] || a - b,
  );
  const out: {
    session: number;
    start: number;
    position: number;
    track: number;
    skipped: number;
    heard: number;
  }[] = [];
  let session = Number.NaN;
  let position = 0;
  let current: (typeof out)[number] | null = null;
  for (const e of idx) {
    if (events.sessionId[e] !== session) {
      session = events.sessionId[e];
      position = 0;
      current = null;
    }
    const track = events.trackIndex[e];
    if (events.kind[e] === EventCode.play) {
      current = {
        session,
        start: events.timestampMs[e],
        position: position++,
        track,
        skipped: 0,
        heard: durations[track],
      };
      out.push(current);
    } else if (events.kind[e] === EventCode.skip && current && current.track === track && !current.skipped) {
      current.skipped = 1;
      current.heard = Math.min(durations[track], events.timestampMs[e] - current.start);
    }
  }
  out.sort((a, b) => a.start - b.start || a.session - b.session || a.position - b.position);
  return out;
}

describe("buildListens on random interleaved sessions", () => {
  const catalog = smallCatalog();
  const durations = catalog.tracks.map((t) => t.durationMs);
  for (const [label, scale, base] of [
    ["integer ms over years (3 radix passes)", 1000, Date.parse("2020-01-01T00:00:00Z")],
    ["fractional timestamps (comparator fallback)", 0.5, 0.25],
  ] as const) {
    it(`matches a naive implementation: ${label}`, () => {
      let seed = 7;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      const list: EventRow[] = [];
      for (let i = 0; i < 3000; i++) {
        const session = Math.floor(rand() * 200) * 997; // sparse ids: the Map-based ranking
        const kind = rand() < 0.6 ? "play" : rand() < 0.7 ? "skip" : "like";
        const trackId = ["A", "B", "C"][Math.floor(rand() * 3)];
        const time = base + Math.floor(rand() * 4e7) * scale * (1 + (i % 5) * 1000);
        list.push([session, time, 1, kind, trackId]);
      }
      const events = makeEvents(catalog, list);
      const expected = naiveSequence(events, durations);
      const actual = rows(buildListens(events, catalog)).map((r) => ({
        session: r.session,
        start: r.start,
        position: r.position,
        track: r.track,
        skipped: r.skipped,
        heard: r.heard,
      }));
      expect(actual.length).toBeGreaterThan(1500);
      expect(actual).toEqual(expected);
    });
  }
});
