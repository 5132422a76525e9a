// The decision log in PostgreSQL, shared by every replica: the same tables and write-ahead semantics as the
// SQLite log (decision-log.ts), with group commit over one writer connection. Decisions, feedback and events
// arriving while a commit is in flight gather into the next transaction; each caller's promise settles only
// after its transaction's COMMIT (synchronous_commit on: acknowledged = durable) and after the feature
// state has learned what it committed, in commit order.
// Across replicas, feedback is idempotent by decision id (UNIQUE, ON CONFLICT DO NOTHING): the replica that
// loses the race refuses it as a duplicate and learns nothing; a journaled event carries a unique key, so an
// event retried on another replica is acknowledged as a repeat and learned once.
// A lost connection (PostgreSQL stopped, restarted) fails the batch in flight (503 to its callers, nothing
// written: the transaction never committed) and the log reconnects by itself on the next write or probe.
import pg from "pg";
import { redactedUrl } from "../base/format.ts";
import type { EventRecord } from "../data/event-record.ts";
import {
  type DbDecision,
  DecisionLogClosedError,
  type DecisionLogOptions,
  DecisionLogWriteError,
  type DecisionRow,
  FeedbackAlreadyRecordedError,
  type FeedbackRow,
  fromDb,
  type LearnedItem,
  type LoggedDecision,
  type LogProblem,
  OUTCOME_KIND,
} from "./decision-log.ts";
import type { ListenOutcome } from "./scorer.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS decisions (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  ts_ms DOUBLE PRECISION NOT NULL,
  route TEXT NOT NULL,
  experiment TEXT,
  variant TEXT,
  model TEXT NOT NULL,
  bundle_version TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  track_id TEXT NOT NULL,
  session_id INTEGER,
  position INTEGER,
  prob_skip DOUBLE PRECISION NOT NULL,
  threshold DOUBLE PRECISION NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('PLAY', 'SKIP')),
  cold_user SMALLINT NOT NULL,
  cold_track SMALLINT NOT NULL,
  served SMALLINT NOT NULL,
  shadow_of TEXT,
  listen_ms DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS decisions_shadow_of ON decisions (shadow_of) WHERE shadow_of IS NOT NULL;
