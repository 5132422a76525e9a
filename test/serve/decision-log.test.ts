import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import type { DecisionRecord } from "../../src/experiment/types.ts";
import type { DecisionRow, LoggedDecision } from "../../src/serve/decision-log.ts";
import {
  type AnalysisRecord,
  exportLogJsonl,
  readAnalysisRecords,
  readDecisionRecords,
} from "../../src/serve/log-export.ts";
import { SqliteDecisionLog } from "../../src/serve/sqlite-decision-log.ts";
import { tempDir, waitUntil } from "./helpers.ts";

function row(i: number, overrides: Partial<DecisionRow> = {}): DecisionRow {
  return {
    id: `d${i}`,
    tsMs: 1_700_000_000_000 + i,
    listenMs: 1_690_000_000_000 + i,
    route: "/abtest",
    experiment: "exp",
    variant: i % 2 === 0 ? "a" : "b",
    model: i % 2 === 0 ? "naive" : "gbdt",
    bundleVersion: "v1",
    userId: 100 + (i % 7),
    trackId: `t${i % 5}`,
    sessionId: i % 3 === 0 ? null : i,
    position: i % 3 === 0 ? null : 2,
    probSkip: (i % 10) / 10,
    threshold: 0.5,
    decision: (i % 10) / 10 >= 0.5 ? "SKIP" : "PLAY",
    coldUser: i % 4 === 0,
    coldTrack: false,
    served: true,
    shadowOf: null,
    ...overrides,
  };
}

const dirs: string[] = [];
function dbPath(): string {
  const dir = tempDir("log");
  dirs.push(dir);
  return join(dir, "decisions.db");
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("DecisionLog", () => {
  it("group-commits everything recorded in one turn into one transaction, visible once awaited", async () => {
    const path = dbPath();
    const log = new SqliteDecisionLog(path);
    const promises = Array.from({ length: 200 }, (_, i) => log.record(row(i)));
    expect(new Set(promises).size).toBe(1);
    const reader = new Database(path, { readonly: true });
    expect((reader.prepare("SELECT count(*) AS n FROM decisions").get() as { n: number }).n).toBe(0);
    await Promise.all(promises);
    expect(log.commits).toBe(1);
    expect((reader.prepare("SELECT count(*) AS n FROM decisions").get() as { n: number }).n).toBe(200);
    await log.record(row(500));
    expect(log.commits).toBe(2);
    reader.close();
    await log.close();
  });

  it("uses WAL with synchronous=NORMAL", async () => {
    const path = dbPath();
    const log = new SqliteDecisionLog(path);
    await log.record(row(1));
    const db = new Database(path);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    await log.close();
  });

  it("keeps the WAL bounded under sustained writes: checkpoints off the event loop, then a restart", async () => {
    const path = dbPath();
    let checkpoints = 0;
    const log = new SqliteDecisionLog(path, { checkpointIntervalMs: 20, onCheckpoint: () => checkpoints++ });
    let maxWal = 0;
    for (let batch = 0; batch < 60; batch++) {
      for (let i = 0; i < 500; i++) log.record(row(batch * 500 + i, { id: `c${batch}-${i}` }));
      await log.flush();
      // Writes go on between worker checkpoints: wait for the next one, not for a guessed 25 ms.
      const seen = checkpoints;
      await waitUntil(`a worker checkpoint after batch ${batch}`, () => checkpoints > seen, {
        intervalMs: 2,
      });
      maxWal = Math.max(maxWal, statSync(`${path}-wal`).size);
    }
    // A WAL that never restarted would hold every page of the 30,000 rows (more than the database).
    const dbSize = statSync(path).size;
    expect(dbSize).toBeGreaterThan(2_000_000);
    expect(maxWal).toBeLessThan(dbSize / 3);
    await log.close();
    expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);
  });

  it("finds decisions by id and by listen, in memory and after a restart", async () => {
    const path = dbPath();
    const log = new SqliteDecisionLog(path, { recentCapacity: 3, listenCapacity: 3 });
    const shadow = row(2, { id: "s2", served: false, shadowOf: "d2", variant: "b", model: "gbdt" });
    await log.record(row(2), [shadow]);
    for (let i = 10; i < 20; i++) await log.record(row(i));
    // d2 was evicted from memory (capacity 3): found through the database, with its shadow row.
    const found = log.find("d2");
    expect(found?.row).toEqual(row(2));
    expect(found?.shadows).toEqual([shadow]);
    expect(log.find("s2")).toBeNull();
    expect(log.findOpenListen(row(19).userId, row(19).trackId, row(19).sessionId)?.row.id).toBe("d19");
    // Its listen link was evicted too (only the last 3 open listens are matchable): no scan of the log.
    expect(log.findOpenListen(102, "t2", 2)).toBeNull();
    await log.recordFeedback(
      {
        decisionId: "d2",
        tsMs: 5,
        userId: 102,
        trackId: "t2",
        sessionId: 2,
        skipped: true,
        heardMs: Number.NaN,
        durationMs: 1000,
      },
      found as LoggedDecision,
      { origin: "o", outcome: { userId: 102, trackId: "t2", skipped: true, heardMs: Number.NaN, atMs: 2 } },
    );
    await log.close();
    expect(() => log.record(row(99))).toThrow(/closed/);

    const reopened = new SqliteDecisionLog(path, { listenCapacity: 3 });
    expect(reopened.find("d2")?.hasFeedback).toBe(true);
    expect(reopened.find("d19")?.hasFeedback).toBe(false);
    // The last 3 served decisions without feedback are matchable by listen again after the restart.
    expect(reopened.findOpenListen(row(19).userId, row(19).trackId, row(19).sessionId)?.row.id).toBe("d19");
    expect(reopened.findOpenListen(row(17).userId, row(17).trackId, row(17).sessionId)?.row.id).toBe("d17");
    expect(reopened.findOpenListen(row(16).userId, row(16).trackId, row(16).sessionId)).toBeNull();
    await reopened.close();
  });
});

