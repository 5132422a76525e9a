// The hand-written session-line scanner must agree with JSON.parse on every line it accepts, and the whole
// loader must give identical results with and without it.
import { describe, expect, it } from "vitest";
import { loadDelivery } from "../../src/data/index.ts";
import { parseEventLine, RawEvent, scanEventLine } from "../../src/data/session-line.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

/** The decoded fields as plain values (strings decoded from their byte ranges). */
function fields(r: RawEvent) {
  const text = (type: number, start: number, end: number) =>
    type === 2 ? Buffer.from(r.bytes.subarray(start, end)).toString("utf8") : null;
  return {
    ts: [r.tsType, text(r.tsType, r.tsStart, r.tsEnd), r.tsType === 3 ? r.tsNumber : null],
    user: [r.userType, text(r.userType, r.userStart, r.userEnd), r.userType === 3 ? r.userNumber : null],
    track: [r.trackType, text(r.trackType, r.trackStart, r.trackEnd)],
    type: [r.typeType, text(r.typeType, r.typeStart, r.typeEnd)],
    session: [
      r.sessionType,
      text(r.sessionType, r.sessionStart, r.sessionEnd),
      r.sessionType === 3 ? r.sessionNumber : null,
    ],
    extra: r.extraKeys,
  };
}

const LINES = [
  '{"timestamp": "2023-01-03T05:09:55", "user_id": 101, "track_id": "2PmGtDUyJIpYBEtI1hQIVp", "event_type": "PLAY", "session_id": 124}',
  '{"session_id": 124, "timestamp": "2023-07-10T19:34:04", "user_id": 101, "track_id": null, "event_type": "advertisment"}',
  '{"timestamp":1683356889000,"user_id":101,"track_id":"t1","event_type":"play","session_id":1}',
  '  {  "timestamp" : "x" ,\t"user_id" : -0 , "session_id": 0 }  \r',
  '{"timestamp": "2023", "user_id": 101, "extra": "yes", "track_id": "ł\u00f3d\u017a", "event_type": "like", "session_id": 3}',
  '{"user_id": 101, "user_id": 102}',
  "{}",
  '{"track_id": "t\\u0031", "user_id": 101}',
  '{"user_id": 101.0}',
  '{"user_id": 1e2}',
  '{"user_id": 0123}',
  '{"user_id": 12345678901234567890}',
  '{"user_id": true, "session_id": false}',
  '{"extra": {"nested": [1, 2]}, "user_id": 5}',
  '{"user_id": nul}',
  '{"user_id": 5,}',
  '{"user_id": 5} x',
  '{"user_id": "a\tb"}',
  '{"user_id" 5}',
  "[1, 2]",
  "null",
  '"text"',
  '{"timestamp": "2023-01-03T05:09:55"',
  '{"user_id": -}',
  '{"user_id": 5 "x": 1}',
];

describe("scanEventLine", () => {
  it.each(LINES)("agrees with JSON.parse whenever it accepts: %s", (line) => {
    const bytes = Buffer.from(line, "utf8");
    const fast = new RawEvent();
    const accepted = scanEventLine(bytes, 0, bytes.length, fast);
    const reference = new RawEvent();
    const parsed = parseEventLine(line, reference);
    if (accepted) {
      expect(parsed).toBe(true);
      expect(fields(fast)).toEqual(fields(reference));
    }
  });

  it("accepts the common shapes and refuses what it cannot decode exactly", () => {
    const accepts = (line: string) => {
      const b = Buffer.from(line);
      return scanEventLine(b, 0, b.length, new RawEvent());
    };
    expect(accepts(LINES[0])).toBe(true);
    expect(accepts(LINES[1])).toBe(true);
    expect(accepts(LINES[2])).toBe(true);
    expect(accepts(LINES[4])).toBe(true); // raw UTF-8 and an extra key
    expect(accepts(LINES[7])).toBe(false); // escape
    expect(accepts(LINES[8])).toBe(false); // fraction
    expect(accepts(LINES[10])).toBe(false); // leading zero: JSON.parse rejects it
    expect(accepts(LINES[11])).toBe(false); // beyond 15 digits
    expect(accepts(LINES[16])).toBe(false); // trailing garbage
    expect(accepts(LINES[17])).toBe(false); // raw control character in a string
  });

  it("decodes the first real line's fields", () => {
    const b = Buffer.from(LINES[0]);
    const r = new RawEvent();
    expect(scanEventLine(b, 0, b.length, r)).toBe(true);
    expect(fields(r)).toEqual({
      ts: [2, "2023-01-03T05:09:55", null],
      user: [3, null, 101],
      track: [2, "2PmGtDUyJIpYBEtI1hQIVp"],
      type: [2, "PLAY"],
      session: [3, null, 124],
      extra: false,
    });
  });
});

describe("loadDelivery with and without the fast path", () => {
  it.each(["2023L-v2", "2023Z-v2", "2023L-v1-defects"] as const)(
    "gives identical results on %s",
    async (name) => {
      const dir = sharedDelivery(name);
      const fast = await loadDelivery(dir);
      const slow = await loadDelivery(dir, { fastPath: false });
      expect(fast.quality.dialect.sessionsFastPathLines).toBe(
        (fast.quality.files.sessions?.lines as number) - fast.quality.defects.duplicate_row.found,
      );
      expect(slow.quality.dialect.sessionsFastPathLines).toBe(0);
      expect(fast.events).toEqual(slow.events);
      expect(fast.quality.defects).toEqual(slow.quality.defects);
      expect(fast.quality.files).toEqual(slow.quality.files);
      expect(fast.quality.examples).toEqual(slow.quality.examples);
      expect(fast.quality.eventTypes).toEqual(slow.quality.eventTypes);
      expect(fast.quality.dialect.timestampForms).toEqual(slow.quality.dialect.timestampForms);
    },
  );
});
