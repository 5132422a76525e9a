// POST /v1/events: the delivery's own records, in any dialect the loader reads, teach the online state
// exactly what the same events teach training; a bad record is refused with its field and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventCode } from "../../src/data/types.ts";
import { FeatureState } from "../../src/features/index.ts";
import type { BundleScorer } from "../../src/serve/bundle-scorer.ts";
import { REFERENCE_TRACK, savedWorld } from "./fixture.ts";
import { postJson, type Running, startApp } from "./helpers.ts";

describe("POST /v1/events", () => {
  let s: Running;
  let scorer: BundleScorer;
  let t0: number;

  beforeAll(async () => {
    const built = savedWorld();
    scorer = built.scorer;
    t0 = built.world.endMs + 60_000;
    s = await startApp({ scorer });
  });
  afterAll(async () => {
    await s.close();
  });

  const explain = async (user: number, t: number, session?: number) =>
    (
      await postJson(`${s.url}/v1/predict`, {
        user_id: user,
        track_id: REFERENCE_TRACK,
        model: "gbdt",
        timestamp_ms: t,
        explain: true,
        ...(session === undefined ? {} : { session: { session_id: session } }),
      })
    ).body;

  it("accepts every dialect and learns from them as FeatureState.applyEvent does", async () => {
    const twin = FeatureState.restore(scorer.state.catalog, scorer.state.snapshot());
    const iso = new Date(t0).toISOString().replace("Z", "");
    const answer = await postJson(`${s.url}/v1/events`, {
      events: [
        { session_id: 900001, timestamp: iso, user_id: 101, track_id: null, event_type: "ADVERTISMENT" },
        {
          event_type: "Play",
          session_id: "900001",
          timestamp: t0 + 1000,
          user_id: 101,
          track_id: REFERENCE_TRACK,
          extra: 1,
        },
        {
          session_id: 900001,
          timestamp: t0 + 9000,
          user_id: "101",
          track_id: REFERENCE_TRACK,
          event_type: "skip",
        },
        { session_id: 900001, timestamp: t0 + 9500, user_id: 101, event_type: "BUY_PREMIUM" },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ accepted: 4, learned: 4, repeats: 0 });
    const track = twin.trackIndexOf(REFERENCE_TRACK);
    for (const [kind, t, trackIndex] of [
      [EventCode.advertisement, t0, -1],
      [EventCode.play, t0 + 1000, track],
      [EventCode.skip, t0 + 9000, track],
      [EventCode.buy_premium, t0 + 9500, -1],
    ]) {
      twin.applyEvent({ kind, timestampMs: t, userId: 101, sessionId: 900001, trackIndex });
    }
    const served = await explain(101, t0 + 20_000, 900001);
    const expected = twin.vector({
      userId: 101,
      trackId: REFERENCE_TRACK,
      timestampMs: t0 + 20_000,
      sessionId: 900001,
    });
    expect(served.features.session_position).toBe(1);
    expect(served.features.session_prev_skipped).toBe(1);
    expect(served.features.session_elapsed_ms).toBe(20_000);
    expect(served.features.premium).toBe(1);
    Object.values(served.features).forEach((v, j) => {
      const want = expected.values[j];
      expect(v === null ? Number.isNaN(want) : Math.fround(v as number) === want).toBe(true);
    });
  });

  it("refuses a batch with one bad record, naming its index and field, and learns nothing from it", async () => {
    const before = await explain(102, t0 + 100_000);
    const cases: [Record<string, unknown>, string][] = [
      [
        { session_id: 1, timestamp: t0, user_id: 102, track_id: REFERENCE_TRACK, event_type: "pause" },
        "event_type",
      ],
      [{ session_id: 1, timestamp: t0, user_id: 102, track_id: REFERENCE_TRACK }, "event_type"],
      [
        { session_id: -1, timestamp: t0, user_id: 102, track_id: REFERENCE_TRACK, event_type: "play" },
        "session_id",
      ],
      [
        {
          session_id: 1,
          timestamp: "yesterday",
          user_id: 102,
          track_id: REFERENCE_TRACK,
          event_type: "play",
        },
        "timestamp",
      ],
      [
        { session_id: 1, timestamp: 9e15, user_id: 102, track_id: REFERENCE_TRACK, event_type: "play" },
        "timestamp",
      ],
      [
        { session_id: 1, timestamp: t0, user_id: null, track_id: REFERENCE_TRACK, event_type: "play" },
        "user_id",
      ],
      [{ session_id: 1, timestamp: t0, user_id: 102, track_id: null, event_type: "skip" }, "track_id"],
    ];
    for (const [bad, field] of cases) {
      const good = {
        session_id: 5,
        timestamp: t0 + 10,
        user_id: 102,
        track_id: REFERENCE_TRACK,
        event_type: "play",
      };
      const answer = await postJson(`${s.url}/v1/events`, { events: [good, bad] });
      expect(answer.status).toBe(400);
      expect(answer.body.field).toBe(`events.1.${field}`);
      expect(answer.body.message).toContain(field);
    }
    for (const body of [{}, { events: [] }, { events: "x" }, { events: [1] }, { events: [{}], more: 1 }]) {
      expect((await postJson(`${s.url}/v1/events`, body)).status).toBe(400);
    }
    expect(await explain(102, t0 + 100_000)).toEqual({ ...before, decision_id: expect.any(String) });
  });

  it("uses the request's timestamp on the reference routes and caps the time gap for any clock", async () => {
    const at = (t: number) =>
      postJson(`${s.url}/v1/predict`, {
        user_id: 103,
        track_id: REFERENCE_TRACK,
        model: "gbdt",
        timestamp_ms: t,
        explain: true,
      });
    const recommend = await postJson(`${s.url}/recommend`, {
      user_id: 103,
      track_id: REFERENCE_TRACK,
      timestamp_ms: t0,
    });
    expect(recommend.status).toBe(200);
    const later = (await at(t0 + 400 * 86_400_000)).body.features;
    const muchLater = (await at(Date.now())).body.features;
    expect(later.hours_since_user_last_listen).toBe(720);
    expect(muchLater.hours_since_user_last_listen).toBe(720);
    // Outside the window around the service clock: more than 24 h ahead, or 30 days behind the latest
    // time clients sent (now), is refused and leaves the state alone.
    const clock = scorer.stateClockMs;
    const ahead = await at(Date.now() + 2 * 86_400_000);
    expect(ahead.status).toBe(400);
    expect(ahead.body.message).toMatch(/outside the accepted window/);
    expect((await at(t0)).status).toBe(400);
    expect(scorer.stateClockMs).toBe(clock);
    expect(
      (await postJson(`${s.url}/recommend`, { user_id: 103, track_id: REFERENCE_TRACK, timestamp_ms: 9e15 }))
        .status,
    ).toBe(400);
  });
});