describe("DecisionLog duplicate feedback", () => {
  it("refuses a second feedback while the first waits for its commit, also for decisions read back from the database", async () => {
    const path = dbPath();
    const log = new SqliteDecisionLog(path, { recentCapacity: 1 });
    await log.record(row(1));
    await log.record(row(2));
    const old = log.find("d1");
    expect(old?.hasFeedback).toBe(false);
    const pending = log.recordFeedback(
      {
        decisionId: "d1",
        tsMs: 1,
        userId: 101,
        trackId: "t1",
        sessionId: 1,
        skipped: true,
        heardMs: 5,
        durationMs: 9,
      },
      old as LoggedDecision,
      { origin: "o", outcome: { userId: 101, trackId: "t1", skipped: true, heardMs: 5, atMs: 1 } },
    );
    // Not answered until committed, but a second feedback is refused meanwhile.
    expect(log.find("d1")?.hasFeedback).toBe(false);
    expect(log.feedbackInFlight("d1")).toBe(true);
    expect(() =>
      log.recordFeedback(
        {
          decisionId: "d1",
          tsMs: 1,
          userId: 101,
          trackId: "t1",
          sessionId: 1,
          skipped: true,
          heardMs: 5,
          durationMs: 9,
        },
        old as LoggedDecision,
        { origin: "o", outcome: { userId: 101, trackId: "t1", skipped: true, heardMs: 5, atMs: 1 } },
      ),
    ).toThrow(/already has feedback/);
    await pending;
    expect(log.find("d1")?.hasFeedback).toBe(true);
    await log.close();
  });
});

describe("log export and readers", () => {
  async function filledLog(): Promise<string> {
    const path = dbPath();
    const log = new SqliteDecisionLog(path);
    for (let i = 0; i < 20; i++) log.record(row(i));
    await log.record(row(20, { experiment: null, variant: null }));
    const d3 = log.find("d3");
    await log.recordFeedback(
      {
        decisionId: "d3",
        tsMs: 9,
        userId: 103,
        trackId: "t3",
        sessionId: 3,
        skipped: false,
        heardMs: 200_000,
        durationMs: 200_000,
      },
      d3 as LoggedDecision,
      { origin: "o", outcome: { userId: 103, trackId: "t3", skipped: false, heardMs: 200_000, atMs: 3 } },
    );
    await log.close();
    return path;
  }

  it("writes the reference's log entries as JSONL with skipwise's fields", async () => {
    const path = await filledLog();
    const out = join(path, "..", "log.jsonl");
    expect(await exportLogJsonl(path, out)).toBe(21);
    const lines = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(21);
    expect(Object.keys(lines[0]).slice(0, 4)).toEqual(["model", "user_id", "track_id", "prediction"]);
    const d3 = lines.find((l) => l.decision_id === "d3");
    expect(d3).toMatchObject({
      model: "gbdt",
      user_id: 103,
      track_id: "t3",
      outcome: "played",
      heard_ms: 200_000,
    });
    expect(lines.filter((l) => l.outcome !== null)).toHaveLength(1);
    // Written through a temp file beside it, which is gone once the export is in place.
    expect(readdirSync(dirname(out)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("reads joined records, and the analysis shape the experiment stage consumes", async () => {
    const path = await filledLog();
    const all = readDecisionRecords(path);
    expect(all.map((r) => r.decisionId)).toEqual(Array.from({ length: 21 }, (_, i) => `d${i}`));
    expect(all[3].outcome).toEqual({ skipped: false, heardMs: 200_000, durationMs: 200_000, tsMs: 9 });
    const analysis = readAnalysisRecords(path);
    expect(analysis).toHaveLength(20);
    expect(analysis[3]).toEqual({
      decisionId: "d3",
      ts: row(3).tsMs,
      experiment: "exp",
      variant: "b",
      model: "gbdt",
      userId: 103,
      trackId: "t3",
      probSkip: 0.3,
      decision: "PLAY",
      outcome: "PLAY",
      heardMs: 200_000,
      durationMs: 200_000,
    });
    expectTypeOf<AnalysisRecord>().toExtend<DecisionRecord>();
  });

  it("refuses a missing database file", () => {
    expect(() => readDecisionRecords(join(tempDir("none"), "nope.db"))).toThrow();
  });
});
