// How each dialect writes values: Python-json style lines (", " and ": " separators, non-ASCII as \uXXXX,
// floats as Python's repr) like the real deliveries, event-type spellings, key orders and timestamp forms.
import { EVENT_KINDS } from "../data/types.ts";
import type { Dialect } from "./types.ts";

/** A JSON string literal with non-ASCII characters escaped the way Python's json.dumps does by default. */
export function jsonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A float as Python's repr writes it: always a decimal point or exponent, two-digit exponents. */
export function pyFloat(value: number): string {
  if (Number.isInteger(value)) return `${value}.0`;
  const abs = Math.abs(value);
  if (abs < 1e-4 || abs >= 1e16) {
    return value.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  }
  return String(value);
}

export function jsonStringList(items: readonly string[]): string {
  return `[${items.map(jsonString).join(", ")}]`;
}

/** Event-type spelling per dialect, indexed by EventCode. */
export function eventTypeSpellings(dialect: Dialect): readonly string[] {
  if (dialect === "2023L") return EVENT_KINDS.map((k) => k.toUpperCase());
  if (dialect === "2023Z") return EVENT_KINDS.map((k) => (k === "advertisement" ? "advertisment" : k));
  return EVENT_KINDS;
}

/** An unknown event type in the dialect's letter case. */
export function unknownEventType(dialect: Dialect, pick: number): string {
  const names = ["pause", "seek", "stop", "shuffle", "repeat"];
  const name = names[pick % names.length];
  return dialect === "2023L" ? name.toUpperCase() : name;
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
const DAY_MS = 86_400_000;
let cachedDay = Number.NaN;
let cachedDate = "";

/**
 * A timestamp token (already JSON-encoded). ISO dialects write Python's `datetime.isoformat()`: no fraction
 * on whole seconds, otherwise six fraction digits (milliseconds + "000"), no zone. Formatted by hand with the
 * date part cached per day: this runs for every one of millions of events.
 */
export function timestampToken(dialect: Dialect, ms: number): string {
  if (dialect === "epoch") return String(ms);
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDate = new Date(day * DAY_MS).toISOString().slice(0, 10);
  }
  let rest = ms - day * DAY_MS;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const second = rest % 60;
  rest = (rest - second) / 60;
  const minute = rest % 60;
  const hour = (rest - minute) / 60;
  const time = `${cachedDate}T${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}`;
  return millis === 0 ? `"${time}"` : `"${time}.${THREE_DIGITS[millis]}000"`;
}

/** JSON token of a track id on rows without a track: the 2023L delivery writes "", the others null. */
export function noTrackToken(dialect: Dialect): string {
  return dialect === "2023L" ? '""' : "null";
}

/**
 * Composes a sessions line from JSON tokens in the dialect's key order. A null token (JS null, not "null")
 * leaves the key out.
 */
export type SessionLineWriter = (
  ts: string | null,
  user: string | null,
  track: string | null,
  type: string | null,
  session: string | null,
) => string;

function field(key: string, token: string | null, first: boolean): string {
  if (token === null) return "";
  return `${first ? "" : ", "}"${key}": ${token}`;
}

export function sessionLineWriter(dialect: Dialect): SessionLineWriter {
  if (dialect === "2023L") {
    return (ts, user, track, type, session) => {
      if (ts !== null && user !== null && track !== null && type !== null && session !== null) {
        return `{"timestamp": ${ts}, "user_id": ${user}, "track_id": ${track}, "event_type": ${type}, "session_id": ${session}}`;
      }
      return keyed([
        ["timestamp", ts],
        ["user_id", user],
        ["track_id", track],
        ["event_type", type],
        ["session_id", session],
      ]);
    };
  }
  if (dialect === "2023Z") {
    return (ts, user, track, type, session) => {
      if (ts !== null && user !== null && track !== null && type !== null && session !== null) {
        return `{"session_id": ${session}, "timestamp": ${ts}, "user_id": ${user}, "track_id": ${track}, "event_type": ${type}}`;
      }
      return keyed([
        ["session_id", session],
        ["timestamp", ts],
        ["user_id", user],
        ["track_id", track],
        ["event_type", type],
      ]);
    };
  }
  // The epoch dialect uses yet another key order: readers must not depend on one.
  return (ts, user, track, type, session) =>
    keyed([
      ["user_id", user],
      ["session_id", session],
      ["event_type", type],
      ["track_id", track],
      ["timestamp", ts],
    ]);
}

function keyed(pairs: [string, string | null][]): string {
  let out = "{";
  let first = true;
  for (const [key, token] of pairs) {
    if (token === null) continue;
    out += field(key, token, first);
    first = false;
  }
  return `${out}}`;
}

export function storageClassSpelling(dialect: Dialect, storageClass: "slow" | "medium" | "fast"): string {
  return dialect === "2023L" ? storageClass.toUpperCase() : storageClass;
}
