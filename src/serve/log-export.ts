// Reading the decision log back: joined decision + feedback rows, and the JSONL export
// (the reference's model_usage_log.json entries, one object per line, plus skipwise's fields).

import type Database from "better-sqlite3";
import { writeFileAtomicSyncWith } from "../base/atomic-write.ts";
import { type DbDecision, type DecisionRow, fromDb, openLogDatabase } from "./decision-log.ts";
import type { Decision } from "./scorer.ts";

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

interface JoinedRow extends DbDecision {
  f_skipped: number | null;
  f_heard_ms: number | null;
  f_ts_ms: number | null;
  f_duration_ms: number | null;
}

const JOINED = `
SELECT d.*, f.skipped AS f_skipped, f.heard_ms AS f_heard_ms, f.ts_ms AS f_ts_ms,
  f.duration_ms AS f_duration_ms
FROM decisions d LEFT JOIN feedback f ON f.decision_id = COALESCE(d.shadow_of, d.id)
`;

function toRecord(r: JoinedRow): LoggedDecisionRecord {
  const { id, ...decision } = fromDb(r);
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

/** Every logged decision joined with its feedback, in time order. Opens the database read-only. */
export function* iterateDecisionRecords(
  dbPath: string,
  options: ReadOptions = {},
): Generator<LoggedDecisionRecord> {
  const db = openLogDatabase(dbPath, true);
  try {
    const params = options.experiment !== undefined ? { experiment: options.experiment } : {};
    for (const row of query(db, options).iterate(params)) yield toRecord(row as JoinedRow);
  } finally {
    db.close();
  }
}

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

/** Writes the log as JSONL atomically (temp file + rename); returns the number of lines. */
export function exportLogJsonl(dbPath: string, outPath: string, options: ReadOptions = {}): number {
  return writeFileAtomicSyncWith(outPath, (write) => {
    let lines = 0;
    let buffer: string[] = [];
    for (const record of iterateDecisionRecords(dbPath, options)) {
      buffer.push(exportLine(record));
      lines++;
      if (buffer.length === 4096) {
        write(`${buffer.join("\n")}\n`);
        buffer = [];
      }
    }
    if (buffer.length > 0) write(`${buffer.join("\n")}\n`);
    return lines;
  });
}
