import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EventCode } from "../../src/data/types.ts";
import { FEATURE_COUNT, type FeatureQuery, FeatureState } from "../../src/features/index.ts";
import { decodeSnapshot, encodeSnapshot, type NamedArray } from "../../src/features/snapshot.ts";
import type { LiveEvent } from "../../src/listens/live.ts";
import { makeCatalog, smallCatalog, track, user } from "../listens/fixtures.ts";

function lcg(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** A few hundred random listens over 3 catalogue users, one stranger, 3 tracks and an unknown one. */
function feed(state: FeatureState, count: number, seed: number, from = 0): void {
  const rand = lcg(seed);
  for (let i = 0; i < count; i++) {
    state.observe({
      userId: [1, 2, 3, 77][Math.floor(rand() * 4)],
      trackIndex: Math.floor(rand() * 4) - 1,
      sessionId: Math.floor(rand() * 40),
      startMs: 1_700_000_000_000 + (from + i) * 60_000,
      sessionStartMs: 1_700_000_000_000 + (from + i) * 60_000 - Math.floor(rand() * 1e6),
      skipped: rand() < 0.3,
      heardMs: rand() < 0.1 ? Number.NaN : rand() * 250_000,
      liked: rand() < 0.2,
      premium: rand() < 0.5 ? undefined : rand() < 0.5 ? 1 : 0,
    });
  }
}

const queries: FeatureQuery[] = [
  { userId: 1, trackIndex: 0, timestampMs: 1_800_000_000_000, sessionId: 3 },
  { userId: 2, trackId: "C", timestampMs: 1_800_000_000_000, sessionId: 12, context: { position: 9 } },
  { userId: 77, trackIndex: 1, timestampMs: 1_800_000_000_000 },
  { userId: 2, trackIndex: 1, timestampMs: 1_800_000_000_000, premium: true },
  { userId: 3, trackIndex: 2, timestampMs: 1_800_000_000_000, sessionId: 5000 },
  {
    userId: 4242,
    trackId: "unknown",
    timestampMs: 1_800_000_000_000,
    sessionId: 1,
    context: { previousSkipped: true },
  },
];

function vectors(state: FeatureState): Uint8Array {
  const out = new Float32Array(FEATURE_COUNT * queries.length);
  const cold: number[] = [];
  queries.forEach((q, i) => {
    const { coldStart } = state.vector(q, out, i * FEATURE_COUNT);
    cold.push(coldStart.user ? 1 : 0, coldStart.track ? 1 : 0);
  });
  // Bytes, so NaN payloads and -0 compare exactly too.
  return Buffer.concat([Buffer.from(out.buffer), Buffer.from(cold)]);
}

function catalog3() {
  const c = smallCatalog();
  c.users.set(3, user(3, ["pop", "blues"], null));
  return c;
}

describe("FeatureState snapshot / restore", () => {
  it("round-trips exactly: same vectors for known and unknown ids, same bytes, same future", () => {
    const catalog = catalog3();
    const state = new FeatureState(catalog, { priorStrength: 7 });
    feed(state, 400, 1);
    const bytes = state.snapshot();
    const restored = FeatureState.restore(catalog, bytes);
    expect(restored.options).toEqual(state.options);
    expect(restored.observed).toBe(400);
    expect(Buffer.compare(vectors(restored), vectors(state))).toBe(0);
    expect(Buffer.compare(restored.snapshot(), bytes)).toBe(0);
    // Both keep learning identically after the restore (growth of every table included).
    feed(state, 3000, 2, 400);
    feed(restored, 3000, 2, 400);
    expect(Buffer.compare(vectors(restored), vectors(state))).toBe(0);
    expect(Buffer.compare(restored.snapshot(), state.snapshot())).toBe(0);
  });

  it("round-trips an empty state", () => {
    const catalog = catalog3();
    const state = new FeatureState(catalog);
    const restored = FeatureState.restore(catalog, state.snapshot());
    expect(Buffer.compare(vectors(restored), vectors(state))).toBe(0);
  });

  it("is compact: bytes grow with the history, not with a fixed overhead per listen", () => {
    const catalog = catalog3();
    const state = new FeatureState(catalog);
    feed(state, 5000, 3);
    // 4 users × 4 tracks × 40 sessions bounded tables: far below one row per listen.
    expect(state.snapshot().length).toBeLessThan(20_000);
  });

  it("accepts the bytes at any offset inside a larger buffer", () => {
    const catalog = catalog3();
    const state = new FeatureState(catalog);
    feed(state, 100, 4);
    const bytes = state.snapshot();
    const padded = Buffer.alloc(bytes.length + 3);
    bytes.copy(padded, 3);
    const restored = FeatureState.restore(catalog, padded.subarray(3));
    expect(Buffer.compare(vectors(restored), vectors(state))).toBe(0);
  });

  it("refuses another catalogue, garbage and truncated bytes with a clear message", () => {
    const catalog = catalog3();
    const state = new FeatureState(catalog);
    feed(state, 50, 5);
    const bytes = state.snapshot();
    const other = makeCatalog({ tracks: [track("Q", "ar9")], artists: [], users: [] });
    expect(() => FeatureState.restore(other, bytes)).toThrow(/another catalogue/);
    expect(() => FeatureState.restore(catalog, Buffer.from("hello world, not a snapshot"))).toThrow(
      /not a skipwise feature-state snapshot/,
    );
    expect(() => FeatureState.restore(catalog, bytes.subarray(0, bytes.length - 16))).toThrow(/truncated/);
  });
});

/** A random event stream over catalogue users, strangers, 3 tracks, an unknown one and 30 sessions. */
function eventStream(count: number, seed: number): LiveEvent[] {
  const rand = lcg(seed);
  const kinds = [
    EventCode.play,
    EventCode.play,
    EventCode.play,
    EventCode.skip,
    EventCode.like,
    EventCode.advertisement,
    EventCode.buy_premium,
  ];
  let t = 1_700_000_000_000;
  return Array.from({ length: count }, () => {
    t += Math.floor(rand() * 90_000);
    return {
      kind: kinds[Math.floor(rand() * kinds.length)],
      timestampMs: t,
      userId: [1, 2, 3, 77, 78][Math.floor(rand() * 5)],
      sessionId: 1 + Math.floor(rand() * 30),
      trackIndex: Math.floor(rand() * 4) - 1,
    };
  });
}

describe("FeatureState snapshot / restore on an event stream", () => {
  it("restored mid-stream (listens still open), answers every later writeVector as the original does", () => {
    const catalog = catalog3();
    const events = eventStream(6000, 9);
    const original = new FeatureState(catalog);
    const cut = 2500;
    for (const e of events.slice(0, cut)) original.applyEvent(e);
    const bytes = original.snapshot();
    expect(
      decodeSnapshot(bytes)
        .arrays.get("live.open")
        ?.some((open) => open === 1),
    ).toBe(true);
    const restored = FeatureState.restore(catalog, bytes);
    expect(Buffer.compare(restored.snapshot(), bytes)).toBe(0);

    const a = new Float32Array(FEATURE_COUNT);
    const b = new Float32Array(FEATURE_COUNT);
    let compared = 0;
    for (const e of events.slice(cut)) {
      original.applyEvent(e);
      restored.applyEvent(e);
      // Some queries name the event's session (they finish its open listen), some another user or none.
      const query: FeatureQuery = {
        userId: compared % 5 === 0 ? 4242 : e.userId,
        trackIndex: e.trackIndex,
        timestampMs: e.timestampMs + 1000,
        sessionId: compared % 3 === 0 ? undefined : e.sessionId,
      };
      const coldA = original.writeVector(query, a, 0);
      const coldB = restored.writeVector(query, b, 0);
      expect(coldB).toBe(coldA);
      expect(Buffer.compare(Buffer.from(b.buffer), Buffer.from(a.buffer))).toBe(0);
      compared++;
    }
    expect(restored.observed).toBe(original.observed);
    expect(restored.observed).toBeGreaterThan(1000);
    expect(Buffer.compare(restored.snapshot(), original.snapshot())).toBe(0);
  });

  it("keeps the snapshot format: array names, types and order, and the bytes of a known state", () => {
    // Bundles embed these bytes (and their bundle_version hashes them): a change here must be deliberate
    // (a new FEATURE_SCHEMA version, or a new snapshot format), never a side effect of a refactoring.
    const t0 = Date.parse("2023-01-03T10:00:00Z");
    const state = new FeatureState(smallCatalog(), { pairPriorStrength: 4 });
    const e = (kind: number, s: number, userId: number, sessionId: number, trackIndex = -1) =>
      state.applyEvent({ kind, timestampMs: t0 + s * 1000, userId, sessionId, trackIndex });
    e(EventCode.advertisement, 0, 1, 10);
    e(EventCode.play, 1, 1, 10, 0);
    e(EventCode.like, 5, 1, 10, 0);
    e(EventCode.play, 10, 2, 20, 2);
    e(EventCode.skip, 40, 2, 20, 2);
    e(EventCode.play, 200, 1, 10, 1);
    e(EventCode.buy_premium, 210, 2, 20);
    e(EventCode.play, 220, 9, 30, 1);
    state.observe({ userId: 5, trackIndex: -1, startMs: t0, skipped: true, premium: null });
    const bytes = state.snapshot();
    const layout = [...decodeSnapshot(bytes).arrays].map(([name, a]) => `${name}:${a.constructor.name}`);
    const tally = (name: string, full: boolean) =>
      full
        ? [
            `${name}.listens:U`,
            `${name}.skips:U`,
            `${name}.likes:U`,
            `${name}.heardCount:U`,
            `${name}.heardSum:F`,
          ]
        : [`${name}.listens:U`, `${name}.skips:U`];
    const expected = [
      "userIds:I",
      "userLastMs:F",
      "userPremium:Int8Array",
      ...tally("global", true),
      ...tally("users", true),
      ...tally("userStatus", false),
      ...tally("tracks", true),
      ...tally("artists", true),
      "userArtist.first:I",
      "userArtist.second:I",
      ...tally("userArtist", false),
      "userGenre.first:I",
      "userGenre.second:I",
      ...tally("userGenre", false),
      "userTrack.first:I",
      "userTrack.second:I",
      ...tally("userTrack", false),
      "userTrack.likes:U",
      ..."sessionIds:I startMs:F listens:U skips:U lastSkipped:Uint8Array lastHeardFraction:F"
        .split(" ")
        .map((n) => `sessions.${n}`),
      ..."playedSum:F skippedSum:F playedCount:U skippedCount:U globalPlayedSum:F globalSkippedSum:F globalCounts:U"
        .split(" ")
        .map((n) => `taste.${n}`),
      ..."sessionIds:I sessionStartMs:F listens:U open:Uint8Array openUser:I openTrack:I openStartMs:F openLiked:Uint8Array openSeq:F nextSeq:F"
        .split(" ")
        .map((n) => `live.${n}`),
    ].map((n) =>
      n.replace(/:I$/, ":Int32Array").replace(/:U$/, ":Uint32Array").replace(/:F$/, ":Float64Array"),
    );
    expect(layout).toEqual(expected);
    // Made by the code before the families owned their columns (commit 2b3219b).
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(
      "99862ae1995de31c692e3916683ed82e52015d9674f1e69409fc69af8f5b67a4",
    );
    expect(Buffer.compare(FeatureState.restore(smallCatalog(), bytes).snapshot(), bytes)).toBe(0);
  });

  it("names the family and the array when a snapshot's arrays are damaged", () => {
    const catalog = catalog3();
    const state = new FeatureState(catalog);
    for (const e of eventStream(500, 4)) state.applyEvent(e);
    const { meta, arrays } = decodeSnapshot(state.snapshot());
    const damaged = (change: (a: Map<string, NamedArray>) => void) => {
      const copy = new Map(arrays);
      change(copy);
      return encodeSnapshot(meta, Object.fromEntries(copy));
    };
    const restore = (bytes: Buffer) => () => FeatureState.restore(catalog, bytes);
    expect(restore(damaged((a) => a.delete("sessions.startMs")))).toThrow(
      'feature-state snapshot, sessions family: lacks array "startMs"',
    );
    const users = arrays.get("userIds") as Int32Array;
    expect(users.length).toBe(5); // 3 catalogue users, 2 strangers
    expect(restore(damaged((a) => a.set("userLastMs", new Float64Array(1))))).toThrow(
      /users family: array "userLastMs" has 1 values, expected 5/,
    );
    expect(restore(damaged((a) => a.set("userTrack.skips", new Int32Array(1))))).toThrow(
      /history family: array "userTrack.skips" is a Int32Array, expected a Uint32Array/,
    );
    expect(restore(damaged((a) => a.set("tracks.listens", new Uint32Array(2))))).toThrow(/history family/);
    expect(restore(damaged((a) => a.set("taste.globalCounts", new Uint32Array(3))))).toThrow(/taste family/);
    expect(restore(damaged((a) => a.delete("live.openSeq")))).toThrow(
      /live family: live listens: column "openSeq" is missing/,
    );
    const swapped = Int32Array.from(users);
    [swapped[0], swapped[1]] = [users[1], users[0]];
    expect(restore(damaged((a) => a.set("userIds", swapped)))).toThrow(/out of the catalogue's order/);
    const repeated = Int32Array.from(users);
    repeated[4] = repeated[3];
    expect(restore(damaged((a) => a.set("userIds", repeated)))).toThrow(/or repeated/);
  });
});
