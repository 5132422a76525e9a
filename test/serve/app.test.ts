import { rmSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FEATURE_SCHEMA, FeatureState } from "../../src/features/index.ts";
import type { BundleScorer } from "../../src/serve/bundle-scorer.ts";
import { readDecisionRecords } from "../../src/serve/log-export.ts";
import { decide } from "../../src/serve/scorer.ts";
import {
  type FittedModels,
  REFERENCE_TRACK,
  savedWorld,
  scorerOver,
  type TinyWorld,
  worldScorer,
} from "./fixture.ts";
import { getText, postJson, postRaw, type Running, startApp } from "./helpers.ts";

const REF = { user_id: 101, track_id: REFERENCE_TRACK };
// In the tiny world the reference track's artist plays rock and pop; user 101 likes jazz, 102 pop and metal.
const MISMATCH_USER = 101;
const MATCH_USER = 102;

describe("prediction service routes", () => {
  let s: Running;
  let scorer: BundleScorer;
  /** Just after the simulated history: features stay in the range the models were fitted on. */
  let t0: number;
  let world: TinyWorld;
  let models: FittedModels;

  beforeAll(async () => {
    const built = savedWorld();
    bundleDir = built.bundleDir;
    scorer = built.scorer;
    t0 = built.world.endMs;
    world = built.world;
    models = built.models;
    s = await startApp({
      scorer,
      experiment: {
        name: "exp1",
        salt: "s1",
        variants: [
          { name: "control", model: "naive", weight: 0.5 },
          { name: "treatment", model: "gbdt", weight: 0.5 },
        ],
        shadow: false,
      },
      bodyLimit: 4096,
    });
  });
  let bundleDir: string;
  afterAll(async () => {
    await s.close();
    rmSync(dirname(bundleDir), { recursive: true, force: true });
  });

  it("answers the reference routes with the reference's body and answer shape", async () => {
    const naive = await postJson(`${s.url}/naive`, {
      user_id: MATCH_USER,
      track_id: REFERENCE_TRACK,
      timestamp_ms: t0,
    });
    expect(naive.status).toBe(200);
    // The genre rule: a favourite genre among the artist's genres means PLAY.
    expect(naive.body).toEqual({ prediction: "PLAY" });
    const mismatch = await postJson(`${s.url}/naive`, {
      user_id: MISMATCH_USER,
      track_id: REFERENCE_TRACK,
      timestamp_ms: t0,
    });
    expect(mismatch.body).toEqual({ prediction: "SKIP" });

    for (let user = 101; user <= 130; user++) {
      const recommend = await postJson(`${s.url}/recommend`, {
        user_id: user,
        track_id: "T7",
        timestamp_ms: t0,
      });
      expect(recommend.status).toBe(200);
      const p = (await scorer.score("gbdt", { userId: user, trackId: "T7", atMs: t0 })).probSkip;
      expect(recommend.body).toEqual({ prediction: decide(p, scorer.threshold("gbdt")) });
    }

    const ab = await postJson(`${s.url}/abtest`, { ...REF, timestamp_ms: t0 });
    expect(ab.status).toBe(200);
    expect(["naive", "gbdt"]).toContain(ab.body.model);
    expect(["PLAY", "SKIP"]).toContain(ab.body.prediction);
    expect(typeof ab.body.decision_id).toBe("string");
  });

  it("keeps /abtest assignment sticky per user and splits users across variants", async () => {
    const seen = new Map<number, Set<string>>();
    for (let round = 0; round < 3; round++) {
      for (let user = 1; user <= 40; user++) {
        const r = await postJson(`${s.url}/abtest`, { user_id: user, track_id: "T3", timestamp_ms: t0 });
        expect(r.status).toBe(200);
        const models = seen.get(user) ?? new Set<string>();
        models.add(r.body.model);
        seen.set(user, models);
      }
    }
    for (const models of seen.values()) expect(models.size).toBe(1);
    const naiveUsers = [...seen.values()].filter((m) => m.has("naive")).length;
    expect(naiveUsers).toBeGreaterThan(5);
    expect(naiveUsers).toBeLessThan(35);
    expect(s.app.skipwise.assigner.assign(7).model).toBe([...(seen.get(7) as Set<string>)][0]);
  });

  it("/v1/predict returns the full decision and logs it durably before answering", async () => {
    const at = t0 + 60_000;
    const r = await postJson(`${s.url}/v1/predict`, {
      ...REF,
      model: "logistic",
      session: { session_id: 900_009, position: 3, previous_outcome: "skipped" },
      timestamp_ms: at,
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      model: "logistic",
      model_version: scorer.bundleVersion,
      experiment: null,
      variant: null,
      threshold: 0.45,
      cold_start: { user: false, track: false },
    });
    expect(r.body.prediction).toBe(r.body.decision);
    expect(r.body.decision).toBe(r.body.prob_skip >= 0.45 ? "SKIP" : "PLAY");
    // The session context reaches the features: the previous outcome moves the logistic model's P(skip).
    const played = await postJson(`${s.url}/v1/predict`, {
      ...REF,
      model: "logistic",
      session: { session_id: 900_009, position: 3, previous_outcome: "played" },
      timestamp_ms: at,
    });
    expect(played.body.prob_skip).not.toBeCloseTo(r.body.prob_skip, 6);

    const db = new Database(s.dbPath, { readonly: true });
    const row = db.prepare("SELECT * FROM decisions WHERE id = ?").get(r.body.decision_id) as Record<
      string,
      unknown
    >;
    db.close();
    expect(row).toMatchObject({
      user_id: 101,
      track_id: REF.track_id,
      session_id: 900_009,
      position: 3,
      model: "logistic",
    });
    expect(row.prob_skip).toBeCloseTo(r.body.prob_skip, 12);
  });

  it("/v1/predict without a model uses the experiment's assignment", async () => {
    const r = await postJson(`${s.url}/v1/predict`, { user_id: 7, track_id: "T9" });
    expect(r.status).toBe(200);
    const variant = s.app.skipwise.assigner.assign(7);
    expect(r.body).toMatchObject({ experiment: "exp1", variant: variant.name, model: variant.model });
  });

  it("unknown users and tracks get a prior-based prediction with cold_start set", async () => {
    const r = await postJson(`${s.url}/v1/predict`, {
      user_id: 999_999,
      track_id: "no-such-track",
      model: "logistic",
    });
    expect(r.status).toBe(200);
    expect(r.body.cold_start).toEqual({ user: true, track: true });
    expect(r.body.prob_skip).toBeGreaterThan(0);
    expect(r.body.prob_skip).toBeLessThan(1);
    const coldUser = await postJson(`${s.url}/v1/predict`, {
      user_id: 999_998,
      track_id: "T5",
      model: "gbdt",
    });
    expect(coldUser.status).toBe(200);
    expect(coldUser.body.cold_start).toEqual({ user: true, track: false });
    const ref = await postJson(`${s.url}/recommend`, { user_id: 123_456, track_id: "nope" });
    expect(ref.status).toBe(200);
  });

  it("/v1/predict/batch answers every item in order", async () => {
    const items = [
      { user_id: MISMATCH_USER, track_id: REFERENCE_TRACK, model: "naive" },
      { user_id: MATCH_USER, track_id: REFERENCE_TRACK, model: "naive" },
      { user_id: 103, track_id: "T4" },
    ];
    const r = await postJson(`${s.url}/v1/predict/batch`, { items });
    expect(r.status).toBe(200);
    expect(r.body.predictions).toHaveLength(3);
    expect(r.body.predictions[0].decision).toBe("SKIP");
    expect(r.body.predictions[1].decision).toBe("PLAY");
    expect(r.body.predictions[2].experiment).toBe("exp1");
    const ids = new Set(readDecisionRecords(s.dbPath).map((d) => d.decisionId));
    for (const p of r.body.predictions) expect(ids.has(p.decision_id)).toBe(true);
    const bad = await postJson(`${s.url}/v1/predict/batch`, {
      items: [items[0], { ...items[1], model: "zzz" }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe("items.1.model");
  });

  it("feedback updates the online state: later predictions for that user change", async () => {
    const user = 103;
    const at = t0 + 3_600_000;
    // A twin of the server's state that learns the same outcomes directly.
    const twin = scorerOver(
      world,
      models,
      FeatureState.restore(world.catalog, scorer.state.snapshot()),
      "twin",
    );
    const userRate = (state: FeatureState) =>
      state.vector({ userId: user, trackId: "T6", timestampMs: at }).values[
        FEATURE_SCHEMA.names.indexOf("user_skip_rate")
      ];
    const rateBefore = userRate(scorer.state);
    const before = await postJson(`${s.url}/v1/predict`, {
      user_id: user,
      track_id: "T6",
      model: "logistic",
      timestamp_ms: at,
    });
    for (let i = 0; i < 8; i++) {
      const p = await postJson(`${s.url}/v1/predict`, {
        user_id: user,
        track_id: "T6",
        model: "logistic",
        session: { session_id: 5000 + i },
        timestamp_ms: at - 60_000 * (8 - i),
      });
      const f = await postJson(`${s.url}/v1/feedback`, {
        decision_id: p.body.decision_id,
        outcome: "skipped",
        heard_ms: 10_000,
        timestamp_ms: at - 60_000 * (8 - i),
      });
      expect(f.status).toBe(200);
      expect(f.body).toMatchObject({ decision_id: p.body.decision_id, matched: true });
      expect(f.body.correct).toBe(p.body.decision === "SKIP");
      twin.learn({
        userId: user,
        trackId: "T6",
        sessionId: 5000 + i,
        skipped: true,
        heardMs: 10_000,
        atMs: at - 60_000 * (8 - i),
      });
    }
    const after = await postJson(`${s.url}/v1/predict`, {
      user_id: user,
      track_id: "T6",
      model: "logistic",
      timestamp_ms: at,
    });
    expect(after.body.prob_skip).not.toBeCloseTo(before.body.prob_skip, 3);
    expect(after.body.prob_skip).toBeCloseTo(
      (await twin.score("logistic", { userId: user, trackId: "T6", atMs: at })).probSkip,
      9,
    );
    expect(userRate(scorer.state)).toBeGreaterThan(rateBefore + 0.015);
    const records = readDecisionRecords(s.dbPath).filter((r) => r.userId === user && r.outcome !== null);
    expect(records).toHaveLength(8);
    expect(records.every((r) => r.outcome?.skipped === true && r.outcome.heardMs === 10_000)).toBe(true);
    expect(records[0].outcome?.durationMs).toBe(scorer.trackDurationMs("T6"));
    expect(records[0].outcome?.durationMs).toBeGreaterThan(100_000);
  });

  it("feedback by user + track + session finds the decision; duplicates, unknown ids and unknown listens are refused", async () => {
    const p = await postJson(`${s.url}/abtest`, { user_id: 102, track_id: "T8" });
    const f = await postJson(`${s.url}/v1/feedback`, { user_id: 102, track_id: "T8", outcome: "played" });
    expect(f.body).toMatchObject({ decision_id: p.body.decision_id, matched: true });
    const again = await postJson(`${s.url}/v1/feedback`, {
      decision_id: p.body.decision_id,
      outcome: "played",
    });
    expect(again.status).toBe(409);
    const unknown = await postJson(`${s.url}/v1/feedback`, { decision_id: "nope", outcome: "played" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.field).toBe("decision_id");
    const unmatched = await postJson(`${s.url}/v1/feedback`, {
      user_id: 77_777,
      track_id: "T8",
      outcome: "played",
    });
    // No decision to attach it to: refused (a listen without a prediction reaches the state as events).
    expect(unmatched.status).toBe(404);
    expect(unmatched.body.message).toMatch(/no open decision for user 77777, track "T8".*POST \/v1\/events/);
    // An answered listen is no longer open: its user + track no longer match.
    const answered = await postJson(`${s.url}/v1/feedback`, {
      user_id: 102,
      track_id: "T8",
      outcome: "played",
    });
    expect(answered.status).toBe(404);
    const neither = await postJson(`${s.url}/v1/feedback`, { outcome: "played" });
    expect(neither.status).toBe(400);
    expect(neither.body.field).toBe("user_id");
  });

  it("exposes feedback-based confusion counts, cache counters and the bundle version in /metrics", async () => {
    const p = await postJson(`${s.url}/abtest`, { user_id: 101, track_id: "T9" });
    await postJson(`${s.url}/v1/feedback`, {
      decision_id: p.body.decision_id,
      outcome: "skipped",
      heard_ms: 30_000,
    });
    const m = await getText(`${s.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toMatch(/text\/plain/);
    const variant = p.body.variant;
    const predicted = p.body.prediction === "SKIP" ? "skip" : "play";
    const line = m.text
      .split("\n")
      .find(
        (l) =>
          l.startsWith("skipwise_feedback_outcomes_total{") &&
          l.includes(`variant="${variant}"`) &&
          l.includes(`predicted="${predicted}"`) &&
          l.includes('actual="skip"'),
      );
    expect(line).toBeDefined();
    expect(Number(line?.split(" ").pop())).toBeGreaterThanOrEqual(1);
    expect(m.text).toContain(`skipwise_bundle_info{bundle_version="${scorer.bundleVersion}"} 1`);
    expect(m.text).not.toMatch(/^process_resident_memory_bytes/m);
    expect(m.text).toMatch(/skipwise_decision_log_commits_total [1-9]\d*/);
    expect(m.text).toMatch(/skipwise_decision_log_batch_rows_count [1-9]\d*/);
    expect(m.text).toMatch(/skipwise_http_requests_total\{route="\/abtest",method="POST",status="200"\} \d+/);
    expect(m.text).toMatch(/skipwise_http_request_duration_seconds_bucket\{le="0.005",route="\/abtest"/);
    expect(m.text).toMatch(
      /skipwise_decisions_total\{variant="control",model="naive",decision="(PLAY|SKIP)",served="true"\}/,
    );
    // 30 s heard: the unplayed tail counts as cache-everything waste.
    const unplayed = m.text
      .split("\n")
      .find((l) => l.startsWith(`skipwise_feedback_unplayed_audio_ms_total{variant="${variant}"}`));
    expect(Number(unplayed?.split(" ").pop())).toBeGreaterThanOrEqual(scorer.trackDurationMs("T9") - 30_000);
  });

  it("serves health, readiness and the OpenAPI docs", async () => {
    expect((await getText(`${s.url}/health`)).text).toBe('{"status":"ok"}');
    const ready = JSON.parse((await getText(`${s.url}/ready`)).text);
    expect(ready).toEqual({
      status: "ready",
      bundle_version: scorer.bundleVersion,
      models: ["naive", "logistic", "gbdt"],
      // Earlier tests in this file predicted at their timestamps: the state's clock is the latest of them.
      state_clock_ms: scorer.stateClockMs,
      policy: { kind: "model", model: "gbdt", threshold: 0.5, decisions: "policy" },
    });
    expect(ready.state_clock_ms).toBeGreaterThanOrEqual(t0);
    const spec = JSON.parse((await getText(`${s.url}/docs/json`)).text);
    expect(spec.openapi).toMatch(/^3\./);
    for (const path of [
      "/naive",
      "/recommend",
      "/abtest",
      "/v1/predict",
      "/v1/predict/batch",
      "/v1/feedback",
    ]) {
      expect(spec.paths[path].post.requestBody).toBeDefined();
    }
    const ui = await getText(`${s.url}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain("swagger");
    const asset = await getText(`${s.url}/docs/static/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
  });

  describe("bad input", () => {
    it("malformed JSON is a 400", async () => {
      const r = await postRaw(`${s.url}/recommend`, '{"user_id": 101,');
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/JSON/);
    });

    it("wrong types name the field", async () => {
      const r = await postJson(`${s.url}/recommend`, { user_id: "abc", track_id: "x" });
      expect(r.status).toBe(400);
      expect(r.body.field).toBe("user_id");
      expect(r.body.message).toMatch(/user_id/);
      const numeric = await postJson(`${s.url}/abtest`, { user_id: "101", track_id: "x" });
      expect(numeric.status).toBe(400);
      const huge = await postJson(`${s.url}/recommend`, { user_id: 2 ** 40, track_id: "x" });
      expect(huge.status).toBe(400);
      expect(huge.body.field).toBe("user_id");
      const nested = await postJson(`${s.url}/v1/predict`, { ...REF, session: { position: -1 } });
      expect(nested.status).toBe(400);
      expect(nested.body.field).toBe("session.position");
      const outcome = await postJson(`${s.url}/v1/feedback`, { decision_id: "x", outcome: "maybe" });
      expect(outcome.status).toBe(400);
      expect(outcome.body.field).toBe("outcome");
    });

    it("missing fields name the field", async () => {
      const r = await postJson(`${s.url}/naive`, { user_id: 101 });
      expect(r.status).toBe(400);
      expect(r.body.field).toBe("track_id");
      expect(r.body.message).toBe('field "track_id" is required');
      const empty = await postRaw(`${s.url}/abtest`, "");
      expect(empty.status).toBe(400);
    });

    it("an unknown model is a 400 listing the models", async () => {
      const r = await postJson(`${s.url}/v1/predict`, { ...REF, model: "gpt" });
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/unknown model "gpt".*naive, logistic, gbdt/);
    });

    it("a body that is not a JSON object is a 400, an unsupported media type a 415", async () => {
      const text = await postRaw(`${s.url}/recommend`, "user_id=101", { "content-type": "text/plain" });
      expect(text.status).toBe(400);
      expect(text.body.field).toBe("body");
      const xml = await postRaw(`${s.url}/recommend`, "<user_id>101</user_id>", {
        "content-type": "application/xml",
      });
      expect(xml.status).toBe(415);
      expect(xml.body.statusCode).toBe(415);
    });

    it("a body over the limit is a 413", async () => {
      const r = await postJson(`${s.url}/recommend`, { ...REF, padding: "x".repeat(10_000) });
      expect(r.status).toBe(413);
      expect(r.body.statusCode).toBe(413);
    });

    it("an unknown route is a 404 JSON answer", async () => {
      const r = await postJson(`${s.url}/v2/whatever`, REF);
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({
        statusCode: 404,
        error: "Not Found",
        message: "no route POST /v2/whatever",
      });
      const get = await getText(`${s.url}/recommend`);
      expect(get.status).toBe(404);
    });

    it("admin routes refuse when no API key is configured", async () => {
      const r = await postJson(`${s.url}/admin/reload`, {}, { "x-api-key": "anything" });
      expect(r.status).toBe(403);
    });
  });
});

describe("rate limiting", () => {
  it("answers 429 once a client exceeds the limit", async () => {
    const s = await startApp({
      scorer: worldScorer().scorer,
      rateLimit: { max: 3, timeWindowMs: 60_000 },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await postJson(`${s.url}/recommend`, REF)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const r = await postJson(`${s.url}/recommend`, REF);
      expect(r.body.statusCode).toBe(429);
      for (const path of ["/health", "/ready", "/metrics"])
        expect((await getText(`${s.url}${path}`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe("assignment weights over HTTP", () => {
  it("splits 1,000 users about 20/80 and answers each with its variant's model", async () => {
    const s = await startApp({
      scorer: worldScorer().scorer,
      experiment: {
        name: "weights",
        salt: "w1",
        variants: [
          { name: "small", model: "naive", weight: 0.2 },
          { name: "large", model: "gbdt", weight: 0.8 },
        ],
        shadow: false,
      },
    });
    try {
      const items = Array.from({ length: 1000 }, (_, i) => ({ user_id: 10_000 + i, track_id: "T3" }));
      const r = await postJson(`${s.url}/v1/predict/batch`, { items });
      expect(r.status).toBe(200);
      const small = r.body.predictions.filter((p: { variant: string }) => p.variant === "small");
      // Binomial(1000, 0.2): sd 12.6 users; ±4 sd.
      expect(Math.abs(small.length - 200)).toBeLessThan(51);
      for (const p of r.body.predictions) expect(p.model).toBe(p.variant === "small" ? "naive" : "gbdt");
      const again = await postJson(`${s.url}/v1/predict/batch`, { items });
      expect(again.body.predictions.map((p: { variant: string }) => p.variant)).toEqual(
        r.body.predictions.map((p: { variant: string }) => p.variant),
      );
    } finally {
      await s.close();
    }
  });
});

describe("shadow mode", () => {
  it("scores and logs every variant, serves the assigned one, and counts shadow outcomes separately", async () => {
    const s = await startApp({
      scorer: worldScorer().scorer,
      experiment: {
        name: "shadowed",
        variants: [
          { name: "live", model: "gbdt", weight: 1 },
          { name: "candidate", model: "naive", weight: 0 + 1e-9 },
        ],
        shadow: true,
      },
    });
    try {
      const r = await postJson(`${s.url}/abtest`, { user_id: MISMATCH_USER, track_id: REFERENCE_TRACK });
      expect(r.body.variant).toBe("live");
      expect(r.body.model).toBe("gbdt");
      const all = readDecisionRecords(s.dbPath, { includeShadow: true });
      const shadow = all.find((d) => d.shadowOf === r.body.decision_id);
      expect(shadow).toMatchObject({ variant: "candidate", model: "naive", served: false, decision: "SKIP" });
      expect(readDecisionRecords(s.dbPath).map((d) => d.decisionId)).toEqual([r.body.decision_id]);

      await postJson(`${s.url}/v1/feedback`, {
        decision_id: r.body.decision_id,
        outcome: "skipped",
        heard_ms: 1000,
      });
      const joined = readDecisionRecords(s.dbPath, { includeShadow: true });
      expect(joined.every((d) => d.outcome?.skipped === true)).toBe(true);
      const batch = await postJson(`${s.url}/v1/predict/batch`, {
        items: [101, 102, 103].map((user_id) => ({ user_id, track_id: REFERENCE_TRACK })),
      });
      expect(batch.status).toBe(200);
      const rows = readDecisionRecords(s.dbPath, { includeShadow: true });
      for (const p of batch.body.predictions) {
        expect(p.variant).toBe("live");
        const shadowRow = rows.find((d) => d.shadowOf === p.decision_id);
        expect(shadowRow).toMatchObject({ variant: "candidate", model: "naive", served: false });
      }

      const m = (await getText(`${s.url}/metrics`)).text;
      expect(m).toContain(
        'skipwise_shadow_feedback_outcomes_total{variant="candidate",model="naive",predicted="skip",actual="skip"} 1',
      );
      // Shadow decisions: user 101 alone, then the batch (101 and 103 mismatch the genres, 102 matches).
      expect(m).toContain(
        'skipwise_decisions_total{variant="candidate",model="naive",decision="SKIP",served="false"} 3',
      );
      expect(m).toContain(
        'skipwise_decisions_total{variant="candidate",model="naive",decision="PLAY",served="false"} 1',
      );
    } finally {
      await s.close();
    }
  });
});

describe("decision log failures", () => {
  it("answers 503, not a prediction, when its decision cannot be committed", async () => {
    const s = await startApp({ scorer: worldScorer().scorer });
    try {
      expect((await postJson(`${s.url}/abtest`, REF)).status).toBe(200);
      const db = new Database(s.dbPath);
      db.exec("DROP TABLE decisions");
      db.close();
      const r = await postJson(`${s.url}/abtest`, REF);
      expect(r.status).toBe(503);
      expect(r.body.message).toMatch(/decision log unavailable: nothing was recorded/);
      expect(r.body.prediction).toBeUndefined();
      // Every route logs its decision: none answers one it could not record.
      expect((await postJson(`${s.url}/recommend`, REF)).status).toBe(503);
      // Nothing was counted for the refused decisions: the metric equals the stored rows (1).
      const m = (await getText(`${s.url}/metrics`)).text;
      const counted = [...m.matchAll(/^skipwise_decisions_total\{[^}]*served="true"\} (\d+)/gm)].reduce(
        (sum, match) => sum + Number(match[1]),
        0,
      );
      expect(counted).toBe(1);
    } finally {
      await s.close();
    }
  });
});

describe("process metrics", () => {
  it("exposes the standard process and Node.js metrics when enabled", async () => {
    const s = await startApp({ scorer: worldScorer().scorer, processMetrics: true });
    try {
      const m = (await getText(`${s.url}/metrics`)).text;
      expect(m).toMatch(/^process_resident_memory_bytes \d+/m);
      expect(m).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
    } finally {
      await s.close();
    }
  });
});
