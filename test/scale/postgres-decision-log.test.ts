// The PostgreSQL decision log on a real server (started here, on a free port, in a temp folder): the SQLite
// log's behaviours where they apply (group commit, write-ahead, find, open listens after a restart, one
// feedback per decision), what replicas sharing one database need (feedback and events accepted once across
// two log instances), a PostgreSQL stopped or killed mid-stream (writes refused as DecisionLogWriteError,
// nothing half-written, every acknowledged row kept, recovery without a new instance), and the readers of
// `log export` and `abtest analyze` on PostgreSQL.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EventRecord } from "../../src/data/event-record.ts";
import { runAnalyzeCommand } from "../../src/experiment/analyze-command.ts";
import {
  type DecisionLog,
  DecisionLogWriteError,
  type DecisionRow,
  FeedbackAlreadyRecordedError,
  type FeedbackRow,
  type LearnedItem,
  type LoggedDecision,
  type LogProblem,
} from "../../src/serve/decision-log.ts";
import { collectDecisionRecords, exportLogJsonl, toAnalysisRecord } from "../../src/serve/log-export.ts";
import { PostgresDecisionLog } from "../../src/serve/postgres-decision-log.ts";
import { openDecisionLog } from "../../src/serve/server.ts";
import { SqliteDecisionLog } from "../../src/serve/sqlite-decision-log.ts";
import { tempDir, waitUntil } from "../serve/helpers.ts";
import { type PostgresServer, scaleServersOrSkip, startPostgres } from "./servers.ts";

const skip = scaleServersOrSkip(["postgres"]);

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

function feedbackFor(decision: DecisionRow, skipped = true): FeedbackRow {
  return {
    decisionId: decision.id,
    tsMs: decision.tsMs + 1,
    userId: decision.userId,
    trackId: decision.trackId,
    sessionId: decision.sessionId,
    skipped,
    heardMs: skipped ? 5_000 : 200_000,
    durationMs: 200_000,
  };
}

function outcomeOf(decision: DecisionRow, origin = "o", skipped = true) {
  return {
    origin,
    outcome: {
      userId: decision.userId,
      trackId: decision.trackId,
      skipped,
      heardMs: 5_000,
      atMs: decision.listenMs,
    },
  };
}

function event(i: number): EventRecord {
  return { kind: 1, timestampMs: 1_690_000_000_000 + i, userId: 7, sessionId: 3, trackId: `t${i}` };
}

