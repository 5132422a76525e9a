// `skipwise abtest analyze` over the decision log a real replay left, and its CUPED covariate helpers.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fillPreSkipRates,
  preExperimentCutoff,
  preSkipRates,
  runAnalyzeCommand,
  toDecisionRecord,
  useListenTimes,
} from "../../src/experiment/analyze-command.ts";
import {
  type ReplaySummary,
  replayAgainstService,
  selectReplayListens,
} from "../../src/experiment/replay.ts";
import type { DecisionRecord } from "../../src/experiment/types.ts";
import type { ListenTable } from "../../src/listens/types.ts";
import { readDecisionRecords } from "../../src/serve/log-export.ts";
import { SqliteDecisionLog } from "../../src/serve/sqlite-decision-log.ts";
import { timeSplit } from "../../src/train/split.ts";
import { type ReplayFixture, startReplayFixture } from "./replay.fixture.ts";

class Collector extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function listenTable(rows: { user: number; start: number; skipped: number }[]): ListenTable {
  const n = rows.length;
  return {
    length: n,
    userId: Int32Array.from(rows, (r) => r.user),
    trackIndex: new Int32Array(n),
    sessionId: new Int32Array(n),
    startMs: Float64Array.from(rows, (r) => r.start),
    sessionStartMs: Float64Array.from(rows, (r) => r.start),
    skipped: Uint8Array.from(rows, (r) => r.skipped),
    heardMs: new Float64Array(n),
    position: new Int32Array(n),
    liked: new Uint8Array(n),
    premium: new Int8Array(n),
  };
}

function record(userId: number, ts: number): DecisionRecord {
  return {
    decisionId: `d${userId}-${ts}`,
    ts,
    experiment: "e",
    variant: "a",
    model: "m",
    userId,
    trackId: "t",
    probSkip: 0.5,
    decision: "PLAY",
  };
}

describe("CUPED covariate", () => {
  const listens = listenTable([
    { user: 1, start: 10, skipped: 1 },
    { user: 2, start: 20, skipped: 0 },
    { user: 1, start: 30, skipped: 0 },
    { user: 1, start: 40, skipped: 1 },
    { user: 2, start: 50, skipped: 1 },
    { user: 3, start: 60, skipped: 1 },
  ]);

  it("is each user's skip rate over the listens before the cutoff", () => {
    const rates = preSkipRates(listens, 50);
    expect([...rates.entries()].sort()).toEqual([
      [1, 2 / 3],
      [2, 0],
    ]);
    const records = [record(1, 0), record(3, 0)];
    fillPreSkipRates(records, rates);
    expect(records[0].preSkipRate).toBeCloseTo(2 / 3, 15);
    expect(records[1].preSkipRate).toBeUndefined();
  });

  it("starts at the first decision of a live experiment, at the test period for a replay, or where told", () => {
    expect(preExperimentCutoff([record(1, 45), record(2, 35)], listens)).toEqual({
      cutoffMs: 35,
      source: "first logged decision",
    });
    const replay = preExperimentCutoff([record(1, 1e12)], listens);
    expect(replay.cutoffMs).toBe(timeSplit(listens.startMs).testStartMs);
    expect(replay.source).toMatch(/replay/);
    expect(preExperimentCutoff([record(1, 45)], listens, 12).cutoffMs).toBe(12);
  });
});

