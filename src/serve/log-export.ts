// Reading the decision log back: joined decision + feedback rows, and the JSONL export
// (the reference's model_usage_log.json entries, one object per line, plus skipwise's fields).
// Either store: a SQLite file (read-only, synchronous readers too) or PostgreSQL (a postgres:// URL), read
// page by page inside one read-only snapshot, so an export taken while replicas write is consistent and
// memory stays bounded.

import type Database from "better-sqlite3";
import pg from "pg";
import { writeFileAtomicWith } from "../base/atomic-write.ts";
import { redactedUrl } from "../base/format.ts";
import { type DbDecision, type DecisionRow, fromDb } from "./decision-log.ts";
import { isPostgresUrl } from "./postgres-decision-log.ts";
import type { Decision } from "./scorer.ts";
import { openLogDatabase } from "./sqlite-decision-log.ts";

/** One logged decision with the outcome reported for it (feedback joins through the served decision). */
export interface LoggedDecisionRecord extends Omit<DecisionRow, "id"> {
  decisionId: string;
  /** null until feedback arrives. */
  outcome: { skipped: boolean; heardMs: number | null; durationMs: number | null; tsMs: number } | null;
}

/**
 * The A/B analysis row of a logged decision: declared here, by the log's owner, and extended by
 * src/experiment's DecisionRecord (serve precedes experiment in the stage order).
 */
export interface AnalysisRecord {
  decisionId: string;
  ts: number;
  experiment: string;
  variant: string;
  model: string;
  userId: number;
  trackId: string;
  probSkip: number;
  decision: Decision;
  /** Real outcome from feedback; absent when no feedback arrived. */
  outcome?: Decision;
  heardMs?: number;
  durationMs?: number;
}

/** The A/B analysis row of one logged decision, counted under `experiment` and `variant`. */
export function toAnalysisRecord(
  r: LoggedDecisionRecord,
  experiment: string,
  variant: string,
): AnalysisRecord {
  const record: AnalysisRecord = {
    decisionId: r.decisionId,
    ts: r.tsMs,
    experiment,
    variant,
    model: r.model,
    userId: r.userId,
    trackId: r.trackId,
    probSkip: r.probSkip,
    decision: r.decision,
  };
  if (r.outcome) {
    record.outcome = r.outcome.skipped ? "SKIP" : "PLAY";
    if (r.outcome.heardMs !== null) record.heardMs = r.outcome.heardMs;
    if (r.outcome.durationMs !== null) record.durationMs = r.outcome.durationMs;
  }
  return record;
}

/** The feedback columns JOINED adds to a decision row (the same in both stores). */
interface FeedbackColumns {
  f_skipped: number | null;
  f_heard_ms: number | null;
  f_ts_ms: number | null;
  f_duration_ms: number | null;
}

type JoinedRow = DbDecision & FeedbackColumns;

const JOINED = `
SELECT d.*, f.skipped AS f_skipped, f.heard_ms AS f_heard_ms, f.ts_ms AS f_ts_ms,
  f.duration_ms AS f_duration_ms
FROM decisions d LEFT JOIN feedback f ON f.decision_id = COALESCE(d.shadow_of, d.id)
`;

function toRecord(row: DecisionRow, r: FeedbackColumns): LoggedDecisionRecord {
  const { id, ...decision } = row;
  return {
    decisionId: id,
    ...decision,
    outcome:
      r.f_skipped === null
        ? null
        : {
            skipped: r.f_skipped === 1,
            heardMs: r.f_heard_ms,
            durationMs: r.f_duration_ms,
            tsMs: r.f_ts_ms as number,
          },
  };
}

export interface ReadOptions {
  /** Include shadow-mode rows (default false: served decisions only). */
  includeShadow?: boolean;
  experiment?: string;
}

function query(db: Database.Database, options: ReadOptions): Database.Statement {
  const where: string[] = [];
  if (!options.includeShadow) where.push("d.served = 1");
  if (options.experiment !== undefined) where.push("d.experiment = @experiment");
  return db.prepare(`${JOINED} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY d.seq`);
}

/** Every logged decision of a SQLite log joined with its feedback, in log order. Opens the file read-only. */
export function* iterateDecisionRecords(
  dbPath: string,
  options: ReadOptions = {},
): Generator<LoggedDecisionRecord> {
  const db = openLogDatabase(dbPath, true);
  try {
    const params = options.experiment !== undefined ? { experiment: options.experiment } : {};
    for (const row of query(db, options).iterate(params)) {
      const joined = row as JoinedRow;
      yield toRecord(fromDb(joined), joined);
    }
  } finally {
    db.close();
  }
}

/** `iterateDecisionRecords` in an array (SQLite; `collectDecisionRecords` reads either store). */
export function readDecisionRecords(dbPath: string, options: ReadOptions = {}): LoggedDecisionRecord[] {
  return [...iterateDecisionRecords(dbPath, options)];
}

