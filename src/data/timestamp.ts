// Byte-level timestamp parsing for session events. Works on UTF-8 bytes so the sessions fast path never
// builds a string; the JSON.parse fallback encodes its strings and calls the same functions, which keeps
// both paths' results identical by construction.

/** How a timestamp was written; counted in the quality report's dialect section. */
export const TIMESTAMP_FORMS = ["iso", "iso_fraction", "iso_zoned", "epoch_ms", "epoch_ms_string"] as const;
export type TimestampForm = (typeof TIMESTAMP_FORMS)[number];
export const TimestampFormCode = {
  iso: 0,
  iso_fraction: 1,
  iso_zoned: 2,
  epoch_ms: 3,
  epoch_ms_string: 4,
} as const;

/** Accepted range of event times; anything outside is a `bad_timestamp` (e.g. epoch seconds read as ms). */
export const MIN_EVENT_MS = Date.UTC(1990, 0, 1);
export const MAX_EVENT_MS = Date.UTC(2100, 0, 1);

/** Form of the last successful `parseIsoBytes` / `parseDigitsBytes` call (avoids allocating a result object). */
export let lastTimestampForm: number = TimestampFormCode.iso;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function isValidDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return day <= (leap ? 29 : 28);
  }
  return day <= DAYS_IN_MONTH[month - 1];
}

function digit(bytes: Uint8Array, i: number): number {
  const d = bytes[i] - 48;
  return d >= 0 && d <= 9 ? d : -1;
}

function twoDigits(bytes: Uint8Array, i: number): number {
  const a = digit(bytes, i);
  const b = digit(bytes, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * Parses `YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM|±HH]` in bytes[start, end) to epoch ms.
 * No zone means UTC. Fractions keep millisecond precision (further digits are truncated, as Date.parse does).
 * Returns NaN when the text is not such a timestamp or names an impossible date/time.
 */
export function parseIsoBytes(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 19) return Number.NaN;
  const y0 = twoDigits(bytes, start);
  const y1 = twoDigits(bytes, start + 2);
  if (y0 < 0 || y1 < 0 || bytes[start + 4] !== 45 || bytes[start + 7] !== 45) return Number.NaN;
  const year = y0 * 100 + y1;
  const month = twoDigits(bytes, start + 5);
  const day = twoDigits(bytes, start + 8);
  const sep = bytes[start + 10];
  if (sep !== 84 && sep !== 32 && sep !== 116) return Number.NaN; // 'T', ' ', 't'
  const hour = twoDigits(bytes, start + 11);
  const minute = twoDigits(bytes, start + 14);
  const second = twoDigits(bytes, start + 17);
  if (bytes[start + 13] !== 58 || bytes[start + 16] !== 58) return Number.NaN;
  if (!isValidDate(year, month, day) || hour < 0 || hour > 23 || minute < 0 || minute > 59) return Number.NaN;
  if (second < 0 || second > 59) return Number.NaN;
  let i = start + 19;
  let ms = 0;
  let form: number = TimestampFormCode.iso;
  if (i < end && bytes[i] === 46) {
    i++;
    const fractionStart = i;
    let scale = 100;
    while (i < end) {
      const d = digit(bytes, i);
      if (d < 0) break;
      ms += d * scale;
      scale /= 10;
      i++;
    }
    if (i === fractionStart) return Number.NaN;
    ms = Math.floor(ms);
    form = TimestampFormCode.iso_fraction;
  }
  let offsetMinutes = 0;
  if (i < end) {
    const z = bytes[i];
    if (z === 90 || z === 122) {
      i++;
    } else if (z === 43 || z === 45) {
      const oh = twoDigits(bytes, i + 1);
      if (oh < 0 || oh > 23) return Number.NaN;
      i += 3;
      let om = 0;
      if (i < end) {
        if (bytes[i] === 58) i++;
        om = twoDigits(bytes, i);
        if (om < 0 || om > 59) return Number.NaN;
        i += 2;
      }
      offsetMinutes = (z === 45 ? -1 : 1) * (oh * 60 + om);
    } else {
      return Number.NaN;
    }
    if (i !== end) return Number.NaN;
    form = TimestampFormCode.iso_zoned;
  }
  lastTimestampForm = form;
  const days = daysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60_000 + second * 1000 + ms;
}

/** Parses a string of 1..15 ASCII digits as epoch milliseconds; NaN otherwise. */
export function parseDigitsBytes(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length < 1 || length > 15) return Number.NaN;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = digit(bytes, i);
    if (d < 0) return Number.NaN;
    value = value * 10 + d;
  }
  lastTimestampForm = TimestampFormCode.epoch_ms_string;
  return value;
}

/** A timestamp string: all digits = epoch ms, otherwise ISO. NaN when neither. */
export function parseTimestampBytes(bytes: Uint8Array, start: number, end: number): number {
  const first = bytes[start];
  if (end - start <= 15 && first >= 48 && first <= 57) {
    const digits = parseDigitsBytes(bytes, start, end);
    if (!Number.isNaN(digits)) return digits;
  }
  return parseIsoBytes(bytes, start, end);
}

const encoder = new TextEncoder();

/** String convenience over `parseTimestampBytes` (tests, fallback path). */
export function parseTimestampString(text: string): number {
  const bytes = encoder.encode(text);
  return parseTimestampBytes(bytes, 0, bytes.length);
}
