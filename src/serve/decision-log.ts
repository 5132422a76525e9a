// The decision log behind one interface: what a store does (DecisionLog), the rows it holds and its errors,
// declared once. Two stores: SQLite (sqlite-decision-log.ts, the embedded default) and PostgreSQL shared by
// replicas (postgres-decision-log.ts); `openDecisionLog` (server.ts) picks one from `--db`. Both are
// write-ahead: a write resolves only after its COMMIT and after `onLearned` taught the feature state what it
// committed; nothing is visible before, and a failed commit rejects with DecisionLogWriteError and leaves
// nothing behind.
import type { EventRecord } from "../data/event-record.ts";
import type { Decision, ListenOutcome } from "./scorer.ts";

export interface DecisionRow {
  id: string;
  /** When the service decided (wall clock). */
  tsMs: number;
  /** When the listen starts, as the request said (its timestamp_ms, default the wall clock). */
  listenMs: number;
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
  /** The served decision the outcome belongs to (null only in logs written before feedback had to match). */
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

/**
 * What the online feature state learned from one committed request, journaled with the feature-state
 * snapshot it was learned on (`origin`) so a restart or a reload onto the same snapshot learns it again.
 */
export type LearnedItem =
  | { kind: "event"; origin: string; event: EventRecord }
  | { kind: "outcome"; origin: string; outcome: ListenOutcome };

/** Journal row kinds: an event's EventCode (0..4), or an outcome reported as feedback. */
export const OUTCOME_KIND = 100;

/** A served decision with its shadow rows, as kept in memory for feedback lookups. */
export interface LoggedDecision {
  row: DecisionRow;
  shadows: DecisionRow[];
  hasFeedback: boolean;
}

/** The log file cannot be used: not a database, or its pages fail SQLite's integrity check. */
export class DecisionLogCorruptError extends Error {
  readonly path: string;
  constructor(path: string, detail: string) {
    super(
      `decision log ${path} is corrupt (${detail}): move it aside (mv ${path} ${path}.corrupt, with its -wal and -shm files) and start again; \`skipwise log export --db ${path}.corrupt\` may still read what is intact`,
    );
    this.name = "DecisionLogCorruptError";
    this.path = path;
  }
}

export interface DecisionLogOptions {
  /** Called after each group commit with the number of rows written and the commit's duration. */
  onCommit?: (rows: number, seconds: number) => void;
  /** Checkpoint the WAL from a worker thread every this many ms (default 250); 0 = SQLite's own autocheckpoint. */
  checkpointIntervalMs?: number;
  /** Called on the event loop after each worker checkpoint (tests wait on it instead of sleeping). */
  onCheckpoint?: () => void;
  /**
   * How many recent served decisions stay in memory (default 256; older ones are read from the log by
   * id). Small on purpose: at 15k decisions/s a 2,000-entry cache kept rows alive just long enough to be
   * promoted to V8's old space, and RSS swung 200–315 MB; with 256 it stays flat at ~210 MB.
   */
  recentCapacity?: number;
  /**
   * How many open listens (served decisions without feedback, by user + track + session) stay matchable
   * by feedback without a decision id (default 100,000, about 20 MB; the oldest is forgotten first).
   */
  listenCapacity?: number;
  /** How many recently journaled events are remembered to recognise exact repeats (default 200,000). */
  seenEventCapacity?: number;
  /** Extra wait before a group commit, to gather larger batches; 0 = commit at the end of this turn. */
  commitDelayMs?: number;
  /** PostgreSQL: transactions in flight at once (default 2), each on its own connection. */
  writers?: number;
}

export class DecisionLogClosedError extends Error {
  constructor() {
    super("decision log is closed");
    this.name = "DecisionLogClosedError";
  }
}

/** A group commit failed (disk full, I/O error): nothing of that batch was written. */
export class DecisionLogWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecisionLogWriteError";
  }
}

/** Another replica recorded feedback for this decision first: refused, nothing learned. */
export class FeedbackAlreadyRecordedError extends Error {
  constructor(readonly decisionId: string) {
    super(`decision ${decisionId} already has feedback`);
    this.name = "FeedbackAlreadyRecordedError";
  }
}

/** Why the log cannot take writes right now; null when it can. */
export interface LogProblem {
  kind: "write-failed" | "corrupt";
  message: string;
  sinceMs: number;
}

/**
 * The decision log as the service uses it: SQLite (`SqliteDecisionLog`, sqlite-decision-log.ts, the embedded default) or PostgreSQL
 * shared by replicas (`PostgresDecisionLog`, postgres-decision-log.ts). Writes resolve only after COMMIT.
 */
export interface DecisionLog {
  /** The file, or the database URL without its password. */
  readonly path: string;
  readonly commits: number;
  readonly problem: LogProblem | null;
  readonly isClosed: boolean;
  readonly openListenCapacity: number;
  onCommit: ((rows: number, seconds: number) => void) | undefined;
  onLearned: ((items: LearnedItem[]) => void | Promise<void>) | undefined;
  onProblem: ((problem: LogProblem | null) => void) | undefined;
  record(row: DecisionRow, shadows?: DecisionRow[]): Promise<void>;
  recordFeedback(
    row: FeedbackRow,
    logged: LoggedDecision,
    learned: { origin: string; outcome: ListenOutcome },
  ): Promise<void>;
  recordEvents(events: readonly EventRecord[], origin: string): Promise<{ learned: number; repeats: number }>;
  learnedOn(origin: string): Iterable<LearnedItem>;
  feedbackInFlight(id: string): boolean;
  find(id: string): LoggedDecision | null | Promise<LoggedDecision | null>;
  findOpenListen(
    userId: number,
    trackId: string,
    sessionId: number | null,
  ): LoggedDecision | null | Promise<LoggedDecision | null>;
  checkWritable(): boolean;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A `decisions` table row as either store returns it (PostgreSQL gives its BIGSERIAL seq as a string). */
export interface DbDecision {
  seq: number | string;
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
  listen_ms: number | null;
}

export function fromDb(r: DbDecision): DecisionRow {
  return {
    id: r.id,
    tsMs: r.ts_ms,
    listenMs: r.listen_ms ?? r.ts_ms,
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
