import { describe, expect, it } from "vitest";
import { daysFromCivil, parseTimestampString } from "../../src/data/timestamp.ts";

describe("parseTimestampString", () => {
  it("agrees with Date.parse on ISO timestamps without zone read as UTC, over many random instants", () => {
    let seed = 12345;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(Date.UTC(1991, 0, 1) + next() * (Date.UTC(2099, 0, 1) - Date.UTC(1991, 0, 1)));
      const iso = new Date(ms).toISOString(); // 2023-05-06T07:08:09.123Z
      expect(parseTimestampString(iso)).toBe(ms);
      expect(parseTimestampString(iso.slice(0, -1))).toBe(ms);
      expect(parseTimestampString(`${iso.slice(0, -1)}000`)).toBe(ms); // microseconds as in the real data
      expect(parseTimestampString(iso.slice(0, 19))).toBe(Math.floor(ms / 1000) * 1000);
      expect(parseTimestampString(String(ms))).toBe(ms);
    }
  });

  it("applies offsets and accepts a space separator", () => {
    const t = Date.UTC(2023, 0, 1, 12, 0, 0);
    expect(parseTimestampString("2023-01-01T14:30:00+02:30")).toBe(t);
    expect(parseTimestampString("2023-01-01T07:00:00-0500")).toBe(t);
    expect(parseTimestampString("2023-01-01T13:00:00+01")).toBe(t);
    expect(parseTimestampString("2023-01-01 12:00:00")).toBe(t);
    expect(parseTimestampString("2024-02-29T00:00:00")).toBe(Date.UTC(2024, 1, 29));
  });

  it("returns NaN for impossible or foreign text", () => {
    for (const text of [
      "",
      "yesterday",
      "2023-02-29T00:00:00",
      "2023-13-01T00:00:00",
      "2023-01-01T24:00:00",
      "2023-01-01T10:60:00",
      "2023-01-01",
      "2023-01-01T10:00:00.",
      "2023-01-01T10:00:00 UTC",
      "2023-01-01T10:00:00+25:00",
      "1234567890123456",
      "12a4",
    ]) {
      expect(parseTimestampString(text), text).toBeNaN();
    }
  });

  it("computes civil days like Date.UTC", () => {
    for (const [y, m, d] of [
      [1970, 1, 1],
      [2000, 2, 29],
      [1900, 3, 1],
      [2100, 12, 31],
      [1600, 1, 1],
    ]) {
      expect(daysFromCivil(y, m, d) * 86_400_000).toBe(Date.UTC(y, m - 1, d));
    }
  });
});
