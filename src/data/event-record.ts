// One session event sent by a client (for example to the service's `POST /v1/events`), normalised by
// the same decoder and rules as a sessions.jsonl line: any letter case, `advertisment`, ISO or epoch-ms
// timestamps, ids as integers or digit strings. A record the loader would quarantine is refused with the
// field it concerns; the service has no whole file to repair it from.

import { parseEventLine, RawEvent, V_INT, V_MISSING, V_NULL, V_STRING } from "./session-line.ts";
import { eventKindOfBytes, integerOf } from "./sessions.ts";
import { MAX_EVENT_MS, MIN_EVENT_MS, parseTimestampBytes } from "./timestamp.ts";
import { EventCode } from "./types.ts";

export interface EventRecord {
  kind: number;
  timestampMs: number;
  userId: number;
  sessionId: number;
  /** Null on advertisement and buy_premium rows. */
  trackId: string | null;
}

/** A record that cannot be used: `field` names the offending key. */
export class EventRecordError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "EventRecordError";
  }
}

const raw = new RawEvent();
const decoder = new TextDecoder();

function isInt32(n: number): boolean {
  return (n | 0) === n;
}

export function normalizeEventRecord(value: unknown): EventRecord {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new EventRecordError("", "an event must be a JSON object");
  if (!parseEventLine(JSON.stringify(value), raw))
    throw new EventRecordError("", "an event must be a JSON object");
  const kind =
    raw.typeType === V_STRING && raw.typeEnd > raw.typeStart
      ? eventKindOfBytes(raw.bytes, raw.typeStart, raw.typeEnd)
      : -1;
  if (kind < 0) {
    const missing = raw.typeType === V_MISSING || raw.typeType === V_NULL;
    throw new EventRecordError(
      "event_type",
      missing
        ? 'field "event_type" is required'
        : 'field "event_type" must be one of play, skip, like, advertisement, buy_premium (any case)',
    );
  }
  const sessionId = integerOf(raw, raw.sessionType, raw.sessionNumber, raw.sessionStart, raw.sessionEnd);
  if (!(isInt32(sessionId) && sessionId >= 0))
    throw new EventRecordError("session_id", 'field "session_id" must be an integer in 0..2147483647');
  let timestampMs = Number.NaN;
  if (raw.tsType === V_INT) timestampMs = raw.tsNumber;
  else if (raw.tsType === V_STRING) timestampMs = parseTimestampBytes(raw.bytes, raw.tsStart, raw.tsEnd);
  if (!(timestampMs >= MIN_EVENT_MS && timestampMs < MAX_EVENT_MS)) {
    throw new EventRecordError(
      "timestamp",
      'field "timestamp" must be an ISO date-time or epoch milliseconds between 1990 and 2100',
    );
  }
  const userId = integerOf(raw, raw.userType, raw.userNumber, raw.userStart, raw.userEnd);
  if (!(isInt32(userId) && userId >= 0))
    throw new EventRecordError("user_id", 'field "user_id" must be an integer in 0..2147483647');
  let trackId: string | null = null;
  if (kind === EventCode.play || kind === EventCode.skip || kind === EventCode.like) {
    if (
      raw.trackType !== V_STRING ||
      raw.trackEnd === raw.trackStart ||
      raw.trackEnd - raw.trackStart > 128
    ) {
      throw new EventRecordError(
        "track_id",
        `field "track_id" must be a track id (1 to 128 characters) on a ${["play", "skip", "like"][kind]} event`,
      );
    }
    trackId = decoder.decode(raw.bytes.subarray(raw.trackStart, raw.trackEnd));
  }
  return { kind, timestampMs, userId, sessionId, trackId };
}
