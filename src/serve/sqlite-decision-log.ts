// Durable decision log in SQLite with group commit: every decision (and feedback) arriving in the same
// event-loop turn goes into one transaction; callers await the commit before answering their client.
// WAL + synchronous=NORMAL: a committed transaction is in the WAL file (written, not fsynced), which
// survives a process crash (kill -9); only an OS crash or power loss can lose the last commits.
// Write-ahead semantics: nothing becomes visible (to feedback lookups, metrics or the feature state) before
// its commit succeeded, so a failed commit (disk full) leaves nothing behind and the same request can be
// retried. Feedback by user + track is matched in memory only (a bounded map of open listens): no request
// scans the log.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { EventRecord } from "../data/event-record.ts";
import {
  type DbDecision,
  type DecisionLog,
  DecisionLogClosedError,
  DecisionLogCorruptError,
  type DecisionLogOptions,
  DecisionLogWriteError,
  type DecisionRow,
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
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  ts_ms INTEGER NOT NULL,
  route TEXT NOT NULL,
  experiment TEXT,
  variant TEXT,
  model TEXT NOT NULL,
  bundle_version TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  track_id TEXT NOT NULL,
  session_id INTEGER,
  position INTEGER,
  prob_skip REAL NOT NULL,
  threshold REAL NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('PLAY', 'SKIP')),
  cold_user INTEGER NOT NULL,
  cold_track INTEGER NOT NULL,
  served INTEGER NOT NULL,
  shadow_of TEXT,
  listen_ms INTEGER
);
CREATE INDEX IF NOT EXISTS decisions_shadow_of ON decisions (shadow_of) WHERE shadow_of IS NOT NULL;
CREATE TABLE IF NOT EXISTS learned (
  seq INTEGER PRIMARY KEY,
  origin TEXT NOT NULL,
  kind INTEGER NOT NULL,
  event_ms INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  session_id INTEGER,
  track_id TEXT,
  position INTEGER,
  skipped INTEGER,
  heard_ms REAL
);
CREATE TABLE IF NOT EXISTS heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), ts_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
  feedback_id INTEGER PRIMARY KEY,
  decision_id TEXT UNIQUE,
  ts_ms INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  track_id TEXT NOT NULL,
  session_id INTEGER,
  skipped INTEGER NOT NULL,
  heard_ms REAL,
  duration_ms REAL
);
`;

const CORRUPTION_CODES = new Set([
  "SQLITE_CORRUPT",
  "SQLITE_NOTADB",
  "SQLITE_CORRUPT_VTAB",
  "SQLITE_CORRUPT_SEQUENCE",
]);

/** An error SQLite raises on a damaged file (as opposed to a full disk or a busy lock). */
export function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (CORRUPTION_CODES.has(code) || code.startsWith("SQLITE_CORRUPT"));
}

/**
 * Opens (creating when absent) a decision log. A writable open runs `PRAGMA quick_check` first, so a
 * damaged file is refused at start with its name and the way out, not found mid-request.
 */
export function openLogDatabase(path: string, readonly = false): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, readonly ? { readonly: true, fileMustExist: true } : {});
    db.pragma("busy_timeout = 5000");
    if (!readonly) {
      const problems = (db.pragma("quick_check(5)") as { quick_check: string }[]).map((r) => r.quick_check);
      if (problems.length !== 1 || problems[0] !== "ok") {
        throw new DecisionLogCorruptError(path, `quick_check: ${problems.join("; ")}`);
      }
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.exec(SCHEMA);
      // Logs written before the listen time was kept get the column; their rows read it as ts_ms.
      const columns = (db.pragma("table_info(decisions)") as { name: string }[]).map((c) => c.name);
      if (!columns.includes("listen_ms")) db.exec("ALTER TABLE decisions ADD COLUMN listen_ms INTEGER");
    }
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof DecisionLogCorruptError) throw error;
    if (isCorruption(error)) throw new DecisionLogCorruptError(path, (error as Error).message);
    throw new Error(`decision log ${path}: ${(error as Error).message}`);
  }
}

type PendingOp =
  | { kind: "decision"; row: DecisionRow; logged: LoggedDecision | null }
  | { kind: "feedback"; row: FeedbackRow; logged: LoggedDecision; learned: LearnedItem }
  | { kind: "learned"; item: LearnedItem; key: string };

/**
 * WAL checkpoints copy pages into the database and fsync it: milliseconds that would stall every request
 * if they ran on the event loop (SQLite runs them inside the commit that crosses the threshold). A worker
 * thread with its own connection checkpoints instead. SQLite restarts the WAL from its beginning only
 * when a writer finds it completely checkpointed, which never happens while commits keep coming; so after
 * each worker checkpoint the main connection checkpoints the few frames written meanwhile (cheap: the
 * bulk is already in the database) and the next commit restarts the WAL, keeping it bounded.
 */
const CHECKPOINTER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
const run = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage("checkpointed");
  } catch {}
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

function startCheckpointer(path: string, intervalMs: number): Worker {
  const module = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { path, module, intervalMs } });
  worker.unref();
  return worker;
}

export class SqliteDecisionLog implements DecisionLog {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly insertDecision: Database.Statement;
  private readonly insertFeedback: Database.Statement;
  private readonly selectDecision: Database.Statement;
  private readonly selectShadows: Database.Statement;
  private readonly selectFeedbackFor: Database.Statement;
  private readonly writeHeartbeat: Database.Statement;
  private readonly insertLearned: Database.Statement;
  private readonly selectLearned: Database.Statement;
  /** Keys of recently journaled events (bounded): an exact repeat is acknowledged, not learned twice. */
  private readonly seenEvents = new Set<string>();
  private readonly pendingEvents = new Set<string>();
  private readonly seenCapacity: number;
  private readonly writeBatch: (ops: PendingOp[]) => void;
  private readonly recent = new Map<string, LoggedDecision>();
  /** Open listens: (user, track, session) → the latest served decision without feedback. */
  private readonly openListens = new Map<string, string>();
  /** Decisions whose feedback waits in an uncommitted batch: a second feedback is refused meanwhile. */
  private readonly feedbackPending = new Set<string>();
  private readonly recentCapacity: number;
  private readonly listenCapacity: number;
  private readonly commitDelayMs: number;
  private pending: PendingOp[] = [];
  private batchPromise: Promise<void> | null = null;
  private resolveBatch: (() => void) | null = null;
  private rejectBatch: ((error: Error) => void) | null = null;
  private closed = false;
  private problemNow: LogProblem | null = null;
  private readonly checkpointer: Worker | null;
  /** The worker finished a checkpoint: catch up on the main connection after the next commit. */
  private catchUpCheckpoint = false;
  /** Set by the owner (the app) to observe commits. */
  onCommit: ((rows: number, seconds: number) => void) | undefined;
  /**
   * Called synchronously after each commit with what it taught the feature state, in commit order; the batch
   * is acknowledged once the promise it returns (the state's update, e.g. in Redis) settles.
   */
  onLearned: ((items: LearnedItem[]) => void | Promise<void>) | undefined;
  /** Called once each time the log goes from writable to not (and with null when it recovers). */
  onProblem: ((problem: LogProblem | null) => void) | undefined;
  /** Transactions committed so far (for tests and metrics). */
  commits = 0;

  constructor(path: string, options: DecisionLogOptions = {}) {
    this.path = path;
    this.recentCapacity = options.recentCapacity ?? 256;
    this.listenCapacity = options.listenCapacity ?? 100_000;
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.seenCapacity = options.seenEventCapacity ?? 200_000;
    this.onCommit = options.onCommit;
    this.db = openLogDatabase(path);
    const interval = options.checkpointIntervalMs ?? 250;
    if (interval > 0) {
      this.db.pragma("wal_autocheckpoint = 0");
      this.checkpointer = startCheckpointer(path, interval);
      const onCheckpoint = options.onCheckpoint;
      this.checkpointer.on("message", () => {
        this.catchUpCheckpoint = true;
        onCheckpoint?.();
      });
    } else {
      this.checkpointer = null;
    }
    this.insertDecision = this.db.prepare(
      `INSERT INTO decisions (id, ts_ms, route, experiment, variant, model, bundle_version, user_id, track_id,
         session_id, position, prob_skip, threshold, decision, cold_user, cold_track, served, shadow_of, listen_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Not OR IGNORE: a second feedback for one decision is refused before it gets here, and a constraint
    // failure must fail the batch rather than vanish.
    this.insertFeedback = this.db.prepare(
      `INSERT INTO feedback (decision_id, ts_ms, user_id, track_id, session_id, skipped, heard_ms, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.selectDecision = this.db.prepare("SELECT * FROM decisions WHERE id = ?");
    this.selectShadows = this.db.prepare("SELECT * FROM decisions WHERE shadow_of = ?");
    this.selectFeedbackFor = this.db.prepare("SELECT 1 FROM feedback WHERE decision_id = ?");
    this.writeHeartbeat = this.db.prepare("INSERT OR REPLACE INTO heartbeat (id, ts_ms) VALUES (1, ?)");
    this.insertLearned = this.db.prepare(
      `INSERT INTO learned (origin, kind, event_ms, user_id, session_id, track_id, position, skipped, heard_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.selectLearned = this.db.prepare("SELECT * FROM learned WHERE origin = ? ORDER BY seq");
    this.loadOpenListens();
    this.writeBatch = this.db.transaction((ops: PendingOp[]) => {
      for (const op of ops) {
        if (op.kind === "decision") {
          const r = op.row;
          this.insertDecision.run(
            r.id,
            r.tsMs,
            r.route,
            r.experiment,
            r.variant,
            r.model,
            r.bundleVersion,
            r.userId,
            r.trackId,
            r.sessionId,
            r.position,
            r.probSkip,
            r.threshold,
            r.decision,
            r.coldUser ? 1 : 0,
            r.coldTrack ? 1 : 0,
            r.served ? 1 : 0,
            r.shadowOf,
            r.listenMs,
          );
        } else if (op.kind === "learned") {
          this.journal(op.item);
        } else {
          this.journal(op.learned);
          const f = op.row;
          this.insertFeedback.run(
            f.decisionId,
            f.tsMs,
            f.userId,
            f.trackId,
            f.sessionId,
            f.skipped ? 1 : 0,
            Number.isNaN(f.heardMs) ? null : f.heardMs,
            Number.isNaN(f.durationMs) ? null : f.durationMs,
          );
        }
      }
    });
  }

  /**
   * Logs a served decision and its shadow rows; resolves once they are committed. Only then can feedback
   * find the decision: a failed commit leaves no decision for an orphan outcome to point at.
   */
  record(row: DecisionRow, shadows: DecisionRow[] = []): Promise<void> {
    this.refuseWhileCorrupt();
    this.enqueue({ kind: "decision", row, logged: { row, shadows, hasFeedback: false } });
    for (const shadow of shadows) this.enqueue({ kind: "decision", row: shadow, logged: null });
    return this.scheduleCommit();
  }

  /**
   * Logs the outcome of a served decision; resolves once committed. The decision counts as having
   * feedback only from then on, so feedback refused by a failed commit can be sent again.
   */
  recordFeedback(
    row: FeedbackRow,
    logged: LoggedDecision,
    learned: { origin: string; outcome: ListenOutcome },
  ): Promise<void> {
    this.refuseWhileCorrupt();
    if (logged.hasFeedback || this.feedbackPending.has(logged.row.id)) {
      throw new Error(`decision ${logged.row.id} already has feedback`);
    }
    this.feedbackPending.add(logged.row.id);
    this.enqueue({ kind: "feedback", row, logged, learned: { kind: "outcome", ...learned } });
    return this.scheduleCommit();
  }

  /**
   * Journals session events for the feature state of `origin`; resolves once committed, after `onLearned`
   * has taught them to the state. Exact repeats of a recent event (a retried batch) are acknowledged and
   * counted, not learned again: the loader drops exact duplicates in deliveries too.
   */
  async recordEvents(
    events: readonly EventRecord[],
    origin: string,
  ): Promise<{ learned: number; repeats: number }> {
    this.refuseWhileCorrupt();
    let learned = 0;
    for (const event of events) {
      const key = eventKey(origin, event);
      if (this.seenEvents.has(key) || this.pendingEvents.has(key)) continue;
      this.pendingEvents.add(key);
      this.enqueue({ kind: "learned", item: { kind: "event", origin, event }, key });
      learned++;
    }
    if (learned > 0) await this.scheduleCommit();
    return { learned, repeats: events.length - learned };
  }

  /** Every journaled item learned on the feature state `origin`, oldest first. */
  *learnedOn(origin: string): Generator<LearnedItem> {
    try {
      for (const r of this.selectLearned.iterate(origin) as Iterable<DbLearned>) {
        const item = itemOf(origin, r);
        if (item.kind === "event") this.rememberEvent(eventKey(origin, item.event));
        yield item;
      }
    } catch (error) {
      throw this.readFailure(error);
    }
  }

  /** True while feedback for this decision waits in an uncommitted batch. */
  feedbackInFlight(id: string): boolean {
    return this.feedbackPending.has(id);
  }

  /** A served decision by id: from memory when recent, else from the database (by its unique index). */
  find(id: string): LoggedDecision | null {
    const hit = this.recent.get(id);
    if (hit) return hit;
    this.refuseWhileCorrupt();
    try {
      const row = this.selectDecision.get(id) as DbDecision | undefined;
      if (row === undefined || row.served !== 1) return null;
      const shadows = (this.selectShadows.all(id) as DbDecision[]).map(fromDb);
      const hasFeedback = this.selectFeedbackFor.get(id) !== undefined;
      return { row: fromDb(row), shadows, hasFeedback };
    } catch (error) {
      throw this.readFailure(error);
    }
  }

  /**
   * The latest served decision without feedback for a (user, track, session) listen, among the last
   * `listenCapacity` decisions (memory only; older listens need their decision id).
   */
  findOpenListen(userId: number, trackId: string, sessionId: number | null): LoggedDecision | null {
    const id = this.openListens.get(listenKey(userId, trackId, sessionId));
    return id === undefined ? null : this.find(id);
  }

  get openListenCapacity(): number {
    return this.listenCapacity;
  }

  /** Why the log cannot be written right now, or null. */
  get problem(): LogProblem | null {
    return this.problemNow;
  }

  /**
   * Whether a write can commit now. While the last commit failed, a one-row heartbeat write tests it (and
   * clears the problem when it goes through), so readiness returns as soon as the disk has room again.
   */
  checkWritable(): boolean {
    if (this.closed) return false;
    const problem = this.problemNow;
    if (problem === null) return true;
    if (problem.kind === "corrupt") return false;
    try {
      this.writeHeartbeat.run(Date.now());
      this.setProblem(null);
      return true;
    } catch (error) {
      if (isCorruption(error))
        this.setProblem({ kind: "corrupt", message: String(error), sinceMs: Date.now() });
      return false;
    }
  }

  /** Commits whatever is pending now (used at shutdown and by tests). */
  async flush(): Promise<void> {
    if (this.batchPromise) await this.batchPromise.catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.checkpointer) {
      const exited = new Promise((done) => this.checkpointer?.once("exit", done));
      // The worker is unref'd while serving; held again here, or the process could end before it exits and
      // skip the final checkpoint and close below.
      this.checkpointer.ref();
      this.checkpointer.postMessage("close");
      await exited;
    }
    try {
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    } catch {
      // A full disk or a damaged file: the WAL keeps the committed rows, SQLite replays it at next open.
    }
    this.db.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private refuseWhileCorrupt(): void {
    if (this.problemNow?.kind === "corrupt") {
      throw new DecisionLogWriteError(`decision log ${this.path} is corrupt: ${this.problemNow.message}`);
    }
  }

  private readFailure(error: unknown): Error {
    if (!isCorruption(error)) return error as Error;
    const message = (error as Error).message;
    this.setProblem({ kind: "corrupt", message, sinceMs: Date.now() });
    return new DecisionLogWriteError(`decision log ${this.path} is corrupt: ${message}`);
  }

  private setProblem(problem: LogProblem | null): void {
    const changed =
      (this.problemNow === null) !== (problem === null) || this.problemNow?.kind !== problem?.kind;
    this.problemNow = problem;
    if (changed) this.onProblem?.(problem);
  }

  private remember(logged: LoggedDecision): void {
    const row = logged.row;
    this.recent.set(row.id, logged);
    if (this.recent.size > this.recentCapacity) this.recent.delete(this.recent.keys().next().value as string);
    const key = listenKey(row.userId, row.trackId, row.sessionId);
    // Re-insert so the Map's insertion order stays least-recently-recorded first.
    this.openListens.delete(key);
    this.openListens.set(key, row.id);
    if (this.openListens.size > this.listenCapacity) {
      this.openListens.delete(this.openListens.keys().next().value as string);
    }
  }

  /** After a restart: the latest served decisions without feedback are matchable by listen again. */
  private loadOpenListens(): void {
    const rows = this.db
      .prepare(
        `SELECT d.id, d.user_id, d.track_id, d.session_id FROM
           (SELECT seq, id, user_id, track_id, session_id FROM decisions WHERE served = 1
              ORDER BY seq DESC LIMIT ?) d
         WHERE NOT EXISTS (SELECT 1 FROM feedback f WHERE f.decision_id = d.id)
         ORDER BY d.seq`,
      )
      .all(this.listenCapacity) as {
      id: string;
      user_id: number;
      track_id: string;
      session_id: number | null;
    }[];
    for (const r of rows) {
      const key = listenKey(r.user_id, r.track_id, r.session_id);
      this.openListens.delete(key);
      this.openListens.set(key, r.id);
    }
  }

  private rememberEvent(key: string): void {
    this.seenEvents.add(key);
    if (this.seenEvents.size > this.seenCapacity) {
      this.seenEvents.delete(this.seenEvents.values().next().value as string);
    }
  }

  private journal(item: LearnedItem): void {
    if (item.kind === "event") {
      const e = item.event;
      this.insertLearned.run(
        item.origin,
        e.kind,
        e.timestampMs,
        e.userId,
        e.sessionId,
        e.trackId,
        null,
        null,
        null,
      );
    } else {
      const o = item.outcome;
      this.insertLearned.run(
        item.origin,
        OUTCOME_KIND,
        o.atMs,
        o.userId,
        o.sessionId ?? null,
        o.trackId,
        o.position ?? null,
        o.skipped ? 1 : 0,
        Number.isNaN(o.heardMs) ? null : o.heardMs,
      );
    }
  }

  private closeListen(row: DecisionRow): void {
    const key = listenKey(row.userId, row.trackId, row.sessionId);
    if (this.openListens.get(key) === row.id) this.openListens.delete(key);
  }

  private enqueue(op: PendingOp): void {
    if (this.closed) throw new DecisionLogClosedError();
    this.pending.push(op);
  }

  private scheduleCommit(): Promise<void> {
    if (this.batchPromise) return this.batchPromise;
    this.batchPromise = new Promise<void>((resolve, reject) => {
      this.resolveBatch = resolve;
      this.rejectBatch = reject;
    });
    if (this.commitDelayMs > 0) setTimeout(this.commit, this.commitDelayMs);
    else setImmediate(this.commit);
    return this.batchPromise;
  }

  private readonly commit = (): void => {
    const ops = this.pending;
    const resolve = this.resolveBatch as () => void;
    const reject = this.rejectBatch as (error: Error) => void;
    this.pending = [];
    this.batchPromise = null;
    this.resolveBatch = null;
    this.rejectBatch = null;
    try {
      if (this.problemNow?.kind === "corrupt") throw new Error(this.problemNow.message);
      const start = performance.now();
      this.writeBatch(ops);
      this.commits++;
      this.onCommit?.(ops.length, (performance.now() - start) / 1000);
    } catch (error) {
      for (const op of ops) {
        if (op.kind === "feedback") this.feedbackPending.delete(op.logged.row.id);
        else if (op.kind === "learned") this.pendingEvents.delete(op.key);
      }
      const message = (error as Error).message;
      if (isCorruption(error)) this.setProblem({ kind: "corrupt", message, sinceMs: Date.now() });
      else if (this.problemNow === null)
        this.setProblem({ kind: "write-failed", message, sinceMs: Date.now() });
      reject(
        new DecisionLogWriteError(`decision log ${this.path}: commit failed, nothing written: ${message}`),
      );
      return;
    }
    // Committed: only now do the rows become visible to lookups and the feature state.
    const learned: LearnedItem[] = [];
    for (const op of ops) {
      if (op.kind === "decision") {
        if (op.logged) this.remember(op.logged);
      } else if (op.kind === "learned") {
        this.pendingEvents.delete(op.key);
        this.rememberEvent(op.key);
        learned.push(op.item);
      } else {
        op.logged.hasFeedback = true;
        this.feedbackPending.delete(op.logged.row.id);
        this.closeListen(op.logged.row);
        learned.push(op.learned);
      }
    }
    const learning = learned.length > 0 ? this.onLearned?.(learned) : undefined;
    if (this.problemNow !== null) this.setProblem(null);
    if (this.catchUpCheckpoint) {
      this.catchUpCheckpoint = false;
      try {
        this.db.pragma("wal_checkpoint(PASSIVE)");
      } catch {
        // Best effort: the worker checkpoints again on its next tick.
      }
    }
    if (learning) learning.then(resolve, reject);
    else resolve();
  };
}

interface DbLearned {
  kind: number;
  event_ms: number;
  user_id: number;
  session_id: number | null;
  track_id: string | null;
  position: number | null;
  skipped: number | null;
  heard_ms: number | null;
}

function itemOf(origin: string, r: DbLearned): LearnedItem {
  if (r.kind !== OUTCOME_KIND) {
    const event = {
      kind: r.kind,
      timestampMs: r.event_ms,
      userId: r.user_id,
      sessionId: r.session_id ?? 0,
      trackId: r.track_id,
    };
    return { kind: "event", origin, event };
  }
  const outcome: ListenOutcome = {
    userId: r.user_id,
    trackId: r.track_id ?? "",
    skipped: r.skipped === 1,
    heardMs: r.heard_ms ?? Number.NaN,
    atMs: r.event_ms,
  };
  if (r.session_id !== null) outcome.sessionId = r.session_id;
  if (r.position !== null) outcome.position = r.position;
  return { kind: "outcome", origin, outcome };
}

function eventKey(origin: string, e: EventRecord): string {
  return `${origin}\u0000${e.kind}\u0000${e.timestampMs}\u0000${e.userId}\u0000${e.sessionId}\u0000${e.trackId ?? ""}`;
}

function listenKey(userId: number, trackId: string, sessionId: number | null): string {
  return `${userId}\u0000${trackId}\u0000${sessionId ?? ""}`;
}
