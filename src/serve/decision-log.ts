// Durable decision log in SQLite with group commit: every decision (and feedback) arriving in the same
// event-loop turn goes into one transaction; callers await the commit before answering their client.
// WAL + synchronous=NORMAL: a committed transaction is in the WAL file (written, not fsynced), which
// survives a process crash (kill -9); only an OS crash or power loss can lose the last commits.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { Decision } from "./scorer.ts";

export interface DecisionRow {
  id: string;
  tsMs: number;
  route: string;
  /** Null when the client chose the model explicitly (no experiment involved). */
  experiment: string | null;
  variant: string | null;
  model: string;
  bundleVersion: string;
  userId: number;
  trackId: string;
  sessionId: number | null;
  position: number | null;
  probSkip: number;
  threshold: number;
  decision: Decision;
  coldUser: boolean;
  coldTrack: boolean;
  /** False for shadow-mode rows: scored and logged, not answered. */
  served: boolean;
  /** For a shadow row, the id of the served decision of the same request. */
  shadowOf: string | null;
}

export interface FeedbackRow {
  /** Null when no logged decision matched the outcome. */
  decisionId: string | null;
  tsMs: number;
  userId: number;
  trackId: string;
  sessionId: number | null;
  skipped: boolean;
  /** NaN when unknown (stored as NULL). */
  heardMs: number;
  /** Catalogue duration of the track, NaN when unknown (stored as NULL). */
  durationMs: number;
}

/** A served decision with its shadow rows, as kept in memory for feedback lookups. */
export interface LoggedDecision {
  row: DecisionRow;
  shadows: DecisionRow[];
  hasFeedback: boolean;
}

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
  shadow_of TEXT
);
CREATE INDEX IF NOT EXISTS decisions_shadow_of ON decisions (shadow_of) WHERE shadow_of IS NOT NULL;
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

export function openLogDatabase(path: string, readonly = false): Database.Database {
  const db = new Database(path, readonly ? { readonly: true, fileMustExist: true } : {});
  if (!readonly) {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec(SCHEMA);
  }
  db.pragma("busy_timeout = 5000");
  return db;
}

const LISTEN_SCAN_ROWS = 1_000_000;

type PendingOp = { kind: "decision"; row: DecisionRow } | { kind: "feedback"; row: FeedbackRow };

/** A `decisions` table row as SQLite returns it. */
export interface DbDecision {
  seq: number;
  id: string;
  ts_ms: number;
  route: string;
  experiment: string | null;
  variant: string | null;
  model: string;
  bundle_version: string;
  user_id: number;
  track_id: string;
  session_id: number | null;
  position: number | null;
  prob_skip: number;
  threshold: number;
  decision: Decision;
  cold_user: number;
  cold_track: number;
  served: number;
  shadow_of: string | null;
}

export function fromDb(r: DbDecision): DecisionRow {
  return {
    id: r.id,
    tsMs: r.ts_ms,
    route: r.route,
    experiment: r.experiment,
    variant: r.variant,
    model: r.model,
    bundleVersion: r.bundle_version,
    userId: r.user_id,
    trackId: r.track_id,
    sessionId: r.session_id,
    position: r.position,
    probSkip: r.prob_skip,
    threshold: r.threshold,
    decision: r.decision,
    coldUser: r.cold_user === 1,
    coldTrack: r.cold_track === 1,
    served: r.served === 1,
    shadowOf: r.shadow_of,
  };
}

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

export interface DecisionLogOptions {
  /** Called after each group commit with the number of rows written and the commit's duration. */
  onCommit?: (rows: number, seconds: number) => void;
  /** Checkpoint the WAL from a worker thread every this many ms (default 250); 0 = SQLite's own autocheckpoint. */
  checkpointIntervalMs?: number;
  /**
   * How many recent served decisions stay in memory (default 256; older ones are read from the log by
   * id). Small on purpose: at 15k decisions/s a 2,000-entry cache kept rows alive just long enough to be
   * promoted to V8's old space, and RSS swung 200–315 MB; with 256 it stays flat at ~210 MB.
   */
  recentCapacity?: number;
  /** How many recent (user, track, session) → decision id links stay in memory (default 50,000). */
  listenCapacity?: number;
  /** Extra wait before a group commit, to gather larger batches; 0 = commit at the end of this turn. */
  commitDelayMs?: number;
}

export class DecisionLogClosedError extends Error {
  constructor() {
    super("decision log is closed");
  }
}

/** A group commit failed (disk full, I/O error): the decisions of that batch are not durable. */
export class DecisionLogWriteError extends Error {}

export class DecisionLog {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly insertDecision: Database.Statement;
  private readonly insertFeedback: Database.Statement;
  private readonly selectDecision: Database.Statement;
  private readonly selectShadows: Database.Statement;
  private readonly selectLatest: Database.Statement;
  private readonly selectFeedbackFor: Database.Statement;
  private readonly writeBatch: (ops: PendingOp[]) => void;
  private readonly recent = new Map<string, LoggedDecision>();
  private readonly latestByListen = new Map<string, string>();
  /** Decisions whose feedback waits in the open batch (not yet visible to database lookups). */
  private readonly feedbackPending = new Set<string>();
  private readonly recentCapacity: number;
  private readonly listenCapacity: number;
  private readonly commitDelayMs: number;
  private pending: PendingOp[] = [];
  private batchPromise: Promise<void> | null = null;
  private resolveBatch: (() => void) | null = null;
  private rejectBatch: ((error: Error) => void) | null = null;
  private closed = false;
  private readonly checkpointer: Worker | null;
  /** The worker finished a checkpoint: catch up on the main connection after the next commit. */
  private catchUpCheckpoint = false;
  /** Set by the owner (the app) to observe commits. */
  onCommit: ((rows: number, seconds: number) => void) | undefined;
  /** Transactions committed so far (for tests and metrics). */
  commits = 0;

