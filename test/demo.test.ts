// The one-command demo on a small synthetic delivery: every step runs for real (generation, ingest, the
// `skipwise evaluate` and `skipwise serve` child processes, replay, analysis, cache simulation).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoResult, runDemo } from "../src/demo.ts";
import { readDecisionRecords } from "../src/serve/log-export.ts";

class Collector extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe("skipwise demo --size small", () => {
  const out = mkdtempSync(join(tmpdir(), "skipwise-demo-"));
  const stdout = new Collector();
  let result: DemoResult;

  beforeAll(async () => {
    result = await runDemo({ out, size: "small", limit: 400, stdout });
  }, 170_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("prints one line per step and the three report paths", () => {
    const lines = stdout.text.trim().split("\n");
    for (let step = 1; step <= 7; step++) {
      expect(lines.filter((l) => l.startsWith(`[${step}/7] `))).toHaveLength(1);
    }
    expect(stdout.text).toMatch(/\[5\/7\] A\/B replay: 400 of \d+ test-period listens, 0 errors/);
    expect(stdout.text).toContain(`evaluation  ${result.reports.evaluation}`);
    expect(stdout.text).toContain(`A/B test    ${result.reports.abtest}`);
    expect(stdout.text).toContain(`cache       ${result.reports.cache}`);
  });

  it("writes the three HTML reports with their charts, the quality report and the bundle", () => {
    const evaluation = readFileSync(result.reports.evaluation, "utf8");
    expect((evaluation.match(/<svg/g) ?? []).length).toBeGreaterThan(3);
    const abtest = readFileSync(result.reports.abtest, "utf8");
    expect(abtest).toContain("<svg");
    expect(abtest).toContain("Cumulative accuracy");
    const cache = readFileSync(result.reports.cache, "utf8");
    expect(cache).toContain("<svg");
    expect(cache).toContain("Wasted vs missed audio");
    expect(existsSync(join(out, "ingest", "quality.json"))).toBe(true);
    expect(existsSync(join(result.bundle, "manifest.json"))).toBe(true);
  });

  it("logged every replayed decision with its outcome, and stopped the service", async () => {
    const records = readDecisionRecords(result.db);
    expect(records).toHaveLength(400);
    expect(records.every((r) => r.outcome !== null)).toBe(true);
    expect(result.service).toBeNull();
    await expect(fetch(`${result.url}/health`)).rejects.toThrow();
  });
});