describe.skipIf(skip)("PostgreSQL decision log (real PostgreSQL)", () => {
  let server: PostgresServer;
  let databases = 0;
  const logs: PostgresDecisionLog[] = [];
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  });

  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close().catch(() => undefined);
    for (const client of clients.splice(0)) await client.end().catch(() => undefined);
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** A database of its own for one test: the URL to open logs on. */
  async function freshDatabase(): Promise<string> {
    const name = `t${++databases}`;
    // A connection of its own each time: the server is stopped and killed by some tests.
    const admin = await reader(server.url);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async function open(url: string, options: Parameters<typeof PostgresDecisionLog.open>[1] = {}) {
    const log = await PostgresDecisionLog.open(url, options);
    logs.push(log);
    return log;
  }

  /** A plain connection to count rows with, apart from the log's own. */
  async function reader(url: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    await client.connect();
    clients.push(client);
    return client;
  }

  async function count(client: pg.Client, sql: string, params: unknown[] = []): Promise<number> {
    return Number((await client.query<{ n: string }>(sql, params)).rows[0].n);
  }

  it("is what openDecisionLog gives for a postgres:// URL, and keeps the password out of its name", async () => {
    const url = await freshDatabase();
    const log = await openDecisionLog(url.replace("skipwise@", "skipwise:secret@"));
    try {
      expect(log).toBeInstanceOf(PostgresDecisionLog);
      expect(log.path).not.toContain("secret");
    } finally {
      await log.close();
    }
    await expect(openDecisionLog(`postgres://skipwise@127.0.0.1:${server.port}/no_such_db`)).rejects.toThrow(
      /decision log .*no_such_db/,
    );
  });

  it("group-commits one turn's writes into one transaction, visible only once awaited", async () => {
    const url = await freshDatabase();
    const log = await open(url);
    const db = await reader(url);
    const promises = Array.from({ length: 200 }, (_, i) => log.record(row(i)));
    expect(new Set(promises).size).toBe(1);
    expect(await count(db, "SELECT count(*) AS n FROM decisions")).toBe(0);
    await Promise.all(promises);
    expect(log.commits).toBe(1);
    expect(await count(db, "SELECT count(*) AS n FROM decisions")).toBe(200);
    await log.record(row(500));
    expect(log.commits).toBe(2);
  });

  it("finds decisions by id (memory, then PostgreSQL) and open listens, also from a second instance", async () => {
    const url = await freshDatabase();
    const log = await open(url, { recentCapacity: 3 });
    const shadow = row(2, { id: "s2", served: false, shadowOf: "d2", variant: "b", model: "gbdt" });
    await log.record(row(2), [shadow]);
    for (let i = 10; i < 20; i++) await log.record(row(i));
    // d2 left the recent cache (capacity 3): read back from PostgreSQL with its shadow row.
    const found = await log.find("d2");
    expect(found?.row).toEqual(row(2));
    expect(found?.shadows).toEqual([shadow]);
    expect(found?.hasFeedback).toBe(false);
    expect(await log.find("s2")).toBeNull();
    expect(await log.find("nope")).toBeNull();
    const r19 = row(19);
    expect((await log.findOpenListen(r19.userId, r19.trackId, r19.sessionId))?.row.id).toBe("d19");
    await log.recordFeedback(feedbackFor(row(2)), found as LoggedDecision, outcomeOf(row(2)));
    // The same decision's second feedback is refused by this replica before anything is written.
    expect(() => log.recordFeedback(feedbackFor(row(2)), found as LoggedDecision, outcomeOf(row(2)))).toThrow(
      /already has feedback/,
    );
    await log.close();
    await expect(async () => log.record(row(99))).rejects.toThrow(/closed/);

    // A restart (or another replica): everything is in PostgreSQL.
    const reopened = await open(url);
    expect((await reopened.find("d2"))?.hasFeedback).toBe(true);
    expect((await reopened.find("d19"))?.hasFeedback).toBe(false);
    expect((await reopened.findOpenListen(r19.userId, r19.trackId, r19.sessionId))?.row.id).toBe("d19");
    // With feedback, a listen is no longer open; a session-less listen matches on null.
    expect(await reopened.findOpenListen(row(2).userId, row(2).trackId, row(2).sessionId)).toBeNull();
    const r15 = row(15);
    expect(r15.sessionId).toBeNull();
    expect((await reopened.findOpenListen(r15.userId, r15.trackId, null))?.row.id).toBe("d15");
    // The latest served decision of the listen wins.
    await reopened.record(row(40, { id: "again", userId: r19.userId, trackId: r19.trackId, sessionId: 19 }));
    expect((await reopened.findOpenListen(r19.userId, r19.trackId, r19.sessionId))?.row.id).toBe("again");
  });

  it("acknowledges a batch only after its learning, and never runs two batches' learning at once", async () => {
    const url = await freshDatabase();
    const log = await open(url);
    const learned: string[] = [];
    let active = 0;
    let maxActive = 0;
    const held: { calls: Set<number>; release: () => void }[] = [];
    log.onLearned = async (items: LearnedItem[]) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const calls = new Set<number>();
      for (const item of items) {
        if (item.kind !== "event") continue;
        learned.push(item.event.trackId as string);
        calls.add(Math.floor((item.event.timestampMs - event(0).timestampMs) / 2));
      }
      // Held until the test lets it go: no call of this batch may be acknowledged meanwhile.
      await new Promise<void>((release) => held.push({ calls, release }));
      active--;
    };
    const acknowledged = new Set<number>();
    const calls: Promise<unknown>[] = [];
    for (let c = 0; c < 6; c++) {
      calls.push(log.recordEvents([event(c * 2), event(c * 2 + 1)], "o").then(() => acknowledged.add(c)));
      // The next call comes in a later turn: a batch of its own, or gathered while writers are busy.
      await new Promise((r) => setImmediate(r));
    }
    let batches = 0;
    while (acknowledged.size < 6) {
      await waitUntil("a learning call", () => held.length > 0);
      const { calls: inBatch, release } = held.shift() as (typeof held)[number];
      expect([...inBatch].filter((c) => acknowledged.has(c))).toEqual([]);
      expect(active).toBe(1);
      release();
      await waitUntil(`batch ${batches} acknowledged`, () => [...inBatch].every((c) => acknowledged.has(c)));
      batches++;
    }
    await Promise.all(calls);
    expect(batches).toBeGreaterThan(1);
    expect(maxActive).toBe(1);
    // Learned in the order the calls were made (batches are acknowledged and learned in commit order).
    expect(learned).toEqual(Array.from({ length: 12 }, (_, i) => `t${i}`));
  });

  it("two replicas: one feedback per decision, the loser refused as a duplicate and learning nothing", async () => {
    const url = await freshDatabase();
    const a = await open(url);
    const b = await open(url);
    const learnedBy = { a: 0, b: 0 };
    a.onLearned = (items) => {
      learnedBy.a += items.length;
    };
    b.onLearned = (items) => {
      learnedBy.b += items.length;
    };
    const decisions = Array.from({ length: 20 }, (_, i) => row(i));
    await Promise.all(decisions.map((d) => a.record(d)));
    let accepted = 0;
    let duplicates = 0;
    for (const d of decisions) {
      const [fromA, fromB] = await Promise.all([a.find(d.id), b.find(d.id)]);
      // Both in flight together (one in each replica's next batch), alongside another decision of b's.
      const results = await Promise.allSettled([
        a.recordFeedback(feedbackFor(d), fromA as LoggedDecision, outcomeOf(d)),
        b.recordFeedback(feedbackFor(d, false), fromB as LoggedDecision, outcomeOf(d, "o", false)),
        b.record(row(1000 + decisions.indexOf(d), { id: `other-${d.id}` })),
      ]);
      expect(results[2].status).toBe("fulfilled");
      for (const result of results.slice(0, 2)) {
        if (result.status === "fulfilled") accepted++;
        else {
          expect(result.reason).toBeInstanceOf(FeedbackAlreadyRecordedError);
          duplicates++;
        }
      }
    }
    expect(accepted).toBe(20);
    expect(duplicates).toBe(20);
    expect(learnedBy.a + learnedBy.b).toBe(20);
    const db = await reader(url);
    expect(await count(db, "SELECT count(*) AS n FROM feedback")).toBe(20);
    expect(await count(db, "SELECT count(DISTINCT decision_id) AS n FROM feedback")).toBe(20);
    expect(await count(db, "SELECT count(*) AS n FROM learned WHERE kind = 100")).toBe(20);
    expect(await count(db, "SELECT count(*) AS n FROM decisions WHERE id LIKE 'other-%'")).toBe(20);
    // Either replica now sees the feedback, so a third attempt is refused before writing.
    expect((await b.find("d0"))?.hasFeedback).toBe(true);
  });

  it("two replicas: an event journaled through both is learned once, and counted as a repeat", async () => {
    const url = await freshDatabase();
    const a = await open(url);
    const b = await open(url);
    const learned: string[] = [];
    a.onLearned = (items) => {
      for (const item of items) if (item.kind === "event") learned.push(`a:${item.event.trackId}`);
    };
    b.onLearned = (items) => {
      for (const item of items) if (item.kind === "event") learned.push(`b:${item.event.trackId}`);
    };
    const events = Array.from({ length: 50 }, (_, i) => event(i));
    const [fromA, fromB] = await Promise.all([a.recordEvents(events, "o"), b.recordEvents(events, "o")]);
    expect(fromA.learned + fromB.learned).toBe(50);
    expect(fromA.repeats + fromB.repeats).toBe(50);
    expect(new Set(learned.map((l) => l.slice(2))).size).toBe(50);
    expect(learned).toHaveLength(50);
    // A retry of the whole batch later, and a repeat inside one batch: nothing learned twice.
    expect(await a.recordEvents(events.slice(0, 10), "o")).toEqual({ learned: 0, repeats: 10 });
    expect(await b.recordEvents([event(60), event(60)], "o")).toEqual({ learned: 1, repeats: 1 });
    // The same event on another feature-state origin is another journal entry.
    expect(await a.recordEvents([event(0)], "other")).toEqual({ learned: 1, repeats: 0 });
    const db = await reader(url);
    expect(await count(db, "SELECT count(*) AS n FROM learned WHERE kind <> 100")).toBe(52);
  });

  /**
   * Writers that record a decision with one shadow row, one after another, until told to stop; what was
   * acknowledged and what was refused, by served id.
   */
  function writeStream(log: PostgresDecisionLog, writers: number) {
    const acked = new Set<string>();
    const refused = new Set<string>();
    const otherErrors: unknown[] = [];
    let stopping = false;
    let n = 0;
    const loops = Array.from({ length: writers }, async () => {
      while (!stopping) {
        const i = n++;
        const served = row(i, { id: `m${i}` });
        const shadow = row(i, { id: `m${i}-s`, served: false, shadowOf: served.id });
        try {
          await log.record(served, [shadow]);
          acked.add(served.id);
        } catch (error) {
          if (error instanceof DecisionLogWriteError) refused.add(served.id);
          else otherErrors.push(error);
          // A client retrying after a 503 paces itself; this is that pacing, not a wait for a condition.
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    });
    return {
      acked,
      refused,
      otherErrors,
      async stop() {
        stopping = true;
        await Promise.all(loops);
      },
    };
  }

  /** Served ids in the database, and whether every decision is whole (its shadow with it, and no orphan). */
  async function stored(url: string): Promise<{ ids: Set<string>; whole: boolean }> {
    const db = await reader(url);
    const rows = (
      await db.query<{ id: string; shadow_of: string | null }>("SELECT id, shadow_of FROM decisions")
    ).rows;
    const ids = new Set(rows.filter((r) => r.shadow_of === null).map((r) => r.id));
    const shadowed = new Set(rows.filter((r) => r.shadow_of !== null).map((r) => r.shadow_of as string));
    const whole = ids.size === shadowed.size && [...ids].every((id) => shadowed.has(id));
    return { ids, whole };
  }

  it("PostgreSQL stopped mid-stream: writes refused (503), nothing half-written, recovery by itself", async () => {
    const url = await freshDatabase();
    const problems: (LogProblem | null)[] = [];
    const log = await open(url);
    log.onProblem = (problem) => problems.push(problem);
    const stream = writeStream(log, 8);
    try {
      await waitUntil("300 acknowledged decisions", () => stream.acked.size >= 300);
      await server.pause();
      await waitUntil("writes refused while PostgreSQL is down", () => stream.refused.size >= 20);
      expect(log.problem?.kind).toBe("write-failed");
      expect(await log.checkWritable()).toBe(false);
      const ackedWhileDown = stream.acked.size;
      await server.resume();
      // The same instance reconnects on its next commit; readiness comes back once a write goes through.
      await waitUntil(
        "300 more acknowledged decisions after the restart",
        () => stream.acked.size >= ackedWhileDown + 300,
      );
      await waitUntil("the log writable again", () => log.checkWritable());
    } finally {
      await stream.stop();
      await server.resume();
    }
    expect(stream.otherErrors).toEqual([]);
    expect(log.problem).toBeNull();
    expect(problems.map((p) => p?.kind ?? null)).toEqual(["write-failed", null]);
    await log.flush();
    const { ids, whole } = await stored(url);
    expect(whole).toBe(true);
    const lost = [...stream.acked].filter((id) => !ids.has(id));
    const refusedButStored = [...stream.refused].filter((id) => ids.has(id));
    console.log(
      `PostgreSQL stopped mid-stream: ${stream.acked.size} acknowledged (${lost.length} missing), ` +
        `${stream.refused.size} refused (${refusedButStored.length} stored), ${ids.size} in PostgreSQL`,
    );
    expect(lost).toEqual([]);
    expect(refusedButStored).toEqual([]);
    expect(ids.size).toBe(stream.acked.size);
  });

  it("PostgreSQL killed (-9) mid-stream: every acknowledged decision survives crash recovery", async () => {
    const url = await freshDatabase();
    const log = await open(url);
    const stream = writeStream(log, 8);
    let ackedAtKill = 0;
    try {
      await waitUntil("300 acknowledged decisions", () => stream.acked.size >= 300);
      await server.kill9();
      ackedAtKill = stream.acked.size;
      await waitUntil("writes refused while PostgreSQL is down", () => stream.refused.size >= 20);
      await server.resume();
      await waitUntil("300 more acknowledged decisions", () => stream.acked.size >= ackedAtKill + 300);
    } finally {
      await stream.stop();
      await server.resume();
    }
    expect(stream.otherErrors).toEqual([]);
    await log.flush();
    const { ids, whole } = await stored(url);
    expect(whole).toBe(true);
    const lost = [...stream.acked].filter((id) => !ids.has(id));
    // A batch whose COMMIT reached the WAL but whose answer died with the server is in doubt: stored, refused.
    const inDoubt = [...stream.refused].filter((id) => ids.has(id));
    console.log(
      `PostgreSQL killed mid-stream: ${stream.acked.size} acknowledged (${lost.length} lost), ` +
        `${stream.refused.size} refused (${inDoubt.length} in doubt, stored), ${ids.size} in PostgreSQL`,
    );
    expect(lost).toEqual([]);
    expect(ids.size).toBe(stream.acked.size + inDoubt.length);
  });

  it("log export and the A/B readers read PostgreSQL like SQLite", async () => {
    const url = await freshDatabase();
    const log = await open(url);
    for (let i = 0; i < 20; i++) log.record(row(i));
    await log.record(row(20, { experiment: null, variant: null }), [
      row(20, { id: "s20", served: false, shadowOf: "d20", experiment: null, variant: null }),
    ]);
    const d3 = await log.find("d3");
    await log.recordFeedback(
      { ...feedbackFor(row(3), false), tsMs: 9, heardMs: 200_000 },
      d3 as LoggedDecision,
      outcomeOf(row(3), "o", false),
    );
    const all = await collectDecisionRecords(url);
    expect(all.map((r) => r.decisionId)).toEqual(Array.from({ length: 21 }, (_, i) => `d${i}`));
    expect(all[3].outcome).toEqual({ skipped: false, heardMs: 200_000, durationMs: 200_000, tsMs: 9 });
    expect(all[5].outcome).toBeNull();
    const { id: _id, ...fields } = row(7);
    expect(all[7]).toEqual({ decisionId: "d7", ...fields, outcome: null });
    expect(await collectDecisionRecords(url, { includeShadow: true })).toHaveLength(22);
    const inExperiment = await collectDecisionRecords(url, { experiment: "exp" });
    expect(inExperiment).toHaveLength(20);
    expect(toAnalysisRecord(inExperiment[3], "exp", "b")).toMatchObject({
      outcome: "PLAY",
      heardMs: 200_000,
    });

    const dir = tempDir("pg-export");
    try {
      const out = join(dir, "log.jsonl");
      expect(await exportLogJsonl(url, out)).toBe(21);
      const lines = readFileSync(out, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.find((l) => l.decision_id === "d3")).toMatchObject({ user_id: 103, outcome: "played" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(
      collectDecisionRecords(`postgres://skipwise@127.0.0.1:${server.port}/no_such_db`),
    ).rejects.toThrow(/decision log .*no_such_db/);
  });

  it("the same log in SQLite and PostgreSQL: equal records, byte-equal exports, equal A/B analyses", async () => {
    const url = await freshDatabase();
    const dir = tempDir("pg-vs-sqlite");
    const sqlite = new SqliteDecisionLog(join(dir, "decisions.db"));
    const postgres = await open(url);
    try {
      for (const log of [sqlite, postgres] as DecisionLog[]) {
        const rows = Array.from({ length: 240 }, (_, i) => {
          const user = i % 40;
          const variant = user % 2 === 0 ? "a" : "b";
          return row(i, { userId: user, variant, model: variant === "a" ? "naive" : "gbdt" });
        });
        await Promise.all(rows.map((r) => log.record(r)));
        for (const r of rows.slice(0, 200)) {
          const logged = await log.find(r.id);
          const skipped = (r.userId * 7 + Number(r.id.slice(1))) % 3 === 0;
          await log.recordFeedback(
            feedbackFor(r, skipped),
            logged as LoggedDecision,
            outcomeOf(r, "o", skipped),
          );
        }
      }
      await sqlite.close();
      const fromSqlite = await collectDecisionRecords(join(dir, "decisions.db"));
      const fromPostgres = await collectDecisionRecords(url);
      expect(fromPostgres).toHaveLength(240);
      expect(fromPostgres).toEqual(fromSqlite);
      await exportLogJsonl(join(dir, "decisions.db"), join(dir, "sqlite.jsonl"));
      await exportLogJsonl(url, join(dir, "postgres.jsonl"));
      expect(readFileSync(join(dir, "postgres.jsonl"), "utf8")).toBe(
        readFileSync(join(dir, "sqlite.jsonl"), "utf8"),
      );
      const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
      const analyses = [];
      for (const log of [join(dir, "decisions.db"), url]) {
        const { analysis } = await runAnalyzeCommand({
          log,
          out: join(dir, `abtest-${analyses.length}`),
          stdout: quiet,
        });
        analyses.push(analysis);
      }
      expect(analyses[1].variants.map((v) => v.variant).sort()).toEqual(["a", "b"]);
      expect(analyses[1]).toEqual(analyses[0]);
    } finally {
      await sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a log larger than one page in order", async () => {
    const url = await freshDatabase();
    const log = await open(url);
    await Promise.all(Array.from({ length: 12_345 }, (_, i) => log.record(row(i, { id: `p${i}` }))));
    const ids = (await collectDecisionRecords(url)).map((r) => r.decisionId);
    expect(ids).toEqual(Array.from({ length: 12_345 }, (_, i) => `p${i}`));
  });
});
