// Fault cases 1 and 3 of issue 10 against a running app: floods of feedback for unknown listens, hostile
// numbers, replays, and reloads / restarts that must keep what was learned online. Every answer is counted
// into the fault table; every case asserts its own outcome.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/serve/app.ts";
import { scorerFromBundle } from "../../src/serve/bundle-scorer.ts";
import { SqliteDecisionLog } from "../../src/serve/sqlite-decision-log.ts";
import { REFERENCE_TRACK, type SavedWorld, savedWorld } from "../serve/fixture.ts";
import { getText, postJson, tempDir } from "../serve/helpers.ts";
import { countStatus, emptyTally, type FaultTally, recordFaults } from "./table.ts";

const KEY = "fault-suite-admin-key";

async function listen(app: Awaited<ReturnType<typeof buildApp>>): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("no TCP address");
  return `http://127.0.0.1:${address.port}`;
}

/** An app over the saved world's bundle with its own decision log (options for the log). */
async function serveWorld(saved: SavedWorld, db: string, logOptions = {}, extra = {}) {
  const scorer = scorerFromBundle(saved.bundleDir, saved.world.catalog);
  const app = await buildApp({
    scorer,
    bundleDir: saved.bundleDir,
    loadScorer: (dir) => scorerFromBundle(dir, saved.world.catalog),
    log: new SqliteDecisionLog(db, logOptions),
    apiKey: KEY,
    processMetrics: false,
    ...extra,
  });
  return { app, url: await listen(app), scorer };
}

