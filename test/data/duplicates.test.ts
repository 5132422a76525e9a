// The duplicate-row detector: exact on plain files (hits confirmed from disk), per-session groups that come
// back after other sessions, and the switch to one table when sessions interleave line by line.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DuplicateLines, LineGroup } from "../../src/data/duplicates.ts";
import { loadDelivery } from "../../src/data/index.ts";
import { ev, writeDelivery } from "./fixture.ts";

/** Feeds `lines` (with their groups) through a detector over a real file; returns the duplicate line numbers. */
function duplicatesOf(
  lines: string[],
  groupOf: (i: number) => number,
  gzip = false,
  onDone?: (detector: DuplicateLines) => void,
): number[] {
  const dir = mkdtempSync(join(tmpdir(), "skipwise-dup-"));
  const path = join(dir, "lines.jsonl");
  const text = `${lines.join("\n")}\n`;
  writeFileSync(path, text);
  const bytes = Buffer.from(text);
  const detector = new DuplicateLines(gzip ? null : path, 4, 100);
  const groups = new Map<number, LineGroup>();
  const found: number[] = [];
  let offset = 0;
  lines.forEach((line, i) => {
    const g = groupOf(i);
    if (!groups.has(g)) groups.set(g, new LineGroup());
    const length = Buffer.byteLength(line);
    if (detector.seen(groups.get(g) as LineGroup, bytes, offset, offset + length, i + 1, offset))
      found.push(i + 1);
    offset += length + 1;
  });
  detector.close();
  onDone?.(detector);
  return found;
}

describe("DuplicateLines", () => {
  it("finds repeats inside a group, also after the group was left and resumed", () => {
    const lines = ["a1", "b1", "a2", "a1", "b1", "a2x", "c1", "a2"];
    const group = (i: number) => lines[i].charCodeAt(0);
    expect(duplicatesOf(lines, group)).toEqual([4, 5, 8]);
    expect(duplicatesOf(lines, group, true)).toEqual([4, 5, 8]);
  });

  it("stays exact when sessions interleave line by line (one table for all lines)", () => {
    const lines: string[] = [];
    for (let i = 0; i < 6000; i++) lines.push(`{"s": ${(i % 4500) % 1000}, "n": ${i % 4500}}`);
    const expected = lines.map((_, i) => i + 1).filter((n) => n > 4500);
    const group = (i: number) => (i % 4500) % 1000;
    let merged = false;
    expect(duplicatesOf(lines, group, false, (d) => (merged = d.single))).toEqual(expected);
    expect(merged).toBe(true);
    expect(duplicatesOf(lines, group, true)).toEqual(expected);
  });

  it("grows past its pre-sized line count and group table", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i % 3000}`);
    let merged = true;
    expect(
      duplicatesOf(
        lines,
        () => 0,
        false,
        (d) => (merged = d.single),
      ),
    ).toEqual(lines.map((_, i) => i + 1).filter((n) => n > 3000));
    expect(merged).toBe(false);
  });

  it("does not confuse a line with a longer line that starts with it", () => {
    expect(duplicatesOf(["abc", "abcd", "abc\r", "abc"], () => 0)).toEqual([4]);
  });
});

describe("duplicate rows in deliveries", () => {
  it("drops a repeat of a line of a session that resumes later in the file, plain and gzip", async () => {
    const sessions = [
      ev(1, "2023-05-06T07:08:09", 101, "play", "t1"),
      ev(2, "2023-05-06T07:08:10", 102, "play", "t2"),
      ev(1, "2023-05-06T07:08:09", 101, "play", "t1"),
      ev(2, "2023-05-06T07:08:11", 102, "skip", "t2"),
      '{"not": "valid"',
      '{"not": "valid"',
    ];
    for (const gzip of [false, true]) {
      const d = await loadDelivery(writeDelivery({ sessions }, gzip ? ["sessions"] : []));
      expect(d.quality.defects.duplicate_row).toEqual({ found: 2, repaired: 0, quarantined: 2 });
      expect(d.quality.defects.malformed_json.found).toBe(1);
      expect(Array.from(d.events.line)).toEqual([1, 2, 4]);
    }
  });
});
