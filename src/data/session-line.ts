// Decoding one sessions.jsonl line into the five fields the loader reads. Two decoders fill the same
// `RawEvent`: a hand-written byte scanner for the common shape (flat object, string/integer/null values, no
// escapes) and JSON.parse for everything else. The scanner gives up (returns false) on anything it does not
// handle exactly as JSON.parse would, so both decoders agree on every line the scanner accepts.

export const V_MISSING = 0;
export const V_NULL = 1;
export const V_STRING = 2;
export const V_INT = 3;
/** Any other JSON value (boolean, non-integer number, array, object). */
export const V_OTHER = 4;

/** The fields of one event line. String values are UTF-8 byte ranges of `bytes`. */
export class RawEvent {
  bytes: Uint8Array = new Uint8Array(0);
  tsType = V_MISSING;
  tsStart = 0;
  tsEnd = 0;
  tsNumber = 0;
  userType = V_MISSING;
  userStart = 0;
  userEnd = 0;
  userNumber = 0;
  trackType = V_MISSING;
  trackStart = 0;
  trackEnd = 0;
  typeType = V_MISSING;
  typeStart = 0;
  typeEnd = 0;
  sessionType = V_MISSING;
  sessionStart = 0;
  sessionEnd = 0;
  sessionNumber = 0;
  extraKeys = false;

  reset(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.tsType = V_MISSING;
    this.userType = V_MISSING;
    this.trackType = V_MISSING;
    this.typeType = V_MISSING;
    this.sessionType = V_MISSING;
    this.extraKeys = false;
  }
}

const KEY_TIMESTAMP = ascii("timestamp");
const KEY_USER_ID = ascii("user_id");
const KEY_TRACK_ID = ascii("track_id");
const KEY_EVENT_TYPE = ascii("event_type");
const KEY_SESSION_ID = ascii("session_id");

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function keyIs(b: Uint8Array, start: number, end: number, key: Uint8Array): boolean {
  if (end - start !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (b[start + i] !== key[i]) return false;
  return true;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** Field ids used by `assign`. */
const F_NONE = 0;
const F_TS = 1;
const F_USER = 2;
const F_TRACK = 3;
const F_TYPE = 4;
const F_SESSION = 5;

function fieldOf(b: Uint8Array, start: number, end: number): number {
  switch (end - start) {
    case 9:
      return keyIs(b, start, end, KEY_TIMESTAMP) ? F_TS : F_NONE;
    case 7:
      return keyIs(b, start, end, KEY_USER_ID) ? F_USER : F_NONE;
    case 8:
      return keyIs(b, start, end, KEY_TRACK_ID) ? F_TRACK : F_NONE;
    case 10:
      if (keyIs(b, start, end, KEY_EVENT_TYPE)) return F_TYPE;
      return keyIs(b, start, end, KEY_SESSION_ID) ? F_SESSION : F_NONE;
    default:
      return F_NONE;
  }
}

function assign(r: RawEvent, field: number, type: number, start: number, end: number, n: number): void {
  switch (field) {
    case F_TS:
      r.tsType = type;
      r.tsStart = start;
      r.tsEnd = end;
      r.tsNumber = n;
      break;
    case F_USER:
      r.userType = type;
      r.userStart = start;
      r.userEnd = end;
      r.userNumber = n;
      break;
    case F_TRACK:
      r.trackType = type;
      r.trackStart = start;
      r.trackEnd = end;
      break;
    case F_TYPE:
      r.typeType = type;
      r.typeStart = start;
      r.typeEnd = end;
      break;
    case F_SESSION:
      r.sessionType = type;
      r.sessionStart = start;
      r.sessionEnd = end;
      r.sessionNumber = n;
      break;
    default:
      r.extraKeys = true;
  }
}

/**
 * Fast path: decodes `b[s, e)` when it is a flat JSON object whose values are strings without escapes,
 * integers of at most 15 digits, or null. Returns false (leaving `r` unspecified) for anything else.
 */
export function scanEventLine(b: Uint8Array, s: number, e: number, r: RawEvent): boolean {
  r.reset(b);
  let i = s;
  while (i < e && isWs(b[i])) i++;
  if (i >= e || b[i] !== 123) return false;
  i++;
  while (i < e && isWs(b[i])) i++;
  if (i < e && b[i] === 125) {
    i++;
  } else {
    for (;;) {
      if (i >= e || b[i] !== 34) return false;
      const keyStart = ++i;
      while (i < e) {
        const c = b[i];
        if (c === 34) break;
        if (c === 92 || c < 32) return false;
        i++;
      }
      if (i >= e) return false;
      const keyEnd = i++;
      while (i < e && isWs(b[i])) i++;
      if (i >= e || b[i] !== 58) return false;
      i++;
      while (i < e && isWs(b[i])) i++;
      if (i >= e) return false;
      const c = b[i];
      const field = fieldOf(b, keyStart, keyEnd);
      if (c === 34) {
        const valueStart = ++i;
        while (i < e) {
          const d = b[i];
          if (d === 34) break;
          if (d === 92 || d < 32) return false;
          i++;
        }
        if (i >= e) return false;
        assign(r, field, V_STRING, valueStart, i, 0);
        i++;
      } else if (c === 110) {
        if (e - i < 4 || b[i + 1] !== 117 || b[i + 2] !== 108 || b[i + 3] !== 108) return false;
        assign(r, field, V_NULL, 0, 0, 0);
        i += 4;
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        const negative = c === 45;
        if (negative) i++;
        const digitsStart = i;
        let n = 0;
        while (i < e) {
          const d = b[i] - 48;
          if (d < 0 || d > 9) break;
          n = n * 10 + d;
          i++;
        }
        const digits = i - digitsStart;
        if (digits === 0 || digits > 15 || (digits > 1 && b[digitsStart] === 48)) return false;
        if (i < e && (b[i] === 46 || b[i] === 101 || b[i] === 69)) return false;
        assign(r, field, V_INT, 0, 0, negative ? -n : n);
      } else {
        return false;
      }
      while (i < e && isWs(b[i])) i++;
      if (i >= e) return false;
      if (b[i] === 44) {
        i++;
        while (i < e && isWs(b[i])) i++;
        continue;
      }
      if (b[i] === 125) {
        i++;
        break;
      }
      return false;
    }
  }
  while (i < e && isWs(b[i])) i++;
  return i === e;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/**
 * Reference decoder: JSON.parse. Returns false when the line is not a JSON object (malformed_json).
 * String values are UTF-8 encoded into a scratch buffer, so later steps see bytes exactly as in the fast path.
 */
export function parseEventLine(text: string, r: RawEvent): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  r.reset(scratch);
  let at = 0;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field =
      key === "timestamp"
        ? F_TS
        : key === "user_id"
          ? F_USER
          : key === "track_id"
            ? F_TRACK
            : key === "event_type"
              ? F_TYPE
              : key === "session_id"
                ? F_SESSION
                : F_NONE;
    if (v === null) {
      assign(r, field, V_NULL, 0, 0, 0);
    } else if (typeof v === "string") {
      const written = encoder.encodeInto(v, scratch.subarray(at)).written;
      assign(r, field, V_STRING, at, at + written, 0);
      at += written;
    } else if (typeof v === "number" && Number.isSafeInteger(v)) {
      assign(r, field, V_INT, 0, 0, v);
    } else {
      assign(r, field, V_OTHER, 0, 0, 0);
    }
  }
  return true;
}
