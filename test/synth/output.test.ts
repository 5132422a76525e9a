import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LineSink } from "../../src/synth/output.ts";

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "skipwise-linesink-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function roundTrip(gzip: boolean, lines: string[]): Promise<{ text: string; sink: LineSink }> {
  const path = join(root, gzip ? "x.jsonl.gz" : "x.jsonl");
  const sink = new LineSink(path, gzip);
  for (const line of lines) {
    sink.push(line);
    if (sink.readyToFlush) await sink.maybeFlush();
  }
  await sink.close();
  const raw = readFileSync(path);
  return { text: (gzip ? gunzipSync(raw) : raw).toString("utf8"), sink };
}

describe("LineSink", () => {
  const lines = [
    "plain ascii",
    "Łukasz — zażółć",
    "x".repeat(5_000_000), // longer than one buffer
    ...Array.from({ length: 100_000 }, (_, i) => `{"n": ${i}}`),
    "",
  ];
  const expected = `${lines.join("\n")}\n`;

  for (const gzip of [false, true]) {
    it(`writes every line in order with its newline${gzip ? " (gzip)" : ""}`, async () => {
      const { text, sink } = await roundTrip(gzip, lines);
      expect(text === expected).toBe(true);
      expect(sink.lines).toBe(lines.length);
      expect(sink.bytes).toBe(Buffer.byteLength(expected));
    });
  }

  it("reports a write failure naming the file", async () => {
    const sink = new LineSink(join(root, "missing-dir", "x.jsonl"), false);
    sink.push("a");
    await expect(sink.close()).rejects.toThrow(/missing-dir/);
  });
});
