// Reading sessions.jsonl into the columnar EventTable: validation, the two repair rules, quarantine.
import type { ByteKeyIndex } from "./byte-keys.ts";
import { DuplicateLines, LineGroup } from "./duplicates.ts";
import { DeliveryError } from "./errors.ts";
import { EventTableBuilder } from "./event-table.ts";
import type { LocatedFile } from "./files.ts";
import { isBlank, NOT_JSONL_AFTER_LINES, readLines } from "./lines.ts";
import type { DefectKind, FileTally, RepairRuleId } from "./quality.ts";
import {
  parseEventLine,
  RawEvent,
  scanEventLine,
  V_INT,
  V_MISSING,
  V_NULL,
  V_STRING,
} from "./session-line.ts";
import {
  lastTimestampForm,
  MAX_EVENT_MS,
  MIN_EVENT_MS,
  parseTimestampBytes,
  TIMESTAMP_FORMS,
  TimestampFormCode,
} from "./timestamp.ts";
import { EventCode, type EventTable, type User } from "./types.ts";

/**
 * When a session line has several defects it is quarantined for the first of these that applies
 * (every defect it has is still counted as found). `null_user_id` comes last because it is decided only
 * after the whole file is read (the repair needs every event of the session).
 */
export const SESSION_QUARANTINE_ORDER: readonly DefectKind[] = [
  "duplicate_row",
  "malformed_json",
  "null_event_type",
  "unknown_event_type",
  "null_session_id",
  "bad_timestamp",
  "unknown_user",
  "null_track_id",
  "unknown_track",
  "null_user_id",
];

export interface SessionsResult {
  events: EventTable;
  sessions: number;
  timeRange: { firstMs: number; lastMs: number } | null;
  eventTypeSpellings: Record<string, number>;
  timestampForms: Record<string, number>;
  extraKeyRows: number;
  fastPathLines: number;
  unknownUserEvents: number;
  unknownTrackEvents: number;
}

export interface SessionsContext {
  users: Map<number, User>;
  trackIds: ByteKeyIndex;
  tally: FileTally;
  fastPath: boolean;
  onBytes?: (n: number) => void;
}

/** Per-session memory for the repair rules. */
class SessionState {
  /** The one user the session's events name, or NO_USER. */
  user = NO_USER;
  /** Events of the session name more than one user (or an unreadable one). */
  userConflict = false;
  /** Kind code of the previous decoded event of the session (file order), -1 for none/unknown. */
  previousKind = -1;
  /** Catalogue index of the previous event's track, -1 when it had none or an unknown one. */
  previousTrack = -1;
  /** Fingerprints of the session's lines, for the duplicate-row check. */
  readonly lines = new LineGroup();
}

const NO_USER = -2147483648;
const USER_UNREADABLE = Number.NaN;

interface PendingRow {
  row: number;
  line: number;
  trackRepaired: boolean;
  excerpt: string;
}

// Event-type spelling bookkeeping: kind code (0..4, 5 = `advertisment`) × case form (lower, upper, mixed).
const SPELLING_ADVERTISMENT = 5;
const CASE_LOWER = 0;
const CASE_UPPER = 1;
const CASE_MIXED = 2;
const KIND_WORDS = ["play", "skip", "like", "advertisement", "buy_premium", "advertisment"].map((w) =>
  Uint8Array.from(w, (c) => c.charCodeAt(0)),
);
let lastSpelling = 0;

/** Kind code of an event-type string in any letter case (`advertisment` folded in), -1 when unknown. */
export function eventKindOfBytes(b: Uint8Array, start: number, end: number): number {
  const length = end - start;
  let candidate = -1;
  if (length === 4) {
    const c = b[start] | 0x20;
    candidate = c === 112 ? EventCode.play : c === 115 ? EventCode.skip : c === 108 ? EventCode.like : -1;
  } else if (length === 13) candidate = EventCode.advertisement;
  else if (length === 12) candidate = SPELLING_ADVERTISMENT;
  else if (length === 11) candidate = EventCode.buy_premium;
  if (candidate < 0) return -1;
  const word = KIND_WORDS[candidate];
  let upper = false;
  let lower = false;
  for (let i = 0; i < length; i++) {
    const c = b[start + i];
    const isUpper = c >= 65 && c <= 90;
    if ((isUpper ? c | 0x20 : c) !== word[i]) return -1;
    if (isUpper) upper = true;
    else if (c >= 97 && c <= 122) lower = true;
  }
  lastSpelling = candidate * 3 + (upper ? (lower ? CASE_MIXED : CASE_UPPER) : CASE_LOWER);
  return candidate === SPELLING_ADVERTISMENT ? EventCode.advertisement : candidate;
}

