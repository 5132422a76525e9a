// /v1/feedback and /v1/events bodies as the decision core's inputs.
import { type EventRecord, EventRecordError, normalizeEventRecord } from "../../data/event-record.ts";
import type { DecisionCore, FeedbackInput, FeedbackTarget } from "../decision-core.ts";
import { InvalidEventError, ListenFieldRequiredError } from "../errors.ts";
import type { EventsBody, FeedbackBody } from "../schemas.ts";

export function feedbackInput(body: FeedbackBody): FeedbackInput {
  return {
    target: feedbackTarget(body),
    skipped: body.outcome === "skipped",
    heardMs: body.heard_ms ?? Number.NaN,
    atMs: body.timestamp_ms,
  };
}

function feedbackTarget(body: FeedbackBody): FeedbackTarget {
  if (body.decision_id !== undefined) return { decisionId: body.decision_id };
  if (body.user_id === undefined) throw new ListenFieldRequiredError("user_id");
  if (body.track_id === undefined) throw new ListenFieldRequiredError("track_id");
  return { userId: body.user_id, trackId: body.track_id, sessionId: body.session_id ?? null };
}

/** Decodes every record, in the loader's dialects, and checks its time before any is applied. */
export function eventRecords(core: DecisionCore, body: EventsBody): EventRecord[] {
  return body.events.map((value, i) => eventRecord(core, value, `events.${i}`));
}

function eventRecord(core: DecisionCore, value: unknown, field: string): EventRecord {
  let record: EventRecord;
  try {
    record = normalizeEventRecord(value);
  } catch (error) {
    if (error instanceof EventRecordError) {
      const path = error.field ? `${field}.${error.field}` : field;
      throw new InvalidEventError(path, error.message);
    }
    throw error;
  }
  core.acceptClientTime(record.timestampMs, `${field}.timestamp`);
  return record;
}