describe("1 feedback flood: bounded lookups, no scan, a rate limit", () => {
  let saved: SavedWorld;
  let dir: string;
  const tally = emptyTally();
  beforeAll(() => {
    saved = savedWorld();
    dir = tempDir("faults-flood");
  });
  afterAll(() => {
    recordFaults("1 feedback flood", tally);
    rmSync(dir, { recursive: true, force: true });
  });

  it("matches feedback by listen among the last N open decisions only, and answers 404 past them", async () => {
    const { app, url } = await serveWorld(saved, join(dir, "bounded.db"), { listenCapacity: 50 });
    try {
      const t = saved.world.endMs;
      const ids: string[] = [];
      for (let user = 1; user <= 80; user++) {
        const r = await postJson(`${url}/v1/predict`, { user_id: user, track_id: "T3", timestamp_ms: t });
        expect(r.status).toBe(200);
        ids.push(r.body.decision_id);
      }
      // The first 30 fell out of the open-listen map: by listen they are 404, by decision id they match.
      for (let user = 1; user <= 30; user++) {
        const r = await postJson(`${url}/v1/feedback`, { user_id: user, track_id: "T3", outcome: "played" });
        countStatus(tally, r.status);
        expect(r.status).toBe(404);
        expect(r.body.message).toMatch(/among the last 50 decisions: send its decision_id/);
        const byId = await postJson(`${url}/v1/feedback`, { decision_id: ids[user - 1], outcome: "played" });
        expect(byId.status).toBe(200);
      }
      for (let user = 31; user <= 80; user++) {
        const r = await postJson(`${url}/v1/feedback`, { user_id: user, track_id: "T3", outcome: "skipped" });
        expect(r.body).toMatchObject({ decision_id: ids[user - 1], matched: true });
      }
      // A flood of unknown listens: every one a quick 404, none learned, none logged.
      const clock = (await (await fetch(`${url}/ready`)).json()).state_clock_ms;
      const flood = await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          postJson(`${url}/v1/feedback`, { user_id: 1_000_000 + i, track_id: `X${i}`, outcome: "skipped" }),
        ),
      );
      for (const r of flood) countStatus(tally, r.status);
      expect(flood.every((r) => r.status === 404)).toBe(true);
      expect((await (await fetch(`${url}/ready`)).json()).state_clock_ms).toBe(clock);
      const m = (await getText(`${url}/metrics`)).text;
      expect(m).toMatch(/skipwise_feedback_unmatched_total 430/);
    } finally {
      await app.close();
    }
  });

  it("limits each client's requests per window (429) and never the probes", async () => {
    const { app, url } = await serveWorld(
      saved,
      join(dir, "limited.db"),
      {},
      {
        rateLimit: { max: 100, timeWindowMs: 60_000 },
      },
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          postJson(`${url}/v1/feedback`, { user_id: 5_000_000 + i, track_id: "T1", outcome: "played" }),
        ),
      );
      for (const r of answers) countStatus(tally, r.status);
      expect(answers.filter((r) => r.status === 404).length).toBe(100);
      expect(answers.filter((r) => r.status === 429).length).toBe(50);
      for (let i = 0; i < 20; i++) expect((await getText(`${url}/health`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe("3 hostile values: bounded numbers, no replays, state kept across reload and restart", () => {
  let saved: SavedWorld;
  let dir: string;
  const tally: FaultTally = emptyTally();
  beforeAll(() => {
    saved = savedWorld();
    dir = tempDir("faults-hostile");
  });
  afterAll(() => {
    recordFaults("3 hostile values", tally);
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses every out-of-range number with a 400 naming the field, and the state does not move", async () => {
    const { app, url, scorer } = await serveWorld(saved, join(dir, "hostile.db"));
    try {
      const t = saved.world.endMs + 60_000;
      const probe = async () =>
        (
          await postJson(`${url}/v1/predict`, {
            user_id: 103,
            track_id: REFERENCE_TRACK,
            model: "logistic",
            timestamp_ms: t,
          })
        ).body.prob_skip as number;
      const first = await postJson(`${url}/v1/predict`, {
        user_id: 103,
        track_id: "T6",
        model: "gbdt",
        session: { session_id: 7, position: 0 },
        timestamp_ms: t,
      });
      expect(first.status).toBe(200);
      const before = await probe();
      const clock = scorer.stateClockMs;
      const far = Date.now() + 3 * 86_400_000;
      const predictBase = { user_id: 103, track_id: "T6", model: "gbdt" };
      const cases: { route: string; body: unknown; field: string }[] = [
        { route: "/v1/predict", body: { ...predictBase, timestamp_ms: 9e15 }, field: "timestamp_ms" },
        { route: "/v1/predict", body: { ...predictBase, timestamp_ms: 1e300 }, field: "timestamp_ms" },
        { route: "/v1/predict", body: { ...predictBase, timestamp_ms: -1 }, field: "timestamp_ms" },
        { route: "/v1/predict", body: { ...predictBase, timestamp_ms: far }, field: "timestamp_ms" },
        { route: "/v1/predict", body: { ...predictBase, timestamp_ms: 1.5 }, field: "timestamp_ms" },
        {
          route: "/v1/predict",
          body: { ...predictBase, session: { position: 1e300 } },
          field: "session.position",
        },
        {
          route: "/v1/predict",
          body: { ...predictBase, session: { position: -1 } },
          field: "session.position",
        },
        {
          route: "/v1/predict",
          body: { ...predictBase, session: { position: 100_001 } },
          field: "session.position",
        },
        {
          route: "/v1/predict",
          body: { ...predictBase, session: { session_id: 1e300 } },
          field: "session.session_id",
        },
        {
          route: "/v1/predict",
          body: { ...predictBase, session: { session_id: 1, extra: 1 } },
          field: "session",
        },
        { route: "/v1/predict", body: { ...predictBase, user_id: -1 }, field: "user_id" },
        { route: "/v1/predict", body: { ...predictBase, user_id: 2 ** 31 }, field: "user_id" },
        { route: "/v1/predict", body: { ...predictBase, user_id: 1e308 }, field: "user_id" },
        { route: "/v1/predict", body: { ...predictBase, track_id: "x".repeat(129) }, field: "track_id" },
        { route: "/v1/predict", body: { ...predictBase, model: "m".repeat(65) }, field: "model" },
        {
          route: "/recommend",
          body: { user_id: 103, track_id: "T6", timestamp_ms: 9e15 },
          field: "timestamp_ms",
        },
        {
          route: "/abtest",
          body: { user_id: 103, track_id: "T6", timestamp_ms: far },
          field: "timestamp_ms",
        },
        {
          route: "/v1/feedback",
          body: { decision_id: first.body.decision_id, outcome: "played", heard_ms: 1e308 },
          field: "heard_ms",
        },
        {
          route: "/v1/feedback",
          body: { decision_id: first.body.decision_id, outcome: "played", heard_ms: -1 },
          field: "heard_ms",
        },
        {
          route: "/v1/feedback",
          body: { decision_id: first.body.decision_id, outcome: "played", heard_ms: 20 * 3_600_000 },
          field: "heard_ms",
        },
        {
          route: "/v1/feedback",
          body: { decision_id: first.body.decision_id, outcome: "played", timestamp_ms: 9e15 },
          field: "timestamp_ms",
        },
        {
          route: "/v1/feedback",
          body: { decision_id: first.body.decision_id, outcome: "played", timestamp_ms: far },
          field: "timestamp_ms",
        },
        {
          route: "/v1/feedback",
          body: { decision_id: "d".repeat(65), outcome: "played" },
          field: "decision_id",
        },
        {
          route: "/v1/events",
          body: {
            events: [{ session_id: 7, timestamp: 9e15, user_id: 103, track_id: "T6", event_type: "play" }],
          },
          field: "events.0.timestamp",
        },
        {
          route: "/v1/events",
          body: {
            events: [{ session_id: 7, timestamp: far, user_id: 103, track_id: "T6", event_type: "play" }],
          },
          field: "events.0.timestamp",
        },
        {
          route: "/v1/events",
          body: {
            events: [{ session_id: 1e300, timestamp: t, user_id: 103, track_id: "T6", event_type: "skip" }],
          },
          field: "events.0.session_id",
        },
      ];
      for (const c of cases) {
        const r = await postJson(`${url}${c.route}`, c.body);
        countStatus(tally, r.status);
        expect(r.status, `${c.route} ${JSON.stringify(c.body).slice(0, 120)}`).toBe(400);
        expect(r.body.field, JSON.stringify(r.body)).toBe(c.field);
      }
      // Nothing hostile reached the state: the clock did not move and P(skip) is what it was.
      if (scorer.stateClockMs !== clock || (await probe()) !== before) tally.stateCorrupted++;
      expect(scorer.stateClockMs).toBe(clock);
      expect(await probe()).toBe(before);
      // The refused feedback left the decision open: a good one is accepted once, then refused (409).
      const good = await postJson(`${url}/v1/feedback`, {
        decision_id: first.body.decision_id,
        outcome: "skipped",
        heard_ms: 5_000,
      });
      expect(good.status).toBe(200);
      for (let i = 0; i < 5; i++) {
        const replay = await postJson(`${url}/v1/feedback`, {
          decision_id: first.body.decision_id,
          outcome: "skipped",
          heard_ms: 5_000,
        });
        countStatus(tally, replay.status);
        expect(replay.status).toBe(409);
      }
      const m = (await getText(`${url}/metrics`)).text;
      const infinite = m.split("\n").filter((l) => !l.startsWith("#") && / (\+Inf|-Inf|NaN)$/.test(l));
      expect(infinite).toEqual([]);
      // The one good outcome is learned at the listen's own time (its skip 5 s after the start).
      expect(scorer.stateClockMs).toBe(t + 5_000);
    } finally {
      await app.close();
    }
  });

  it("repeats of an event batch are acknowledged, not learned twice", async () => {
    const { app, url, scorer } = await serveWorld(saved, join(dir, "repeats.db"));
    try {
      const t = saved.world.endMs + 120_000;
      const events = [
        { session_id: 880, timestamp: t, user_id: 104, track_id: "T4", event_type: "play" },
        { session_id: 880, timestamp: t + 4_000, user_id: 104, track_id: "T4", event_type: "skip" },
      ];
      const first = await postJson(`${url}/v1/events`, { events });
      expect(first.body).toEqual({ accepted: 2, learned: 2, repeats: 0 });
      const snapshot = scorer.state.snapshot();
      for (let i = 0; i < 5; i++) {
        const again = await postJson(`${url}/v1/events`, { events });
        countStatus(tally, again.status === 200 && again.body.repeats === 2 ? 409 : again.status);
        expect(again.body).toEqual({ accepted: 2, learned: 0, repeats: 2 });
      }
      if (!scorer.state.snapshot().equals(snapshot)) tally.stateCorrupted++;
      expect(scorer.state.snapshot().equals(snapshot)).toBe(true);
    } finally {
      await app.close();
    }
  });

  it("what was learned online survives a reload of the same bundle and a restart on the same log", async () => {
    const db = join(dir, "durable.db");
    const t = saved.world.endMs + 180_000;
    const vectorOf = async (url: string) =>
      (
        await postJson(`${url}/v1/predict`, {
          user_id: 105,
          track_id: REFERENCE_TRACK,
          model: "logistic",
          timestamp_ms: t + 3_600_000,
          explain: true,
        })
      ).body;
    let learned: { prob_skip: number; features: Record<string, number | null> };
    {
      const { app, url } = await serveWorld(saved, db);
      try {
        const untouched = await vectorOf(url);
        for (let i = 0; i < 6; i++) {
          const p = await postJson(`${url}/v1/predict`, {
            user_id: 105,
            track_id: "T5",
            model: "logistic",
            session: { session_id: 990 + i, position: 0 },
            timestamp_ms: t + i * 60_000,
          });
          const f = await postJson(`${url}/v1/feedback`, {
            decision_id: p.body.decision_id,
            outcome: "skipped",
            heard_ms: 3_000,
          });
          expect(f.status).toBe(200);
        }
        const ev = await postJson(`${url}/v1/events`, {
          events: [
            { session_id: 999, timestamp: t + 600_000, user_id: 105, track_id: "T9", event_type: "play" },
            { session_id: 999, timestamp: t + 601_000, user_id: 105, track_id: "T9", event_type: "like" },
          ],
        });
        expect(ev.status).toBe(200);
        learned = await vectorOf(url);
        expect(learned.prob_skip).not.toBe(untouched.prob_skip);
        const reload = await postJson(`${url}/admin/reload`, null, { "x-api-key": KEY });
        expect(reload.status).toBe(200);
        expect(reload.body).toMatchObject({ online_state: "kept", relearned_items: 8 });
        const afterReload = await vectorOf(url);
        tally.tried++;
        if (afterReload.prob_skip !== learned.prob_skip) tally.stateCorrupted++;
        expect(afterReload.features).toEqual(learned.features);
      } finally {
        await app.close();
      }
    }
    // A new process on the same log: the bundle's snapshot plus the journal give the same vector.
    const { app, url } = await serveWorld(saved, db);
    try {
      const restarted = await vectorOf(url);
      tally.tried++;
      if (restarted.prob_skip !== learned.prob_skip) tally.dataLost++;
      expect(restarted.features).toEqual(learned.features);
      expect(restarted.prob_skip).toBe(learned.prob_skip);
    } finally {
      await app.close();
    }
  });
});
