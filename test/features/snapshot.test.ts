import { describe, expect, it } from "vitest";
import { FEATURE_COUNT, type FeatureQuery, FeatureState } from "../../src/features/index.ts";
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