function spellingName(code: number): string {
  const word = ["play", "skip", "like", "advertisement", "buy_premium", "advertisment"][Math.floor(code / 3)];
  const form = code % 3;
  return form === CASE_LOWER ? word : form === CASE_UPPER ? word.toUpperCase() : `${word} (mixed case)`;
}

/** Integer value of a decoded field: V_INT as is, V_STRING of ASCII digits parsed; NaN otherwise. */
export function integerOf(r: RawEvent, type: number, n: number, start: number, end: number): number {
  if (type === V_INT) return n;
  if (type !== V_STRING || end === start || end - start > 15) return Number.NaN;
  const b = r.bytes;
  let i = start;
  const negative = b[i] === 45;
  if (negative) i++;
  if (i === end) return Number.NaN;
  let value = 0;
  for (; i < end; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return Number.NaN;
    value = value * 10 + d;
  }
  return negative ? -value : value;
}

function isInt32(n: number): boolean {
  return (n | 0) === n;
}

/**
 * Reads sessions.jsonl into an EventTable. Per line: duplicate check, decode (fast path, else JSON.parse),
 * validation in SESSION_QUARANTINE_ORDER, then rule `track_from_preceding_play` (a skip/like with a null
 * track after a play of the same session takes that play's track). Rows with a null user are kept pending
 * until the whole file is read, then rule `user_from_session` gives them their session's single user or
 * quarantines them. See docs/data-quality.md.
 */