CREATE INDEX IF NOT EXISTS decisions_open_listen ON decisions (user_id, track_id, session_id, seq) WHERE served = 1;
CREATE TABLE IF NOT EXISTS learned (
  seq BIGSERIAL PRIMARY KEY,
  origin TEXT NOT NULL,
  kind SMALLINT NOT NULL,
  event_ms DOUBLE PRECISION NOT NULL,
  user_id INTEGER NOT NULL,
  session_id INTEGER,
  track_id TEXT,
  position INTEGER,
  skipped SMALLINT,
  heard_ms DOUBLE PRECISION,
  event_key TEXT UNIQUE
);
CREATE TABLE IF NOT EXISTS heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), ts_ms DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
  feedback_id BIGSERIAL PRIMARY KEY,
  decision_id TEXT UNIQUE,
  ts_ms DOUBLE PRECISION NOT NULL,
  user_id INTEGER NOT NULL,
  track_id TEXT NOT NULL,
  session_id INTEGER,
  skipped SMALLINT NOT NULL,
  heard_ms DOUBLE PRECISION,
  duration_ms DOUBLE PRECISION
);
`;

/** Serialises the schema creation of replicas starting together (CREATE … IF NOT EXISTS can race). */
const SCHEMA_LOCK = 0x736b7770;

type Op =
  | { kind: "decision"; row: DecisionRow; logged: LoggedDecision | null }
  | {
      kind: "feedback";
      row: FeedbackRow;
      logged: LoggedDecision;
      learned: LearnedItem;
      fail: (error: Error) => void;
    }
  | { kind: "event"; item: LearnedItem & { kind: "event" }; key: string; counted: { learned: number } };

interface Batch {
  ops: Op[];
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

const pgOptions = (url: string) => ({
  connectionString: url,
  connectionTimeoutMillis: 3_000,
  query_timeout: 10_000,
  statement_timeout: 10_000,
});

export class PostgresDecisionLog {
  readonly path: string;
  private readonly url: string;
  private readonly pool: pg.Pool;
  /** Writer connections, each running one transaction at a time; their free indexes. */
  private readonly writers: (pg.Client | null)[];
  private readonly idle: number[];
  private inFlight = 0;
  /** Settles once the latest started batch has been acknowledged: acknowledgements go in batch order. */
  private ordered: Promise<void> = Promise.resolve();
  private readonly recent = new Map<string, LoggedDecision>();
  private readonly recentCapacity: number;
  private readonly listenCapacity: number;
  private readonly commitDelayMs: number;
  private readonly feedbackPending = new Set<string>();
  private gathering: Batch | null = null;
  private closed = false;
  private problemNow: LogProblem | null = null;
  private probing = false;
  onCommit: ((rows: number, seconds: number) => void) | undefined;
  onLearned: ((items: LearnedItem[]) => void | Promise<void>) | undefined;
  onProblem: ((problem: LogProblem | null) => void) | undefined;
  commits = 0;

  private constructor(url: string, options: DecisionLogOptions) {
    this.url = url;
    this.path = redactedUrl(url);
    this.recentCapacity = options.recentCapacity ?? 256;
    this.listenCapacity = options.listenCapacity ?? 100_000;
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.onCommit = options.onCommit;
    const writers = Math.max(1, options.writers ?? 2);
    this.writers = Array.from({ length: writers }, () => null);
    this.idle = Array.from({ length: writers }, (_, i) => writers - 1 - i);
    this.pool = new pg.Pool({ ...pgOptions(url), max: 4 });
    // An idle pooled connection that dies (PostgreSQL restarted) is reported here; the pool replaces it.
    this.pool.on("error", () => {});
  }

  /** Connects, creates the tables when absent (one replica at a time) and returns the log. */
  static async open(url: string, options: DecisionLogOptions = {}): Promise<PostgresDecisionLog> {
    const log = new PostgresDecisionLog(url, options);
    try {
      const client = await log.pool.connect();
      try {
        await client.query("SELECT pg_advisory_lock($1)", [SCHEMA_LOCK]);
        await client.query(SCHEMA);
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [SCHEMA_LOCK]).catch(() => undefined);
        client.release();
      }
    } catch (error) {
      await log.pool.end().catch(() => undefined);
      throw new Error(`decision log ${log.path}: ${(error as Error).message}`);
    }
    return log;
  }

  record(row: DecisionRow, shadows: DecisionRow[] = []): Promise<void> {
    const batch = this.batch();
    batch.ops.push({ kind: "decision", row, logged: { row, shadows, hasFeedback: false } });
    for (const shadow of shadows) batch.ops.push({ kind: "decision", row: shadow, logged: null });
    return batch.promise;
  }

  /**
   * Rejects with FeedbackAlreadyRecordedError when another replica recorded feedback for the decision
   * first (its transaction inserted nothing for it; the rest of the batch commits).
   */
  recordFeedback(
    row: FeedbackRow,
    logged: LoggedDecision,
    learned: { origin: string; outcome: ListenOutcome },
  ): Promise<void> {
    if (logged.hasFeedback || this.feedbackPending.has(logged.row.id)) {
      throw new Error(`decision ${logged.row.id} already has feedback`);
    }
    this.feedbackPending.add(logged.row.id);
    const batch = this.batch();
    let fail: (error: Error) => void = () => {};
    const refused = new Promise<never>((_, reject) => {
      fail = reject;
    });
    refused.catch(() => undefined);
    batch.ops.push({ kind: "feedback", row, logged, learned: { kind: "outcome", ...learned }, fail });
    return Promise.race([batch.promise, refused]);
  }

  async recordEvents(
    events: readonly EventRecord[],
    origin: string,
  ): Promise<{ learned: number; repeats: number }> {
    if (events.length === 0) return { learned: 0, repeats: 0 };
    const batch = this.batch();
    const counted = { learned: 0 };
    for (const event of events) {
      batch.ops.push({
        kind: "event",
        item: { kind: "event", origin, event },
        key: eventKey(origin, event),
        counted,
      });
    }
    await batch.promise;
    return { learned: counted.learned, repeats: events.length - counted.learned };
  }

  /** The journal is for an in-process state: a PostgreSQL log serves replicas, whose state is in Redis. */
  learnedOn(_origin: string): Iterable<LearnedItem> {
    throw new Error(
      "a PostgreSQL decision log is shared by replicas, which keep their online state in Redis: serve with --redis",
    );
  }

  feedbackInFlight(id: string): boolean {
    return this.feedbackPending.has(id);
  }

  async find(id: string): Promise<LoggedDecision | null> {
    const hit = this.recent.get(id);
    if (hit) return hit;
    const rows = await this.read<DbDecision>("SELECT * FROM decisions WHERE id = $1", [id]);
    if (rows.length === 0 || rows[0].served !== 1) return null;
    return this.loggedOf(rows[0]);
  }

  /** The latest served decision without feedback for the listen, from PostgreSQL (any replica's). */
  async findOpenListen(
    userId: number,
    trackId: string,
    sessionId: number | null,
  ): Promise<LoggedDecision | null> {
    const rows = await this.read<DbDecision>(
      `SELECT d.* FROM decisions d
        WHERE d.served = 1 AND d.user_id = $1 AND d.track_id = $2
          AND ${sessionId === null ? "d.session_id IS NULL" : "d.session_id = $3"}
          AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.decision_id = d.id)
        ORDER BY d.seq DESC LIMIT 1`,
      sessionId === null ? [userId, trackId] : [userId, trackId, sessionId],
    );
    return rows.length === 0 ? null : this.loggedOf(rows[0]);
  }

  get openListenCapacity(): number {
    return this.listenCapacity;
  }

  get problem(): LogProblem | null {
    return this.problemNow;
  }

  /** Writable now? While the last commit failed, a heartbeat write probes in the background. */
  checkWritable(): boolean {
    if (this.closed) return false;
    if (this.problemNow === null) return true;
    if (!this.probing) {
      this.probing = true;
      this.writeHeartbeat()
        .then(() => this.setProblem(null))
        .catch(() => undefined)
        .finally(() => {
          this.probing = false;
        });
    }
    return false;
  }

  async flush(): Promise<void> {
    while (this.gathering || this.inFlight > 0) {
      await (this.gathering?.promise ?? this.ordered).catch(() => undefined);
      if (!this.gathering && this.inFlight > 0) await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    for (const [i, writer] of this.writers.entries()) {
      await writer?.end().catch(() => undefined);
      this.writers[i] = null;
    }
    await this.pool.end().catch(() => undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The batch new ops join: the one gathering now, started (and scheduled) when there is none. */
  private batch(): Batch {
    if (this.closed) throw new DecisionLogClosedError();
    if (this.gathering) return this.gathering;
    let resolve: () => void = () => {};
    let reject: (error: Error) => void = () => {};
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    const batch: Batch = { ops: [], promise, resolve, reject };
    this.gathering = batch;
    if (this.idle.length > 0) this.scheduleCommit();
    return batch;
  }

  /**
   * Starts the gathering batch on a free writer (at the end of this turn, or after the commit delay). Up to
   * `writers` transactions run at once, so PostgreSQL flushes their WAL together; each batch is still
   * acknowledged, and its learning applied, only after every batch started before it.
   */
  private scheduleCommit(): void {
    const run = () => {
      const batch = this.gathering;
      if (!batch || this.idle.length === 0) return;
      this.gathering = null;
      const writer = this.idle.pop() as number;
      this.inFlight++;
      const previous = this.ordered;
      const step = this.commit(batch, writer, previous);
      this.ordered = step;
      void step.finally(() => {
        this.idle.push(writer);
        this.inFlight--;
        if (this.gathering) this.scheduleCommit();
      });
    };
    if (this.commitDelayMs > 0) setTimeout(run, this.commitDelayMs);
    else setImmediate(run);
  }

  private async connection(writer: number): Promise<pg.Client> {
    const existing = this.writers[writer];
    if (existing) return existing;
    const client = new pg.Client(pgOptions(this.url));
    client.on("error", () => {
      if (this.writers[writer] === client) this.writers[writer] = null;
    });
    await client.connect();
    this.writers[writer] = client;
    return client;
  }

  /** Commits a batch on `writer`; acknowledges it once `previous` (the batch before) is acknowledged. */
  private async commit(batch: Batch, writer: number, previous: Promise<void>): Promise<void> {
    const { ops } = batch;
    const start = performance.now();
    let inserted: { events: Set<string>; feedback: Set<string> };
    try {
      const client = await this.connection(writer);
      try {
        inserted = await this.write(client, ops);
      } catch (error) {
        // One statement is one transaction: it failed whole. A broken connection is replaced on the next use.
        if (this.writers[writer] === client) this.writers[writer] = null;
        client.end().catch(() => undefined);
        throw error;
      }
    } catch (error) {
      await previous;
      for (const op of ops) if (op.kind === "feedback") this.feedbackPending.delete(op.logged.row.id);
      const message = (error as Error).message;
      if (this.problemNow === null) this.setProblem({ kind: "write-failed", message, sinceMs: Date.now() });
      batch.reject(
        new DecisionLogWriteError(`decision log ${this.path}: commit failed, nothing written: ${message}`),
      );
      return;
    }
    await previous;
    this.commits++;
    this.onCommit?.(ops.length, (performance.now() - start) / 1000);
    if (this.problemNow !== null) this.setProblem(null);
    // Committed: only now do the rows become visible to lookups and the feature state.
    const learned: LearnedItem[] = [];
    for (const op of ops) {
      if (op.kind === "decision") {
        if (op.logged) this.remember(op.logged);
      } else if (op.kind === "event") {
        if (inserted.events.has(op.key)) {
          op.counted.learned++;
          learned.push(op.item);
          // A key appears once per batch in the set: a repeat inside the same batch is not learned twice.
          inserted.events.delete(op.key);
        }
      } else {
        this.feedbackPending.delete(op.logged.row.id);
        op.logged.hasFeedback = true;
        if (inserted.feedback.has(op.logged.row.id)) learned.push(op.learned);
        else op.fail(new FeedbackAlreadyRecordedError(op.logged.row.id));
      }
    }
    try {
      if (learned.length > 0) await this.onLearned?.(learned);
    } catch (error) {
      batch.reject(error as Error);
      return;
    }
    batch.resolve();
  }

  /**
   * The batch's rows in ONE statement (data-modifying CTEs: decisions, events, feedback, the outcomes of the
   * feedback that was inserted), so a commit is one round trip and one transaction; returns what it inserted.
   */
  private async write(
    client: pg.Client,
    ops: readonly Op[],
  ): Promise<{ events: Set<string>; feedback: Set<string> }> {
    const params: unknown[] = [];
    const arrays = (...columns: [values: unknown[], type: string][]) =>
      columns
        .map(([values, type]) => {
          params.push(values);
          return `$${params.length}::${type}[]`;
        })
        .join(", ");
    const parts: string[] = [];
    const results: string[] = [];
    const decisions = ops.filter((op) => op.kind === "decision").map((op) => op.row);
    if (decisions.length > 0) {
      const col = <T>(f: (r: DecisionRow) => T) => decisions.map(f);
      parts.push(`d AS (INSERT INTO decisions (id, ts_ms, route, experiment, variant, model, bundle_version, user_id,
          track_id, session_id, position, prob_skip, threshold, decision, cold_user, cold_track, served, shadow_of, listen_ms)
        SELECT * FROM unnest(${arrays(
          [col((r) => r.id), "text"],
          [col((r) => r.tsMs), "float8"],
          [col((r) => r.route), "text"],
          [col((r) => r.experiment), "text"],
          [col((r) => r.variant), "text"],
          [col((r) => r.model), "text"],
          [col((r) => r.bundleVersion), "text"],
          [col((r) => r.userId), "int"],
          [col((r) => r.trackId), "text"],
          [col((r) => r.sessionId), "int"],
          [col((r) => r.position), "int"],
          [col((r) => r.probSkip), "float8"],
          [col((r) => r.threshold), "float8"],
          [col((r) => r.decision), "text"],
          [col((r) => (r.coldUser ? 1 : 0)), "smallint"],
          [col((r) => (r.coldTrack ? 1 : 0)), "smallint"],
          [col((r) => (r.served ? 1 : 0)), "smallint"],
          [col((r) => r.shadowOf), "text"],
          [col((r) => r.listenMs), "float8"],
        )}))`);
    }
    // Rows in key order: two replicas inserting overlapping keys lock them in the same order (no deadlock).
    const eventOps = ops
      .filter((op) => op.kind === "event")
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (eventOps.length > 0) {
      const e = eventOps.map((op) => op.item.event);
      parts.push(`e AS (INSERT INTO learned (origin, kind, event_ms, user_id, session_id, track_id, event_key)
        SELECT * FROM unnest(${arrays(
          [eventOps.map((op) => op.item.origin), "text"],
          [e.map((x) => x.kind), "smallint"],
          [e.map((x) => x.timestampMs), "float8"],
          [e.map((x) => x.userId), "int"],
          [e.map((x) => x.sessionId), "int"],
          [e.map((x) => x.trackId), "text"],
          [eventOps.map((op) => op.key), "text"],
        )}) ON CONFLICT (event_key) DO NOTHING RETURNING event_key)`);
      results.push("SELECT 'e' AS kind, event_key AS key FROM e");
    }
    const feedbackOps = ops
      .filter((op) => op.kind === "feedback")
      .sort((a, b) => (a.row.decisionId ?? "").localeCompare(b.row.decisionId ?? ""));
    if (feedbackOps.length > 0) {
      const f = feedbackOps.map((op) => op.row);
      const o = feedbackOps.map((op) => (op.learned as LearnedItem & { kind: "outcome" }).outcome);
      const nullable = (x: number) => (Number.isNaN(x) ? null : x);
      parts.push(`f AS (INSERT INTO feedback (decision_id, ts_ms, user_id, track_id, session_id, skipped, heard_ms,
          duration_ms)
        SELECT * FROM unnest(${arrays(
          [f.map((r) => r.decisionId), "text"],
          [f.map((r) => r.tsMs), "float8"],
          [f.map((r) => r.userId), "int"],
          [f.map((r) => r.trackId), "text"],
          [f.map((r) => r.sessionId), "int"],
          [f.map((r) => (r.skipped ? 1 : 0)), "smallint"],
          [f.map((r) => nullable(r.heardMs)), "float8"],
          [f.map((r) => nullable(r.durationMs)), "float8"],
        )}) ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id)`);
      // The outcome journal rows of the feedback that went in (same statement, so the same transaction).
      parts.push(`o AS (INSERT INTO learned (origin, kind, event_ms, user_id, session_id, track_id, position, skipped,
          heard_ms)
        SELECT origin, ${OUTCOME_KIND}, event_ms, user_id, session_id, track_id, position, skipped, heard_ms
        FROM unnest(${arrays(
          [f.map((r) => r.decisionId), "text"],
          [feedbackOps.map((op) => op.learned.origin), "text"],
          [o.map((x) => x.atMs), "float8"],
          [o.map((x) => x.userId), "int"],
          [o.map((x) => x.sessionId ?? null), "int"],
          [o.map((x) => x.trackId), "text"],
          [o.map((x) => x.position ?? null), "int"],
          [o.map((x) => (x.skipped ? 1 : 0)), "smallint"],
          [o.map((x) => nullable(x.heardMs)), "float8"],
        )}) AS u(decision_id, origin, event_ms, user_id, session_id, track_id, position, skipped, heard_ms)
        WHERE u.decision_id IN (SELECT decision_id FROM f))`);
      results.push("SELECT 'f' AS kind, decision_id AS key FROM f");
    }
    const events = new Set<string>();
    const feedback = new Set<string>();
    if (parts.length === 0) return { events, feedback };
    const select =
      results.length > 0
        ? results.join(" UNION ALL ")
        : "SELECT NULL::text AS kind, NULL::text AS key WHERE false";
    // Named: PostgreSQL parses and plans each of the few shapes (which tables a batch writes) once per connection.
    const shape = `skipwise-log-${decisions.length > 0 ? "d" : ""}${eventOps.length > 0 ? "e" : ""}${feedbackOps.length > 0 ? "f" : ""}`;
    const result = await client.query<{ kind: string; key: string }>({
      name: shape,
      text: `WITH ${parts.join(", ")} ${select}`,
      values: params,
    });
    for (const r of result.rows) (r.kind === "e" ? events : feedback).add(r.key);
    return { events, feedback };
  }

  private async writeHeartbeat(): Promise<void> {
    // On the pool, not a writer: a writer's connection may be inside a batch's transaction.
    await this.pool.query(
      "INSERT INTO heartbeat (id, ts_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET ts_ms = EXCLUDED.ts_ms",
      [Date.now()],
    );
  }

  private async read<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query<T>(sql, params)).rows;
    } catch (error) {
      throw new DecisionLogWriteError(`decision log ${this.path}: ${(error as Error).message}`);
    }
  }

  private async loggedOf(row: DbDecision): Promise<LoggedDecision> {
    const shadows = await this.read<DbDecision>("SELECT * FROM decisions WHERE shadow_of = $1 ORDER BY seq", [
      row.id,
    ]);
    const feedback = await this.read("SELECT 1 FROM feedback WHERE decision_id = $1", [row.id]);
    return { row: fromDb(row), shadows: shadows.map(fromDb), hasFeedback: feedback.length > 0 };
  }

  private remember(logged: LoggedDecision): void {
    this.recent.set(logged.row.id, logged);
    if (this.recent.size > this.recentCapacity) this.recent.delete(this.recent.keys().next().value as string);
  }

  private setProblem(problem: LogProblem | null): void {
    const changed = (this.problemNow === null) !== (problem === null);
    this.problemNow = problem;
    if (changed) this.onProblem?.(problem);
  }
}

function eventKey(origin: string, e: EventRecord): string {
  return `${origin}|${e.kind}|${e.timestampMs}|${e.userId}|${e.sessionId}|${e.trackId ?? ""}`;
}