describe("abtest analyze on a replayed log", () => {
  let fixture: ReplayFixture;
  let replay: ReplaySummary;
  let result: Awaited<ReturnType<typeof runAnalyzeCommand>>;
  const stdout = new Collector();

  beforeAll(async () => {
    fixture = await startReplayFixture();
    const selection = selectReplayListens(fixture.listens, fixture.delivery.catalog);
    replay = await replayAgainstService(selection.listens, { url: fixture.url, concurrency: 8 });
    result = await runAnalyzeCommand({
      log: fixture.db,
      data: fixture.data,
      out: join(fixture.dir, "abtest"),
      stdout,
    });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("analyses every replayed decision with its outcome", () => {
    const a = result.analysis;
    expect(a.records).toBe(replay.answered);
    expect(a.experiment).toBe("skipwise-ab");
    expect(a.control).toBe("naive");
    expect(a.comparisons.map((c) => c.variant)).toEqual(["logistic"]);
    for (const v of a.variants) {
      const seen = replay.byVariant[v.variant];
      expect(v.decisions).toBe(seen.decisions);
      expect(v.decisionsWithOutcome).toBe(seen.withFeedback);
      expect(v.accuracy.estimate).toBeCloseTo(seen.correct / seen.withFeedback, 12);
      expect(v.accuracy.lower).toBeLessThan(v.accuracy.estimate);
      expect(v.accuracy.upper).toBeGreaterThan(v.accuracy.estimate);
    }
    const users = a.variants.reduce((n, v) => n + v.users, 0);
    expect(users).toBe(
      new Set(selectReplayListens(fixture.listens, fixture.delivery.catalog).listens.map((l) => l.userId))
        .size,
    );
  });

  it("carries the heard and catalogue durations into the cache metrics", () => {
    for (const v of result.analysis.variants) {
      expect(v.cache.records).toBe(v.decisionsWithOutcome);
      expect(v.cache.heardMs).toBeLessThanOrEqual(v.cache.totalMs);
      expect(v.cache.wastedMs).toBeLessThanOrEqual(v.cache.cacheAllWastedMs);
    }
  });

  it("uses each user's skip rate before the test period as the CUPED covariate", () => {
    const c = result.covariate;
    expect(c?.cutoffMs).toBe(timeSplit(fixture.listens.startMs).testStartMs);
    // Decisions took their listens' start times, so the experiment starts at the first replayed listen.
    expect(result.listenTimes).toBe(true);
    expect(c?.cutoffSource).toBe("first logged decision");
    expect(c?.usersWithHistory).toBeGreaterThan(0);
    for (const v of result.analysis.variants) {
      expect(v.cuped.usersWithoutCovariate).toBeLessThan(v.cuped.users);
      // θ is pooled over both arms, so one arm's variance may grow; it is a real adjustment, not a no-op.
      expect(Number.isFinite(v.cuped.varianceReduction)).toBe(true);
      expect(v.cuped.varianceReduction).toBeLessThanOrEqual(1);
      expect(v.cuped.adjusted.mean).not.toBe(v.cuped.raw.mean);
    }
    expect(Number.isFinite(result.analysis.cupedTheta)).toBe(true);
    expect(result.analysis.cupedTheta).not.toBe(0);
  });

  it("dates each decision by its listen, so the timeline spans the test period", () => {
    const a = result.analysis;
    const testStart = timeSplit(fixture.listens.startMs).testStartMs;
    expect(a.firstTs).toBe(testStart);
    expect(a.lastTs).toBe(fixture.listens.startMs[fixture.listens.length - 1]);
    expect(a.timeline.every((p) => p.ts >= testStart && p.ts <= a.lastTs)).toBe(true);
    expect(stdout.text).toContain("decision times: the replayed listens' start times");
  });

  it("keeps the logged times when a decision cannot be tied to its listen (the /abtest route has no session)", () => {
    const logged = readDecisionRecords(fixture.db).filter((r) => r.variant !== null);
    const records = logged.map(toDecisionRecord);
    const withoutSession = logged.map((r, k) => (k === 3 ? { ...r, sessionId: null } : r));
    expect(useListenTimes(records, withoutSession, fixture.listens)).toBe(false);
    expect(records.map((r) => r.ts)).toEqual(logged.map((r) => r.tsMs));
    const live = logged.map((r, k) => (k === 0 ? { ...r, tsMs: fixture.listens.startMs[0] } : r));
    expect(useListenTimes(records, live, fixture.listens)).toBe(false);
    expect(useListenTimes(records, logged, fixture.listens)).toBe(true);
    expect(records[0].ts).toBeLessThan(logged[0].tsMs);
  });

  it("writes abtest.html with its charts and abtest.json, and prints the summary", () => {
    const html = readFileSync(result.htmlPath, "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("Cumulative accuracy");
    const json = JSON.parse(readFileSync(result.jsonPath, "utf8"));
    expect(json.records).toBe(replay.answered);
    expect(stdout.text).toMatch(/logistic − naive: [+−]\d\.\d{3}/);
    expect(stdout.text).toMatch(/SRM: χ² = /);
    // Every variant priced against cache-everything, with the always-valid interval and the listens needed.
    expect(json.costTests.map((t: { variant: string }) => t.variant).sort()).toEqual(
      json.variants.map((v: { variant: string }) => v.variant).sort(),
    );
    for (const t of json.costTests) {
      expect(t.sequential.lower).toBeLessThanOrEqual(t.fixedHorizon.lower);
      expect(t.sequential.upper).toBeGreaterThanOrEqual(t.fixedHorizon.upper);
      expect(["saves", "costs more", "not yet"]).toContain(t.conclusion);
    }
    expect(stdout.text).toMatch(
      /naive: cost vs cache-everything [+−]\d\.\d{3} per listen .* always-valid 95 % /,
    );
    expect(stdout.text).toMatch(/listens needed to detect a saving of 10\.0 % /);
    expect(stdout.text).toContain("cost model: 1 per wasted MB, 4 per stall, 160 kbit/s");
    expect(html).toContain('data-chart="cost"');
    expect(stdout.text).toContain(`report: ${result.htmlPath}`);
  });

  it("refuses a missing log and a log without A/B decisions", async () => {
    await expect(runAnalyzeCommand({ log: join(fixture.dir, "nope.db"), stdout })).rejects.toThrow(
      /does not exist/,
    );
    const empty = join(fixture.dir, "empty.db");
    await new SqliteDecisionLog(empty, { checkpointIntervalMs: 0 }).close();
    expect(existsSync(empty)).toBe(true);
    await expect(runAnalyzeCommand({ log: empty, stdout })).rejects.toThrow(/holds no A\/B decisions/);
  });
});