export async function readSessions(located: LocatedFile, ctx: SessionsContext): Promise<SessionsResult> {
  const { users, trackIds, tally, fastPath } = ctx;
  // Pre-size from the file size (a typical line is 120-140 bytes; gzip shrinks JSONL about 8x).
  const expectedLines = Math.ceil((located.bytes * (located.gzip ? 8 : 1)) / 128);
  const table = new EventTableBuilder(expectedLines);
  const duplicates = new DuplicateLines(located.gzip ? null : located.readPath, expectedLines);
  const raw = new RawEvent();
  const sessions = new Map<number, SessionState>();
  let currentSessionId = Number.NaN;
  let current: SessionState | null = null;
  const pending: PendingRow[] = [];
  const spellings = new Int32Array(18);
  const unknownSpellings = new Map<string, number>();
  const timestampForms = new Int32Array(TIMESTAMP_FORMS.length);
  let extraKeyRows = 0;
  let fastPathLines = 0;
  let decodedLines = 0;
  let nonBlankLines = 0;
  let unknownUserEvents = 0;
  let unknownTrackEvents = 0;
  let lastKnownUser = Number.NaN; // consecutive events mostly share a user: skip the Map lookup then
  const quality = tally.quality;
  const repairedTrack: RepairRuleId[] = ["track_from_preceding_play"];

  const quarantine = (why: DefectKind, lineNo: number, b: Buffer, s: number, e: number): void =>
    tally.quarantined(why, lineNo, () => b.toString("utf8", s, e));

  const onLine = (b: Buffer, s: number, e: number, lineNo: number, offset: number): void => {
    if (s === e || isBlank(b, s, e)) {
      quality.blankLines++;
      return;
    }
    nonBlankLines++;
    quality.lines++;
    const fast = fastPath && scanEventLine(b, s, e, raw);
    const decoded = fast || parseEventLine(b.toString("utf8", s, e), raw);
    // A byte-identical line decodes to the same session id, so duplicates are looked for per session.
    const sessionId = decoded
      ? integerOf(raw, raw.sessionType, raw.sessionNumber, raw.sessionStart, raw.sessionEnd)
      : Number.NaN;
    const sessionOk = isInt32(sessionId);
    let state: SessionState | null = null;
    if (sessionOk) {
      if (sessionId !== currentSessionId) {
        currentSessionId = sessionId;
        current = sessions.get(sessionId) ?? null;
        if (current === null) {
          current = new SessionState();
          sessions.set(sessionId, current);
        }
      }
      state = current as SessionState;
    }
    if (duplicates.seen(state === null ? duplicates.global : state.lines, b, s, e, lineNo, offset)) {
      tally.found("duplicate_row");
      quarantine("duplicate_row", lineNo, b, s, e);
      return;
    }
    if (fast) fastPathLines++;
    if (!decoded) {
      if (decodedLines === 0 && nonBlankLines >= NOT_JSONL_AFTER_LINES) {
        throw new DeliveryError(
          located.path,
          `is not JSONL (none of its first ${NOT_JSONL_AFTER_LINES} lines is a JSON object)`,
        );
      }
      tally.found("malformed_json");
      quarantine("malformed_json", lineNo, b, s, e);
      return;
    }
    decodedLines++;
    if (raw.extraKeys) extraKeyRows++;

    // Each check records the defect as found; `reason` keeps the first in SESSION_QUARANTINE_ORDER.
    let reason: DefectKind | null = null;

    let kind = -1;
    if (raw.typeType === V_STRING && raw.typeEnd > raw.typeStart) {
      kind = eventKindOfBytes(raw.bytes, raw.typeStart, raw.typeEnd);
      if (kind >= 0) spellings[lastSpelling]++;
      else {
        tally.found("unknown_event_type");
        reason = "unknown_event_type";
        const spelling = Buffer.from(raw.bytes.subarray(raw.typeStart, raw.typeEnd)).toString("utf8");
        unknownSpellings.set(spelling, (unknownSpellings.get(spelling) ?? 0) + 1);
      }
    } else if (raw.typeType === V_MISSING || raw.typeType === V_NULL || raw.typeType === V_STRING) {
      tally.found("null_event_type");
      reason = "null_event_type";
    } else {
      tally.found("unknown_event_type");
      reason = "unknown_event_type";
    }

    if (!sessionOk) {
      tally.found("null_session_id");
      reason ??= "null_session_id";
    }

    let timestampMs = Number.NaN;
    if (raw.tsType === V_INT) {
      timestampMs = raw.tsNumber;
      timestampForms[TimestampFormCode.epoch_ms]++;
    } else if (raw.tsType === V_STRING) {
      timestampMs = parseTimestampBytes(raw.bytes, raw.tsStart, raw.tsEnd);
      if (!Number.isNaN(timestampMs)) timestampForms[lastTimestampForm]++;
    }
    if (!(timestampMs >= MIN_EVENT_MS && timestampMs < MAX_EVENT_MS)) {
      tally.found("bad_timestamp");
      reason ??= "bad_timestamp";
    }

    let userId = NO_USER;
    let userValue = Number.NaN; // the id named by the line (for session evidence), NaN when unreadable
    const userNull =
      raw.userType === V_MISSING ||
      raw.userType === V_NULL ||
      (raw.userType === V_STRING && raw.userEnd === raw.userStart);
    if (userNull) {
      tally.found("null_user_id");
    } else {
      userValue = integerOf(raw, raw.userType, raw.userNumber, raw.userStart, raw.userEnd);
      if (userValue === lastKnownUser || (isInt32(userValue) && users.has(userValue))) {
        lastKnownUser = userValue;
        userId = userValue;
      } else {
        if (!isInt32(userValue)) userValue = USER_UNREADABLE;
        tally.found("unknown_user");
        unknownUserEvents++;
        reason ??= "unknown_user";
      }
    }

    if (state !== null) {
      if (!userNull) {
        if (Number.isNaN(userValue)) state.userConflict = true;
        else if (state.user === NO_USER) state.user = userValue;
        else if (state.user !== userValue) state.userConflict = true;
      }
    }

    let trackIndex = -1;
    let trackRepaired = false;
    if (kind === EventCode.play || kind === EventCode.skip || kind === EventCode.like) {
      const trackNull =
        raw.trackType === V_MISSING ||
        raw.trackType === V_NULL ||
        (raw.trackType === V_STRING && raw.trackEnd === raw.trackStart);
      if (trackNull) {
        tally.found("null_track_id");
        if (
          kind !== EventCode.play &&
          state !== null &&
          state.previousKind === EventCode.play &&
          state.previousTrack >= 0
        ) {
          trackIndex = state.previousTrack;
          trackRepaired = true;
        } else {
          reason ??= "null_track_id";
        }
      } else {
        trackIndex = raw.trackType === V_STRING ? trackIds.get(raw.bytes, raw.trackStart, raw.trackEnd) : -1;
        if (trackIndex < 0) {
          tally.found("unknown_track");
          unknownTrackEvents++;
          reason ??= "unknown_track";
        }
      }
    }
    if (state !== null) {
      state.previousKind = kind;
      state.previousTrack = trackIndex;
    }

    if (reason !== null) {
      quarantine(reason, lineNo, b, s, e);
      return;
    }
    const row = table.push(timestampMs, userId, sessionId, trackIndex, kind, lineNo);
    if (userNull) pending.push({ row, line: lineNo, trackRepaired, excerpt: b.toString("utf8", s, e) });
    else if (trackRepaired) tally.repaired(repairedTrack);
    else tally.kept();
  };

  try {
    const read = await readLines(located.readPath, located.path, located.gzip, onLine, ctx.onBytes);
    quality.bomStripped = read.bomStripped;
    quality.sha256 = read.sha256;
  } finally {
    duplicates.close();
  }
  if (decodedLines === 0) {
    throw new DeliveryError(
      located.path,
      nonBlankLines === 0 ? "file is empty (no lines)" : "is not JSONL (no line is a JSON object)",
    );
  }

  // Rule user_from_session, decided now that every event of every session has been seen.
  if (pending.length > 0) {
    const drop = new Uint8Array(table.length);
    for (const p of pending) {
      const state = sessions.get(table.sessionId[p.row]) as SessionState;
      const rules: RepairRuleId[] = p.trackRepaired ? ["track_from_preceding_play"] : [];
      if (state.user === NO_USER || state.userConflict) {
        drop[p.row] = 1;
        tally.quarantined("null_user_id", p.line, () => p.excerpt);
      } else if (!users.has(state.user)) {
        drop[p.row] = 1;
        tally.found("unknown_user");
        unknownUserEvents++;
        tally.quarantined("unknown_user", p.line, () => p.excerpt);
      } else {
        table.userId[p.row] = state.user;
        rules.unshift("user_from_session");
        tally.repaired(rules);
      }
    }
    table.compact(drop);
  }

  const events = table.build();
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  const keptSessions = new Set<number>();
  let previousSession = Number.NaN;
  for (let i = 0; i < events.length; i++) {
    const t = events.timestampMs[i];
    if (t < firstMs) firstMs = t;
    if (t > lastMs) lastMs = t;
    const s = events.sessionId[i];
    if (s !== previousSession) {
      keptSessions.add(s);
      previousSession = s;
    }
  }

  const eventTypeSpellings: Record<string, number> = {};
  for (let code = 0; code < spellings.length; code++) {
    if (spellings[code] > 0) eventTypeSpellings[spellingName(code)] = spellings[code];
  }
  for (const [spelling, n] of unknownSpellings)
    eventTypeSpellings[`${JSON.stringify(spelling)} (unknown)`] = n;
  const forms: Record<string, number> = {};
  TIMESTAMP_FORMS.forEach((form, i) => {
    forms[form] = timestampForms[i];
  });
  return {
    events,
    sessions: keptSessions.size,
    timeRange: events.length > 0 ? { firstMs, lastMs } : null,
    eventTypeSpellings,
    timestampForms: forms,
    extraKeyRows,
    fastPathLines,
    unknownUserEvents,
    unknownTrackEvents,
  };
}