/**
 * Decisions made inside an experiment (served ones; shadow rows with `includeShadow`), joined with their
 * outcomes, in the shape the A/B analysis reads.
 */
export function readAnalysisRecords(dbPath: string, options: ReadOptions = {}): AnalysisRecord[] {
  const records: AnalysisRecord[] = [];
  for (const r of iterateDecisionRecords(dbPath, options)) {
    if (r.experiment === null || r.variant === null) continue;
    records.push(toAnalysisRecord(r, r.experiment, r.variant));
  }
  return records;
}

/** The reference's log entry (model, user_id, track_id, prediction) followed by skipwise's own fields. */
export function exportLine(r: LoggedDecisionRecord): string {
  return JSON.stringify({
    model: r.model,
    user_id: r.userId,
    track_id: r.trackId,
    prediction: r.decision,
    decision_id: r.decisionId,
    timestamp: new Date(r.tsMs).toISOString(),
    experiment: r.experiment,
    variant: r.variant,
    bundle_version: r.bundleVersion,
    route: r.route,
    session_id: r.sessionId,
    position: r.position,
    prob_skip: r.probSkip,
    threshold: r.threshold,
    cold_start: { user: r.coldUser, track: r.coldTrack },
    served: r.served,
    shadow_of: r.shadowOf,
    outcome: r.outcome === null ? null : r.outcome.skipped ? "skipped" : "played",
    heard_ms: r.outcome?.heardMs ?? null,
    duration_ms: r.outcome?.durationMs ?? null,
  });
}

/** Rows per page read from PostgreSQL. */
const PAGE_ROWS = 5_000;

/**
 * Every logged decision of a PostgreSQL log joined with its feedback, in log order, read in pages of
 * PAGE_ROWS (by seq) inside one REPEATABLE READ READ ONLY transaction: one snapshot for the whole read.
 */
async function* postgresDecisionRecords(
  url: string,
  options: ReadOptions,
): AsyncGenerator<LoggedDecisionRecord> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  // A connection lost mid-read fails the query in progress; the event must not crash the process.
  client.on("error", () => {});
  const failed = (error: unknown) =>
    new Error(`decision log ${redactedUrl(url)}: ${(error as Error).message}`);
  try {
    await client.connect();
  } catch (error) {
    throw failed(error);
  }
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const where = ["d.seq > $1"];
    const params: unknown[] = ["0"];
    if (!options.includeShadow) where.push("d.served = 1");
    if (options.experiment !== undefined) {
      params.push(options.experiment);
      where.push(`d.experiment = $${params.length}`);
    }
    const sql = `${JOINED} WHERE ${where.join(" AND ")} ORDER BY d.seq LIMIT ${PAGE_ROWS}`;
    for (;;) {
      let rows: (DbDecision & FeedbackColumns)[];
      try {
        rows = (await client.query<DbDecision & FeedbackColumns>(sql, params)).rows;
      } catch (error) {
        throw failed(error);
      }
      for (const r of rows) yield toRecord(fromDb(r), r);
      if (rows.length < PAGE_ROWS) break;
      params[0] = rows[rows.length - 1].seq;
    }
    await client.query("COMMIT").catch(() => undefined);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Every logged decision joined with its feedback, in log order, from either store: `spec` is a SQLite file
 * (opened read-only; it must exist) or a postgres:// URL.
 */
export async function* decisionRecords(
  spec: string,
  options: ReadOptions = {},
): AsyncGenerator<LoggedDecisionRecord> {
  if (isPostgresUrl(spec)) yield* postgresDecisionRecords(spec, options);
  else yield* iterateDecisionRecords(spec, options);
}

/** All of `decisionRecords` in memory (the A/B analysis reads them all anyway). */
export async function collectDecisionRecords(
  spec: string,
  options: ReadOptions = {},
): Promise<LoggedDecisionRecord[]> {
  const records: LoggedDecisionRecord[] = [];
  for await (const record of decisionRecords(spec, options)) records.push(record);
  return records;
}

/** Writes the log (either store) as JSONL atomically (temp file + rename); returns the number of lines. */
export function exportLogJsonl(spec: string, outPath: string, options: ReadOptions = {}): Promise<number> {
  return writeFileAtomicWith(outPath, async (write) => {
    let lines = 0;
    let buffer: string[] = [];
    for await (const record of decisionRecords(spec, options)) {
      buffer.push(exportLine(record));
      lines++;
      if (buffer.length === 4096) {
        await write(`${buffer.join("\n")}\n`);
        buffer = [];
      }
    }
    if (buffer.length > 0) await write(`${buffer.join("\n")}\n`);
    return lines;
  });
}