  constructor(path: string, options: DecisionLogOptions = {}) {
    this.path = path;
    this.recentCapacity = options.recentCapacity ?? 256;
    this.listenCapacity = options.listenCapacity ?? 50_000;
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.onCommit = options.onCommit;
    this.db = openLogDatabase(path);
    const interval = options.checkpointIntervalMs ?? 250;
    if (interval > 0) {
      this.db.pragma("wal_autocheckpoint = 0");
      this.checkpointer = startCheckpointer(path, interval);
      this.checkpointer.on("message", () => {
        this.catchUpCheckpoint = true;
      });
    } else {
      this.checkpointer = null;
    }
    this.insertDecision = this.db.prepare(
      `INSERT INTO decisions (id, ts_ms, route, experiment, variant, model, bundle_version, user_id, track_id,
         session_id, position, prob_skip, threshold, decision, cold_user, cold_track, served, shadow_of)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertFeedback = this.db.prepare(
      `INSERT OR IGNORE INTO feedback (decision_id, ts_ms, user_id, track_id, session_id, skipped, heard_ms, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.selectDecision = this.db.prepare("SELECT * FROM decisions WHERE id = ?");
    this.selectShadows = this.db.prepare("SELECT * FROM decisions WHERE shadow_of = ?");
    // No (user, track) index: it would add a random B-tree page to every group commit, and listens are
    // found in memory. Older ones are looked for among the last LISTEN_SCAN_ROWS decisions.
    this.selectLatest = this.db.prepare(
      `SELECT * FROM decisions WHERE seq > (SELECT coalesce(max(seq), 0) FROM decisions) - ${LISTEN_SCAN_ROWS}
         AND user_id = ? AND track_id = ? AND session_id IS ? AND served = 1
       ORDER BY seq DESC LIMIT 1`,
    );
    this.selectFeedbackFor = this.db.prepare("SELECT 1 FROM feedback WHERE decision_id = ?");
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
          );
        } else {
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

  /** Logs a served decision and its shadow rows; resolves once they are committed. */
  record(row: DecisionRow, shadows: DecisionRow[] = []): Promise<void> {
    this.remember({ row, shadows, hasFeedback: false });
    this.enqueue({ kind: "decision", row });
    for (const shadow of shadows) this.enqueue({ kind: "decision", row: shadow });
    return this.scheduleCommit();
  }

  recordFeedback(row: FeedbackRow, logged: LoggedDecision | null): Promise<void> {
    if (logged) logged.hasFeedback = true;
    if (row.decisionId !== null) this.feedbackPending.add(row.decisionId);
    this.enqueue({ kind: "feedback", row });
    return this.scheduleCommit();
  }

  /** A served decision by id: from memory when recent, else from the database. */
  find(id: string): LoggedDecision | null {
    const hit = this.recent.get(id);
    if (hit) return hit;
    const row = this.selectDecision.get(id) as DbDecision | undefined;
    if (row === undefined || row.served !== 1) return null;
    const shadows = (this.selectShadows.all(id) as DbDecision[]).map(fromDb);
    const hasFeedback = this.feedbackPending.has(id) || this.selectFeedbackFor.get(id) !== undefined;
    return { row: fromDb(row), shadows, hasFeedback };
  }

  /** The latest served decision for a (user, track, session) listen. */
  findLatest(userId: number, trackId: string, sessionId: number | null): LoggedDecision | null {
    const id = this.latestByListen.get(listenKey(userId, trackId, sessionId));
    if (id !== undefined) return this.find(id);
    const row = this.selectLatest.get(userId, trackId, sessionId) as DbDecision | undefined;
    return row ? this.find(row.id) : null;
  }

  /** Commits whatever is pending now (used at shutdown and by tests). */
  async flush(): Promise<void> {
    if (this.batchPromise) await this.batchPromise;
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
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private remember(logged: LoggedDecision): void {
    const row = logged.row;
    this.recent.set(row.id, logged);
    if (this.recent.size > this.recentCapacity) this.recent.delete(this.recent.keys().next().value as string);
    const key = listenKey(row.userId, row.trackId, row.sessionId);
    // Re-insert so the Map's insertion order stays least-recently-recorded first.
    this.latestByListen.delete(key);
    this.latestByListen.set(key, row.id);
    if (this.latestByListen.size > this.listenCapacity) {
      this.latestByListen.delete(this.latestByListen.keys().next().value as string);
    }
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
    this.feedbackPending.clear();
    this.batchPromise = null;
    this.resolveBatch = null;
    this.rejectBatch = null;
    try {
      const start = performance.now();
      this.writeBatch(ops);
      if (this.catchUpCheckpoint) {
        this.catchUpCheckpoint = false;
        this.db.pragma("wal_checkpoint(PASSIVE)");
      }
      this.commits++;
      this.onCommit?.(ops.length, (performance.now() - start) / 1000);
      resolve();
    } catch (error) {
      reject(
        new DecisionLogWriteError(`decision log ${this.path}: commit failed: ${(error as Error).message}`),
      );
    }
  };
}

function listenKey(userId: number, trackId: string, sessionId: number | null): string {
  return `${userId}\u0000${trackId}\u0000${sessionId ?? ""}`;
}
